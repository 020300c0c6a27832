import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { installCni, launcherScript } from './install-cni.js';

let dir: string;
let n = 0;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), `tabby-install-${process.pid}-${n++}-`));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('installCni', () => {
  const opts = () => ({ binDir: join(dir, 'bin'), confDir: join(dir, 'net.d'), cniSocket: '/run/t/cni.sock', networkName: 'pods', pluginEntry: '/opt/tabby/dist/cni/main.js', nodeBinary: '/usr/bin/node', shim: false as const });

  it('writes an executable launcher and the conflist, then changes nothing on a second run', async () => {
    const first = await installCni(opts());
    expect(first.map((f) => f.action)).toEqual(['create', 'create']);
    const launcher = join(dir, 'bin', 'tabby-cni');
    expect(statSync(launcher).mode & 0o777).toBe(0o755);
    expect(readFileSync(launcher, 'utf8')).toBe("#!/bin/sh\n# tabby-cni launcher written by 'tabby install-cni'; the plugin is a Node program.\nexec '/usr/bin/node' '/opt/tabby/dist/cni/main.js' \"$@\"\n");
    const conf = JSON.parse(readFileSync(join(dir, 'net.d', '10-tabby.conflist'), 'utf8'));
    expect(conf).toEqual({
      name: 'pods',
      cniVersion: '1.0.0',
      plugins: [
        { type: 'tabby-cni', ipam: { type: 'tabby-ipam' }, agent_socket: '/run/t/cni.sock' },
        { type: 'portmap', snat: true, capabilities: { portMappings: true } },
      ],
    });
    const mtime = statSync(launcher).mtimeMs;
    const second = await installCni(opts());
    expect(second.map((f) => f.action)).toEqual(['unchanged', 'unchanged']);
    expect(statSync(launcher).mtimeMs).toBe(mtime);
    const third = await installCni({ ...opts(), cniSocket: '/run/other.sock' });
    expect(third.map((f) => f.action)).toEqual(['unchanged', 'update']);
  });

  it('installs a copy of the compiled shim when given one, and updates it when it changes', async () => {
    const shim = join(dir, 'shim');
    writeFileSync(shim, Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 1, 2, 0xff]));
    const first = await installCni({ ...opts(), shim });
    expect(first.map((f) => f.action)).toEqual(['create', 'create']);
    expect(first[0]!.content).toBe(`(binary: a copy of ${shim}, 8 bytes)\n`);
    const installed = join(dir, 'bin', 'tabby-cni');
    expect(readFileSync(installed)).toEqual(readFileSync(shim));
    expect(statSync(installed).mode & 0o777).toBe(0o755);
    expect((await installCni({ ...opts(), shim })).map((f) => f.action)).toEqual(['unchanged', 'unchanged']);
    writeFileSync(shim, Buffer.from([0x7f, 0x45, 0x4c, 0x46, 9]));
    expect((await installCni({ ...opts(), shim })).map((f) => f.action)).toEqual(['update', 'unchanged']);
    expect(readFileSync(installed)).toEqual(readFileSync(shim));
    // Back to the launcher when asked for it.
    expect((await installCni(opts())).map((f) => f.action)).toEqual(['update', 'unchanged']);
    expect(readFileSync(installed, 'utf8')).toContain('#!/bin/sh');
  });

  it('dry run writes nothing', async () => {
    const files = await installCni({ ...opts(), dryRun: true });
    expect(files.map((f) => f.action)).toEqual(['create', 'create']);
    expect(() => statSync(join(dir, 'bin'))).toThrow();
  });

  it('quotes paths and loads tsx for a TypeScript entry', () => {
    expect(launcherScript({ nodeBinary: "/x y/node", pluginEntry: "/a'b/main.ts", tsLoader: '/l.mjs' })).toContain(`exec '/x y/node' '--import' '/l.mjs' '/a'\\''b/main.ts' "$@"`);
    expect(() => launcherScript({ nodeBinary: '/n', pluginEntry: '/m.ts' })).toThrow(/TypeScript/);
  });
});
