import type { RawBinding } from './binding.js';
import { loadBinding } from './loader.js';
import { checkPath } from './validate.js';

/** Removes the pin at `path` (a map or a program stays alive while something else holds it). */
export function unpin(path: string, binding: Pick<RawBinding, 'objUnpin'> = loadBinding()): void {
  binding.objUnpin(checkPath('unlink', 'pin path', path));
}

/** The number of possible CPUs: how many values a per-CPU map entry has. */
export function possibleCpus(binding: Pick<RawBinding, 'numPossibleCpus'> = loadBinding()): number {
  return binding.numPossibleCpus();
}
