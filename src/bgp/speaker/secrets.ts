/**
 * Where BGP passwords come from. Calico's BGPPeer `password` (and BGPConfiguration
 * `nodeMeshPassword`) name a key of a Kubernetes Secret: `secretKeyRef: { name, key }`.
 * tabby keeps its datastore in etcd and reads no Kubernetes API, so it reads the Secret the
 * way a pod sees one mounted as a volume: one directory per Secret, one file per key.
 *
 *   <secrets dir>/<secret name>/<key>      e.g. /etc/tabby/bgp-secrets/bgp-passwords/rack1
 *
 * A DaemonSet mounts each Secret at `<secrets dir>/<secret name>`; on a plain host an admin
 * writes the files (mode 0600). One trailing newline is not part of the password (`echo`
 * adds it). Files are read again on every check, so a rotated Secret is picked up without
 * restarting the agent (the speaker checks periodically; see speaker.ts).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TCP_MD5_MAX_KEY_BYTES } from '../../native/tcp-md5.js';

export interface SecretKeyRef {
  name: string;
  key: string;
  /** Kubernetes' meaning: a missing Secret or key is not an error (no password, then). */
  optional?: boolean;
}

export type SecretLookup =
  | { found: true; value: string }
  /**
   * `missing`: the Secret or key does not exist (as opposed to existing but unusable).
   * `reason` is short (a status column), `detail` says where and how to fix it (a log line).
   */
  | { found: false; missing: boolean; reason: string; detail: string };

export interface SecretStore {
  read(ref: SecretKeyRef): Promise<SecretLookup>;
}

/** Kubernetes object names (DNS subdomain) and Secret keys: nothing that walks out of the directory. */
const SECRET_NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
const SECRET_KEY = /^[-._a-zA-Z0-9]{1,253}$/;

/** A Secret file's text as a password: one trailing newline (what `echo` adds) is not part of it. */
export function passwordText(text: string): string {
  return text.replace(/\r?\n$/, '');
}

/** Why a Secret name or key cannot name a file under the secrets directory, or undefined when it can. */
export function secretRefProblem(ref: Pick<SecretKeyRef, 'name' | 'key'>): string | undefined {
  if (!SECRET_NAME.test(ref.name) || ref.name.includes('..')) return 'not a valid Secret name (lower-case letters, digits, \'-\' and \'.\')';
  if (!SECRET_KEY.test(ref.key) || ref.key === '.' || ref.key === '..') return 'not a valid Secret key (letters, digits, \'-\', \'_\' and \'.\')';
  return undefined;
}

export class SecretFiles implements SecretStore {
  constructor(readonly dir: string) {}

  pathOf(ref: SecretKeyRef): string {
    return join(this.dir, ref.name, ref.key);
  }

  async read(ref: SecretKeyRef): Promise<SecretLookup> {
    const what = `secret ${JSON.stringify(ref.name)} key ${JSON.stringify(ref.key)}`;
    const fail = (missing: boolean, reason: string, detail: string): SecretLookup => ({ found: false, missing, reason: `${what} ${reason}`, detail: `${what} ${detail}` });
    const problem = secretRefProblem(ref);
    if (problem) return fail(false, `is invalid`, `is invalid: ${problem}`);
    const path = this.pathOf(ref);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') {
        return fail(true, 'not found', `not found: ${path} does not exist (write the password there, or mount the Secret at ${join(this.dir, ref.name)})`);
      }
      return fail(false, `cannot be read (${code ?? 'error'})`, `cannot be read: ${(err as Error).message}`);
    }
    const value = passwordText(text);
    if (value.length === 0) return fail(false, 'is empty', `is empty: ${path}`);
    const bytes = Buffer.byteLength(value);
    if (bytes > TCP_MD5_MAX_KEY_BYTES) {
      return fail(false, `is too long for TCP-MD5 (${bytes} bytes)`, `is ${bytes} bytes (${path}); TCP-MD5 allows at most ${TCP_MD5_MAX_KEY_BYTES}`);
    }
    return { found: true, value };
  }

}
