#!/usr/bin/env node
// The hot path's length as a number: wasm instructions, loads, stores, branches and calls
// executed per malloc(32)+free pair, statically linked, for the workload's own loop (the null
// allocator), the floor, dlmalloc after wasm-opt -O3 and ralloc-wasm release. Deterministic:
// the same binaries give the same numbers. Method: bench/README.md, "The hot path".
//
//   node bench/hotpath.js                 prints the tables (markdown)
//   node bench/hotpath.js --readme        also writes them into bench/README.md
//   node bench/hotpath.js --interp        also checks the counts against wabt's wasm-interp
//                                         --trace (needs wabt's CLI tools: apt-get install wabt)
// Options: --only pair32,warm_pair (workloads), --alloc floor,dlmalloc/O3,release,small,...
// (what is counted besides the null allocator), --extra NAME=FILE.wasm (another ralloc-wasm
// build, repeatable).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { buildBytes, available } from './lib/allocators.js';
import { countHotpath, hotpathConfigs, hotpathMarkdown, interpCheck, HOTPATH_WORKLOADS } from './lib/hotpath.js';
import { BENCH_DIR } from './lib/toolchain.js';
import { WORKLOADS, compileWorkload } from './lib/workloads.js';

const argv = process.argv.slice(2);
const opt = (f) => { const i = argv.indexOf(f); return i >= 0 ? argv[i + 1] : undefined; };
for (const a of argv) {
  if (a.startsWith('--') && !['--readme', '--interp', '--only', '--alloc', '--extra'].includes(a)) { console.error(`unknown option ${a}`); process.exit(2); }
}
const onlyW = opt('--only')?.split(',') ?? HOTPATH_WORKLOADS;
const workloads = onlyW.map((id) => WORKLOADS.find((w) => w.id === id) ?? (console.error(`unknown workload ${id}`), process.exit(2)));
const extras = argv.flatMap((a, i) => (a === '--extra' ? [argv[i + 1]] : [])).map((spec) => {
  const m = /^([a-z][\w-]*)=(.+\.wasm)$/.exec(spec ?? '');
  if (!m) { console.error(`--extra wants NAME=FILE.wasm, got ${spec}`); process.exit(2); }
  return { id: m[1], label: `${m[1]} (${m[2]})`, kind: 'import', build: path.resolve(m[2]), init: 'ralloc_init' };
});
const configs = hotpathConfigs(opt('--alloc')?.split(',') ?? undefined, extras).filter((c) => {
  if (available(c.a)) return true;
  console.error(`note: ${c.id} skipped: ${c.a.build} is not built`);
  return false;
});

const t0 = Date.now();
const res = await countHotpath(workloads, configs, compileWorkload).catch((e) => { console.error(`hotpath: ${e.message}`); process.exit(2); });
const git = (...a) => { const r = spawnSync('git', a, { cwd: BENCH_DIR, encoding: 'utf8' }); return r.status === 0 ? r.stdout.trim() : '?'; };
const builds = configs.filter((c) => c.a.build).map((c) => {
  const b = buildBytes(c.a.build);
  return `${c.a.build.endsWith('.wasm') ? path.relative(process.cwd(), c.a.build) : `build/${c.a.build}.wasm`} sha256 ${createHash('sha256').update(b).digest('hex').slice(0, 12)}`;
}).join(', ');
const stamp = `Last run: ${new Date().toISOString().slice(0, 10)}, commit ${git('rev-parse', '--short', 'HEAD')}` +
  `${git('status', '--porcelain', '--', '../assembly') ? ' (assembly/ modified)' : ''}; ${builds}.`;
const md = `${hotpathMarkdown(workloads, configs, res)}\n\n${stamp}`;
process.stdout.write(`${md}\n`);
process.stderr.write(`counted in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);

if (argv.includes('--readme')) {
  const file = path.join(BENCH_DIR, 'README.md');
  const text = fs.readFileSync(file, 'utf8');
  const begin = '<!-- hotpath:begin (written by `npm run bench:hotpath -- --readme`) -->', end = '<!-- hotpath:end -->';
  const i = text.indexOf(begin), j = text.indexOf(end);
  if (i < 0 || j < i) { console.error('bench/README.md has no hotpath markers'); process.exit(1); }
  fs.writeFileSync(file, `${text.slice(0, i + begin.length)}\n${md}\n${text.slice(j)}`);
  process.stderr.write('wrote the tables into bench/README.md\n');
}

if (argv.includes('--interp')) {
  // the independent count: wabt's interpreter, one trace line per instruction it executes
  let bad = 0;
  const L = ['', 'Cross-check with wasm-interp --trace (wabt), per operation:', '',
    '| workload | build | wasm-interp lines | icount instructions | + taken br_if | + else | + br_table | + implicit return | + alloca | + stack adjustments (drop_keep, extra drop: trace) | = | by class (loads, stores, calls, if/br_if, br, return, alloca, other but drop) |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |'];
  for (const w of workloads) {
    for (const c of configs) {
      const r = res[w.id][c.id];
      const k = interpCheck(r);
      if (!k.agree) bad++;
      const f = (x) => (Number.isInteger(x) ? String(x) : x.toFixed(3));
      const cls = ['loads', 'stores', 'calls', 'conditionals', 'br', 'return', 'alloca', 'other']
        .map((q) => (Math.abs(k.wabt[q] - k.predicted[q]) < 1e-9 ? f(k.wabt[q]) : `**${f(k.wabt[q])} vs ${f(k.predicted[q])}**`)).join(', ');
      L.push(`| ${w.id} | ${c.id} | ${f(k.wabt.total)} | ${f(k.icount.instructions)} | ${f(k.takenBrIfs)} | ${f(k.icount.else_jumps)} | ${f(k.icount.br_tables)} | ${f(k.icount.implicit_returns)} | ${f(k.icount.entries_with_locals)} | ${f(k.adjust)} | ${f(k.explained)}${k.agree ? '' : ' **DIFFERS**'} | ${cls} |`);
    }
  }
  L.push('', bad ? `${bad} configuration(s) disagree.` : 'Every class agrees, and the totals agree once wabt\'s own control lines are added.');
  process.stdout.write(`${L.join('\n')}\n`);
  if (bad) process.exit(1);
}
