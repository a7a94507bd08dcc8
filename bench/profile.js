#!/usr/bin/env node
// Where an allocator's instructions go: wasm instructions executed per operation of a workload,
// function by function, in the statically linked module the benchmark times (dlmalloc after
// wasm-opt -O3 for wasi-libc). A function inlined into another counts as its caller; "run" is
// the workload's own loop with whatever the optimizer inlined into it. Deterministic, like
// bench:hotpath (bench/README.md, "The hot path"): the same binaries give the same numbers.
//
//   npm run bench:profile -- --only random --alloc release,dlmalloc/O3,tlsf
// Options: --only w1,w2 (workloads whose run(n) does n operations; default random),
// --alloc a,b (release, small, security, debug, floor, tlsf, dlmalloc/O3; default release,
// dlmalloc/O3), --top N (rows per table; default 15).
//
// Names: the ralloc-wasm builds are compiled again with asc's --debug (names only: the code is
// the same, and the script checks that the total equals the unnamed module's), linked with
// names kept, and optimized as the benchmark does.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { ALLOCATORS, TLSF_OPTIONS, FLOOR_OPTIONS, instantiate, prepare, staticLink } from './lib/allocators.js';
import { NULL_ALLOCATOR } from './lib/hotpath.js';
import { instrumentCounts, readCounts, readFunctionCounts } from './lib/icount.js';
import { ROOT_DIR, BENCH_DIR, OUT_DIR, asc, functionNames, wasmOpt } from './lib/toolchain.js';
import { WORKLOADS, SEED, compileWorkload } from './lib/workloads.js';

const argv = process.argv.slice(2);
const opt = (f) => { const i = argv.indexOf(f); return i >= 0 ? argv[i + 1] : undefined; };
for (const a of argv) {
  if (a.startsWith('--') && !['--only', '--alloc', '--top'].includes(a)) { console.error(`unknown option ${a}`); process.exit(2); }
}
const NS = [2000, 6000];
const top = Number(opt('--top') ?? 15);
const workloads = (opt('--only') ?? 'random').split(',').map((id) => WORKLOADS.find((w) => w.id === id) ?? (console.error(`unknown workload ${id}`), process.exit(2)));
const allocs = (opt('--alloc') ?? 'release,dlmalloc/O3').split(',');
const KNOWN = ['dlmalloc/O3', 'floor', 'tlsf', ...ALLOCATORS.filter((a) => a.build).map((a) => a.id)];
for (const id of allocs) if (!KNOWN.includes(id)) { console.error(`unknown allocator ${id} (known: ${KNOWN.join(', ')})`); process.exit(2); }

/** The allocator's module with function names: a ralloc-wasm build recompiled with --debug. */
async function namedAllocator(a, heapBase) {
  if (a.id === 'tlsf') return asc(`tlsf-named-${heapBase}`, path.join(BENCH_DIR, 'tlsf', 'tlsf.ts'), [...TLSF_OPTIONS, '--debug', '--memoryBase', String((heapBase + 15) & ~15)]);
  if (a.id === 'floor') return asc('floor-named', path.join(BENCH_DIR, 'floor', 'floor.ts'), [...FLOOR_OPTIONS, '--debug']);
  const config = JSON.parse(fs.readFileSync(path.join(ROOT_DIR, 'asconfig.json'), 'utf8'));
  const out = path.join(OUT_DIR, `profile.${a.build}.wasm`);
  const ascJs = createRequire(import.meta.url).resolve('assemblyscript/bin/asc.js');
  execFileSync(process.execPath, [ascJs, config.targets[a.build].entry, '--config', 'asconfig.json', '--target', a.build, '--debug', '--outFile', out], { cwd: ROOT_DIR, stdio: 'pipe' });
  return new Uint8Array(fs.readFileSync(out));
}

/** The module the benchmark times for (w, allocator id), with names, and its unnamed twin. */
async function modules(w, prog, id) {
  const libc = id === 'dlmalloc/O3';
  const a = ALLOCATORS.find((x) => x.id === (libc ? 'dlmalloc' : id));
  const p = await prepare(w, prog, a, libc ? 'opt' : 'static', new Map());
  if (!p) throw new Error(`${id}: no static link (dist/bindings/link.js is not built)`);
  const named = libc ? await wasmOpt(prog.libc.bytes, '-O3', { names: true })
    : await staticLink(prog.import.bytes, await namedAllocator(a, prog.import.heapBase), { names: true });
  return { p, named };
}

/** Instructions per operation: the total, and by function name. */
async function count(p, bytes) {
  const inst = instrumentCounts(bytes, { perFunction: true });
  const pc = { ...p, program: new WebAssembly.Module(inst.bytes) };
  const names = await functionNames(bytes);
  const runs = NS.map((n) => {
    const i = instantiate(pc);
    i.run(n, SEED);
    return { total: readCounts(i.alloc).instructions, fns: readFunctionCounts(i.alloc) };
  });
  const per = (a, b) => (b - a) / (NS[1] - NS[0]);
  const byName = runs[0].fns.map((c, i) => [names[i] ?? `#${i}`, per(c, runs[1].fns[i])]).filter(([, v]) => v > 0.005);
  return { total: per(runs[0].total, runs[1].total), byName: byName.sort((x, y) => y[1] - x[1]) };
}

const short = (name) => name.replace(/^assembly\//, '').replace(/^~lib\//, '');
for (const w of workloads) {
  const prog = await compileWorkload(w);
  const nul = await prepare(w, prog, NULL_ALLOCATOR, 'static', new Map());
  const loop = (await count(nul, nul.bytes)).total;
  if (loop === 0) { console.error(`${w.id}: run(n) does the same work for every n; nothing to count per operation`); process.exit(2); }
  console.log(`\n**${w.id}**: instructions per operation by function, statically linked (the workload's own loop, under the null allocator: ${loop.toFixed(1)})\n`);
  for (const id of allocs) {
    const { p, named } = await modules(w, prog, id);
    const plain = (await count(p, p.bytes)).total, prof = await count(p, named);
    if (Math.abs(plain - prof.total) > 0.01) console.log(`(note: the named module runs ${prof.total.toFixed(2)} per operation, the benchmark's ${plain.toFixed(2)}: the names changed the code)`);
    console.log(`| ${id}: ${prof.total.toFixed(1)} in all, ${(prof.total - loop).toFixed(1)} beyond the loop | per op | share |`);
    console.log('| --- | ---: | ---: |');
    for (const [name, v] of prof.byName.slice(0, top)) console.log(`| ${short(name)} | ${v.toFixed(2)} | ${(100 * v / prof.total).toFixed(1)}% |`);
    console.log('');
  }
}
