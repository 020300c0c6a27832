/**
 * BGP passwords for the lab: `tabby lab secret NAME KEY` writes what a mounted Kubernetes
 * Secret would show the agents, `<lab dir>/bgp-secrets/NAME/KEY` (every agent of the lab runs
 * with that --bgp-secrets-dir). Written to a temporary file and renamed into place, as the
 * kubelet swaps a Secret's files, so an agent never reads half a password.
 */
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { passwordText, secretRefProblem } from '../bgp/speaker/secrets.js';
import { TCP_MD5_MAX_KEY_BYTES } from '../native/tcp-md5.js';
import { LabError } from './errors.js';
import type { LabNames } from './names.js';

/** Writes the password (without a trailing newline) and returns the file's path. */
export async function writeLabSecret(names: LabNames, ref: { name: string; key: string }, value: string): Promise<string> {
  const problem = secretRefProblem(ref);
  if (problem) throw new LabError('LAB_USAGE', `secret ${JSON.stringify(ref.name)} key ${JSON.stringify(ref.key)}: ${problem}`);
  const password = passwordText(value);
  if (password.length === 0) throw new LabError('LAB_USAGE', 'the password is empty; give one (as an argument or on stdin)');
  if (Buffer.byteLength(password) > TCP_MD5_MAX_KEY_BYTES) {
    throw new LabError('LAB_USAGE', `the password is ${Buffer.byteLength(password)} bytes; TCP-MD5 allows at most ${TCP_MD5_MAX_KEY_BYTES}`);
  }
  const dir = join(names.bgpSecretsDir, ref.name);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, ref.key);
  const tmp = join(dir, `.${ref.key}.${process.pid}.tmp`);
  try {
    await writeFile(tmp, password, { mode: 0o600 });
    await rename(tmp, path);
  } finally {
    await rm(tmp, { force: true });
  }
  return path;
}
