/**
 * The password each configured peer signs its session with, read for one configuration
 * pass (docs/design/bgp-speaker.md, "Passwords"). Pure bookkeeping around the SecretStore:
 * the speaker decides what a result means for the session.
 */
import { createHash } from 'node:crypto';
import type { PeerConfig } from './config.js';
import type { SecretKeyRef, SecretStore } from './secrets.js';

/** A peer's password for this pass: none, a value, or why it cannot be used (`reason` short, for the status; `detail` for the log). */
export type PasswordState = { kind: 'none' } | { kind: 'value'; value: string } | { kind: 'unavailable'; reason: string; detail: string };

export const NO_PASSWORD: PasswordState = { kind: 'none' };

/** The password a running session signs with, and the Secret key it came from. */
export interface RunningPassword {
  value: string;
  ref: SecretKeyRef;
}

export interface PeerPasswordsOptions {
  /** Undefined: passwords cannot be read at all. */
  secrets: SecretStore | undefined;
  /** False: the kernel's TCP-MD5 is not available, so no password can be used. */
  canSign: boolean;
  /** A warning worth one log line (`key` says which are the same). */
  warn: (key: string, message: string, peer: string) => void;
}

export class PeerPasswords {
  constructor(private readonly o: PeerPasswordsOptions) {}

  /**
   * Every peer's password. A Secret key shared by many peers (the mesh's) is read once; a
   * running session keeps the last password read from the same key while the key cannot be
   * read (a Secret being replaced must not flap it).
   */
  async read(peers: readonly PeerConfig[], running: (id: string) => RunningPassword | undefined): Promise<Map<string, PasswordState>> {
    const byRef = new Map<string, Promise<PasswordState>>();
    const out = new Map<string, PasswordState>();
    for (const p of peers) {
      const ref = p.password;
      if (!ref) {
        out.set(p.id, NO_PASSWORD);
        continue;
      }
      const k = JSON.stringify([ref.name, ref.key, ref.optional === true]);
      if (!byRef.has(k)) byRef.set(k, this.#readOne(ref));
      let pw = await byRef.get(k)!;
      const last = running(p.id);
      if (pw.kind === 'unavailable' && last && last.ref.name === ref.name && last.ref.key === ref.key) {
        this.o.warn(`${p.id}: ${pw.detail}`, `${p.id}: password unavailable: ${pw.detail}; the session goes on with the password read before`, p.id);
        pw = { kind: 'value', value: last.value };
      }
      out.set(p.id, pw);
    }
    return out;
  }

  async #readOne(ref: SecretKeyRef): Promise<PasswordState> {
    const unavailable = (reason: string, detail = reason): PasswordState => ({ kind: 'unavailable', reason: `Password unavailable: ${reason}`, detail });
    if (!this.o.canSign) return unavailable('this speaker runs without TCP-MD5 support');
    if (!this.o.secrets) return unavailable('this speaker has no place to read Secrets from');
    const r = await this.o.secrets.read(ref);
    if (r.found) return { kind: 'value', value: r.value };
    if (r.missing && ref.optional) return NO_PASSWORD;
    return unavailable(r.reason, r.detail);
  }
}

/** What of a password enters a session's key: a digest (the key is compared and kept, no place for the password). */
export function passwordDigest(pw: PasswordState): string {
  return pw.kind === 'value' ? createHash('sha256').update(pw.value).digest('hex') : '';
}

/** Peer address -> password for the listener: the first peer with a password at an address decides. */
export function listenerKeys(peers: readonly PeerConfig[], passwords: ReadonlyMap<string, PasswordState>): Map<string, string> {
  const keys = new Map<string, string>();
  for (const p of peers) {
    const pw = passwords.get(p.id);
    if (pw?.kind === 'value' && !keys.has(p.address)) keys.set(p.address, pw.value);
  }
  return keys;
}
