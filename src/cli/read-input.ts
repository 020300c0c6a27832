import { readFileSync } from 'node:fs';
import { TabbyError } from '../errors.js';

/** The text of `-f FILE`, or of standard input for `-f -`, with a clear error for a missing file. */
export function readInput(file: string): { text: string; source: string } {
  if (file === '-') return { text: readFileSync(0, 'utf8'), source: '<stdin>' };
  try {
    return { text: readFileSync(file, 'utf8'), source: file };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : code === 'EACCES' ? 'permission denied' : String(code);
    throw new TabbyError('USAGE', `cannot read ${file}: ${why}`);
  }
}
