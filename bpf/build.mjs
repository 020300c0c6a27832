#!/usr/bin/env node
// Compiles every bpf/*.bpf.c into build/bpf/<name>.bpf.o with clang -target bpf.
// binding.gyp calls it as one action, so `node-gyp rebuild` (and so `npm install` and
// `npm run build`) produces the objects beside the addon. The flags live here, once.
//
//   node bpf/build.mjs                 compile all programs into build/bpf/
//   node bpf/build.mjs --out DIR       compile into DIR
//   node bpf/build.mjs --list-inputs   print the files the objects depend on (for gyp)
//   node bpf/build.mjs --list-outputs  print the objects it makes (for gyp)
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const bpfDir = dirname(fileURLToPath(import.meta.url));
const root = resolve(bpfDir, '..');
const args = process.argv.slice(2);
const outIdx = args.indexOf('--out');
const outDir = resolve(root, outIdx >= 0 && args[outIdx + 1] ? args[outIdx + 1] : 'build/bpf');
const clang = process.env.CLANG ?? 'clang';

const programs = readdirSync(bpfDir).filter((f) => f.endsWith('.bpf.c')).sort();
const headers = readdirSync(join(bpfDir, 'lib')).filter((f) => f.endsWith('.h')).sort().map((f) => join(bpfDir, 'lib', f));
const rel = (p) => relative(root, p);

if (args.includes('--list-inputs')) {
  for (const f of [...programs.map((p) => join(bpfDir, p)), ...headers, fileURLToPath(import.meta.url)]) console.log(rel(f));
  process.exit(0);
}
if (args.includes('--list-outputs')) {
  for (const p of programs) console.log(rel(join(outDir, p.replace(/\.c$/, '.o'))));
  process.exit(0);
}

const multiarch = `/usr/include/${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}-linux-gnu`;
const cflags = [
  '-O2', '-g', '-target', 'bpf',
  '-Wall', '-Werror', '-Wno-unused-function',
  `-I${multiarch}`, // asm/ headers that linux/*.h include
  `-I${bpfDir}`,
  '-D__TARGET_ARCH_x86',
];

mkdirSync(outDir, { recursive: true });
let failed = 0;
for (const p of programs) {
  const out = join(outDir, p.replace(/\.c$/, '.o'));
  const res = spawnSync(clang, [...cflags, '-c', join(bpfDir, p), '-o', out], { stdio: 'inherit' });
  if (res.error) {
    console.error(`bpf/build.mjs: cannot run ${clang}: ${res.error.message} (install clang: apt-get install clang)`);
    process.exit(1);
  }
  if (res.status !== 0) {
    console.error(`bpf/build.mjs: ${rel(join(bpfDir, p))} did not compile`);
    failed++;
  } else {
    console.log(`bpf/build.mjs: ${rel(out)}`);
  }
}
process.exit(failed ? 1 : 0);
