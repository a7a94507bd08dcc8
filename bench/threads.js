#!/usr/bin/env node
// The threads benchmark: throughput of the threads build with 1, 2 and 4 workers on one heap,
// against a single-global-lock baseline (the same C kernel with every malloc and free taken
// under the global part's one lock: dlmalloc's model), on a thread-local workload and on one
// where every block is freed by another thread; and the threads build's single-thread cost
// against release, and a floor (the kernel's -DFLOOR: per-thread lists, nothing shared but what
// the workload itself moves). The workloads are bench/threads/kernel.c, run in every worker by runThreads;
// a worker's time is from its start to its end, after a barrier, so start-up is not counted.
// Method and figures: docs/THREADS.md.
//
//   node bench/threads.js [--iters N] [--reps N] [--workers 1,2,4]
//
// Throughput is million operations (a malloc or a free) per second, all workers together: the
// best of --reps runs (default 5).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';

// Like bench/run.js: every function compiled by TurboFan up front (workers inherit the flag).
const V8_FLAGS = ['--no-liftoff'];
if (!V8_FLAGS.every((f) => process.execArgv.includes(f))) {
  const r = spawnSync(process.execPath, [...process.execArgv, ...V8_FLAGS, fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const { compileC, runThreads, instantiateProgram } = await import(`${ROOT}dist/bindings/index.js`);

const args = { iters: 1_000_000, reps: 5, workers: [1, 2, 4] };
for (let i = 2; i < process.argv.length; i++) {
  const [flag, inline] = process.argv[i].split(/=(.*)/s);
  const value = () => (inline !== undefined ? inline : process.argv[++i]);
  if (flag === '--iters') args.iters = Number(value().replace(/_/g, ''));
  else if (flag === '--reps') args.reps = Number(value());
  else if (flag === '--workers') args.workers = value().split(',').map(Number);
  else {
    console.error('usage: node bench/threads.js [--iters N] [--reps N] [--workers 1,2,4]');
    process.exit(2);
  }
}

const source = readFileSync(`${ROOT}bench/threads/kernel.c`, 'utf8');
const EXPORTS = ['local', 'cross', 'drain'];
const compile = (mode, flags = []) => compileC({ sources: { 'kernel.c': source }, mode, exports: EXPORTS, flags }).then((r) => r.wasm);
const [threadsWasm, lockedWasm, floorWasm, plainWasm] = await Promise.all([compile('threads'), compile('threads', ['-DLOCKED']), compile('threads', ['-DFLOOR']), compile('env')]);

/** Million operations per second of one run of `workload` in n workers (a step is a malloc and a free). */
async function throughput(wasm, workload, n, seed) {
  const r = await runThreads({ threads: n, program: wasm, export: workload, args: [seed, args.iters, n], passIndex: true });
  if (r.results.some((x) => x === 0)) throw new Error(`${workload}: a malloc failed`);
  const start = Math.max(...r.timings.map((t) => t.start)); // (the barrier: work begins when the last arrives)
  const end = Math.max(...r.timings.map((t) => t.end));
  const main = await instantiateProgram(wasm, { build: 'threads', memory: r.heap.memory });
  main.instance.exports.drain(n);
  if (main.heap.check() !== 0) throw new Error(`${workload}: ralloc_check failed after the run`);
  return (2 * n * args.iters) / ((end - start) * 1000);
}

/** Best of args.reps. */
async function best(f) {
  let b = 0;
  for (let k = 0; k < args.reps; k++) b = Math.max(b, await f(k + 1));
  return b;
}

/** Million operations per second of `local` in this thread, on a build (one thread; release needs a memory of its own). */
async function mainThread(build) {
  return best(async (seed) => {
    const wasm = build === 'threads' ? threadsWasm : plainWasm;
    const memory = build === 'threads' ? new WebAssembly.Memory({ initial: 2, maximum: 16384, shared: true }) : undefined;
    const p = await instantiateProgram(wasm, { build, ...(memory ? { memory } : {}) });
    const t0 = performance.now();
    if (p.instance.exports.local(seed, args.iters, 1, 0) === 0) throw new Error('a malloc failed');
    return (2 * args.iters) / ((performance.now() - t0) * 1000);
  });
}

const rows = [];
for (const workload of ['local', 'cross']) {
  for (const n of args.workers) {
    const t = await best((seed) => throughput(threadsWasm, workload, n, seed));
    const l = await best((seed) => throughput(lockedWasm, workload, n, seed));
    const fl = await best((seed) => throughput(floorWasm, workload, n, seed));
    rows.push({ workload, n, threads: t, locked: l, floor: fl });
    console.error(`${workload} x${n}: threads ${t.toFixed(1)}, global lock ${l.toFixed(1)}, floor ${fl.toFixed(1)} Mops/s`);
  }
}
const release = await mainThread('release');
const threads1 = await mainThread('threads');

const cpus = os.cpus().length;
const f = (x) => x.toFixed(1);
const lines = [];
lines.push(`Node ${process.version}, ${cpus} CPU${cpus === 1 ? '' : 's'} (${os.cpus()[0]?.model ?? 'unknown'}); ${args.iters.toLocaleString('en')} steps per worker, best of ${args.reps}.`);
lines.push('Million operations (a malloc or a free) per second, all workers together; more is better.');
lines.push('');
lines.push('| workload | workers | threads | global lock | floor | threads / global lock | threads / its 1 worker | floor / its 1 worker |');
lines.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const r of rows) {
  const one = rows.find((x) => x.workload === r.workload && x.n === 1);
  const over = r.n > cpus ? ` (oversubscribed: ${r.n} workers on ${cpus} cores)` : '';
  const per = (k) => (one ? (r[k] / one[k]).toFixed(2) + 'x' : '-');
  lines.push(`| ${r.workload} | ${r.n}${over} | ${f(r.threads)} | ${f(r.locked)} | ${f(r.floor)} | ${(r.threads / r.locked).toFixed(2)}x | ${per('threads')} | ${per('floor')} |`);
}
lines.push('');
lines.push('floor: the same kernel over per-thread LIFO lists with no lock, atomic, check or owner (a block freed by another thread stays with it): what the machine allows.');
lines.push('');
lines.push(`Single thread, \`local\` in the main thread: release ${f(release)}, threads ${f(threads1)} Mops/s: ` +
  `threads takes ${(release / threads1).toFixed(2)}x release's time.`);
console.log(lines.join('\n'));
