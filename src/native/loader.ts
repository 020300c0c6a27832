import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';

import type { RawBinding } from './binding.js';
import { NativeError } from './errors.js';
import { addonPath } from './paths.js';

let cached: RawBinding | undefined;

/**
 * The addon, loaded once and with NativeError registered as the class it throws.
 * Throws NativeError (op "dlopen") when it is not built, saying how to build it.
 */
export function loadBinding(): RawBinding {
  if (cached) return cached;
  const path = addonPath();
  if (!existsSync(path)) {
    throw new NativeError('dlopen', 2, `the native addon is not built (${path} is missing): run \`npm run build\` or \`npx node-gyp rebuild\``);
  }
  const require = createRequire(import.meta.url);
  let binding: RawBinding;
  try {
    binding = require(path) as RawBinding;
  } catch (err) {
    throw new NativeError('dlopen', 8, `cannot load the native addon ${path}: ${(err as Error).message} (is libbpf1 installed? rebuild with \`npx node-gyp rebuild\`)`, { cause: err });
  }
  binding.setErrorClass(NativeError);
  cached = binding;
  return binding;
}
