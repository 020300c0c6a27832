import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SecretFiles } from './secrets.js';

describe('SecretFiles', () => {
  const dir = mkdtempSync(join(tmpdir(), `tabby-secrets-${process.pid}-`));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const put = (name: string, key: string, text: string): void => {
    mkdirSync(join(dir, name), { recursive: true });
    writeFileSync(join(dir, name, key), text);
  };
  const files = new SecretFiles(dir);

  it('reads <dir>/<secret>/<key>, without one trailing newline', async () => {
    put('bgp-passwords', 'rack1', 's3cret\n');
    put('bgp-passwords', 'rack2', 'two words \r\n');
    put('bgp-passwords', 'rack3', 'kept\n\n');
    expect(await files.read({ name: 'bgp-passwords', key: 'rack1' })).toEqual({ found: true, value: 's3cret' });
    expect(await files.read({ name: 'bgp-passwords', key: 'rack2' })).toEqual({ found: true, value: 'two words ' });
    expect(await files.read({ name: 'bgp-passwords', key: 'rack3' })).toEqual({ found: true, value: 'kept\n' });
  });

  it('tells a missing Secret or key apart from one that cannot be used, naming the file', async () => {
    expect(await files.read({ name: 'absent', key: 'pw' })).toEqual({
      found: false, missing: true, reason: 'secret "absent" key "pw" not found',
      detail: `secret "absent" key "pw" not found: ${join(dir, 'absent', 'pw')} does not exist (write the password there, or mount the Secret at ${join(dir, 'absent')})`,
    });
    put('empty', 'pw', '\n');
    expect(await files.read({ name: 'empty', key: 'pw' })).toMatchObject({ found: false, missing: false, reason: 'secret "empty" key "pw" is empty', detail: expect.stringMatching(/is empty: .*empty\/pw$/) });
    put('long', 'pw', 'x'.repeat(81));
    expect(await files.read({ name: 'long', key: 'pw' })).toMatchObject({ found: false, missing: false, reason: 'secret "long" key "pw" is too long for TCP-MD5 (81 bytes)', detail: expect.stringMatching(/TCP-MD5 allows at most 80/) });
    mkdirSync(join(dir, 'dir', 'pw'), { recursive: true });
    expect(await files.read({ name: 'dir', key: 'pw' })).toMatchObject({ found: false, missing: false, reason: 'secret "dir" key "pw" cannot be read (EISDIR)' });
  });

  it('never leaves the directory', async () => {
    expect(await files.read({ name: '..', key: 'passwd' })).toMatchObject({ found: false, missing: false, detail: expect.stringMatching(/is invalid: not a valid Secret name/) });
    expect(await files.read({ name: 'a', key: '../../etc/passwd' })).toMatchObject({ found: false, detail: expect.stringMatching(/not a valid Secret key/) });
    expect(await files.read({ name: 'a/b', key: 'k' })).toMatchObject({ found: false, detail: expect.stringMatching(/not a valid Secret name/) });
  });
});
