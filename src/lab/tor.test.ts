import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LabNames } from './names.js';
import { BIRD, torBirdConfig, torPaths } from './tor.js';

const config = torBirdConfig({
  routerId: '10.199.0.254',
  asNumber: 65001,
  clusterAs: 64512,
  announce: ['198.51.100.0/24'],
  peers: [
    { protocol: 'node3', address: '10.199.0.13' },
    { protocol: 'node1', address: '10.199.0.11' },
  ],
});

const signed = torBirdConfig({ routerId: '10.199.0.254', asNumber: 65001, clusterAs: 64512, announce: [], peers: [{ protocol: 'node1', address: '10.199.0.11' }], password: 'a pass#word' });

describe('the lab ToR', () => {
  it('peers over eBGP with each node, exporting only its own statics', () => {
    expect(config).toContain('protocol bgp node3 {\n  local 10.199.0.254 as 65001;\n  neighbor 10.199.0.13 as 64512;');
    expect(config).toContain('route 198.51.100.0/24 blackhole;');
    expect(config.match(/export where proto = "tor_routes"/g)).toHaveLength(2);
    expect(config).not.toMatch(/protocol kernel/); // it installs nothing anywhere
    expect(config).not.toMatch(/password/);
    expect(signed).toContain('  password "a pass#word";');
  });

  it('names everything from the lab name, so lab down finds it', () => {
    const p = torPaths(new LabNames('t1'));
    expect(p.netns).toBe('tby-t1-tor');
    expect(p.socket).toBe('/run/tabby-lab/t1/tor/bird.ctl');
  });

  it.skipIf(!existsSync(BIRD))('is a configuration BIRD 2 accepts (bird -p parses only)', () => {
    const dir = mkdtempSync(join(tmpdir(), `tabby-tor-${process.pid}-`));
    try {
      for (const c of [config, signed]) {
        writeFileSync(join(dir, 'bird.conf'), c);
        expect(() => execFileSync(BIRD, ['-p', '-c', join(dir, 'bird.conf')], { stdio: 'pipe' })).not.toThrow();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
