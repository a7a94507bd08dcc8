#!/usr/bin/env node
// ralloc-wasm benchmark: C workloads run against wasi-libc's dlmalloc (the baseline),
// ralloc-wasm release, small and tiny, AssemblyScript's TLSF and a trivial floor allocator, each
// import-based allocator linked dynamically and statically. Method: bench/README.md.
//
//   node bench/run.js            full run, writes bench/RESULTS.md (minutes)
//   node bench/run.js --quick    smaller n, 5 repetitions (under a minute once built)
//   node bench/run.js --smoke    checksums and heap checks only, no timing
// After the C workloads, the AssemblyScript cell allocators' workloads (bench/lib/cells.js) and
// AssemblyScript programs on ralloc-wasm's runtime against AssemblyScript's own (bench/lib/asruntime.js).
// Options: --reps N, --only w1,w2 (workloads), --alloc a,b (allocators), --extra NAME=FILE.wasm
// (another ralloc-wasm build beside them, for an A/B; repeatable), --keep-going (do not stop at
// the first wrong checksum), --no-write, --write (also in --quick mode).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// V8 flags, set by re-running this script under them when missing:
//   --no-liftoff  every function compiled by TurboFan up front. With the default dynamic
//                 tiering a run starts in Liftoff code and tiers up while it goes, and one
//                 warm-up run was measured not to be enough (the second run of a fresh
//                 module was still up to 3x slow); this measures the steady state directly.
//   --expose-gc   collect the previous run's memory (up to hundreds of MiB) between runs.
const V8_FLAGS = ['--no-liftoff', '--expose-gc'];
if (!V8_FLAGS.every((f) => process.execArgv.includes(f))) {
  const r = spawnSync(process.execPath, [...process.execArgv, ...V8_FLAGS.filter((f) => !process.execArgv.includes(f)),
    fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}
import { WORKLOADS, SEED, compileWorkload } from './lib/workloads.js';
import { ALLOCATORS, available, buildBytes, instantiate, linkStaticFn, prepare } from './lib/allocators.js';
import { codeSizes } from './lib/codesize.js';
import { cellsBench } from './lib/cells.js';
import { asruntimeBench } from './lib/asruntime.js';
import { BENCH_DIR, OUT_DIR, versions } from './lib/toolchain.js';
import { EMCC_ALLOCATORS, emccVersion } from './lib/emcc.js';

// ---- options -------------------------------------------------------------------------------

const argv = process.argv.slice(2);
const flag = (f) => argv.includes(f);
const opt = (f) => { const i = argv.indexOf(f); return i >= 0 ? argv[i + 1] : undefined; };
const mode = flag('--smoke') ? 'smoke' : flag('--quick') ? 'quick' : 'full';
const reps = Number(opt('--reps') ?? { full: 15, quick: 5, smoke: 1 }[mode]);
const timing = mode !== 'smoke';
const keepGoing = flag('--keep-going');
const onlyW = opt('--only')?.split(',');
const onlyA = opt('--alloc')?.split(',');
const extras = argv.flatMap((a, i) => (a === '--extra' ? [argv[i + 1]] : [])).map((spec) => {
  const m = /^([a-z][\w-]*)=(.+\.wasm)$/.exec(spec ?? '');
  if (!m) { console.error(`--extra wants NAME=FILE.wasm (a ralloc-wasm build to run beside the others), got ${spec}`); process.exit(2); }
  return { id: m[1], label: `${m[1]} (${m[2]})`, kind: 'import', build: path.resolve(m[2]), init: 'ralloc_init' };
});
const write = flag('--write') || (mode === 'full' && !flag('--no-write') && !onlyW && !onlyA && !extras.length);
for (const a of argv) {
  if (a.startsWith('--') && !['--smoke', '--quick', '--reps', '--only', '--alloc', '--extra', '--keep-going', '--no-write', '--write'].includes(a)) {
    console.error(`unknown option ${a}`); process.exit(2);
  }
}
const workloads = WORKLOADS.filter((w) => !onlyW || onlyW.includes(w.id));
const allocators = [...ALLOCATORS.filter((a) => a.id === 'dlmalloc' || (onlyA ? onlyA.includes(a.id) : !a.optional)), ...extras];
if (onlyW && workloads.length !== onlyW.length) { console.error(`unknown workload in ${onlyW}`); process.exit(2); }

const t0 = Date.now();
const loadAtStart = os.loadavg()[0];
const log = (s = '') => process.stdout.write(s + '\n');
const gc = globalThis.gc ?? (() => {});

// ---- configurations ------------------------------------------------------------------------

const linkStatic = await linkStaticFn();
const notes = [];
if (!linkStatic) notes.push('Static linking skipped: dist/bindings/link.js (linkStatic) is not built yet.');
const configs = [];
for (const a of allocators) {
  if (!available(a)) { notes.push(`${a.label} skipped: build/${a.build}.wasm does not exist.`); continue; }
  if (a.kind === 'libc') {
    configs.push({ id: 'dlmalloc', a, linking: 'plain', label: 'dlmalloc', link: 'in program' });
    if (timing) configs.push({ id: 'dlmalloc/O3', a, linking: 'opt', label: 'dlmalloc', link: 'program + wasm-opt -O3' });
  } else {
    configs.push({ id: `${a.id}/dyn`, a, linking: 'dyn', label: a.label, link: 'dynamic' });
    // the smoke run links statically only the release build: each static link costs a
    // wasm-merge process (a second or two, when nothing is cached), and the other static
    // variants matter for timing, not for correctness
    if (linkStatic && (timing || a.id === 'release')) configs.push({ id: `${a.id}/static`, a, linking: 'static', label: a.label, link: 'static (merge + -O3)' });
  }
}

// Emscripten (bench/lib/emcc.js): the workloads built by emcc with its dlmalloc, with emmalloc, and
// with ralloc-wasm linked statically; a section of their own, against emcc's dlmalloc
// (the smoke run checks ralloc-wasm's column only: emcc's own allocators are there for timing)
const emccWanted = EMCC_ALLOCATORS.filter((a) => (!onlyA || onlyA.includes('emcc') || onlyA.includes(a.id)) && (timing || a.malloc === 'none'));
if (emccWanted.length && !emccVersion()) notes.push('Emscripten columns skipped: emcc is not installed (apt-get install emscripten node-acorn).');
else if (emccWanted.length && !linkStatic) notes.push('Emscripten columns skipped: dist/bindings/link.js (linkStatic) is not built yet.');
else for (const a of emccWanted) configs.push({ id: a.id, a, linking: 'emcc', label: a.label, link: a.malloc === 'none' ? 'static (merge + -O3)' : 'in program', emcc: true });
const mainConfigs = configs.filter((c) => !c.emcc);

const cpus = os.cpus();
const env = {
  date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
  node: process.version,
  v8: process.versions.v8,
  cpu: cpus[0]?.model ?? 'unknown',
  cores: cpus.length,
  platform: `${os.platform()} ${os.arch()}`,
  ...versions(),
};
// which allocator code was measured: the commit, whether assembly/ had local changes, and
// the builds' own hashes
const git = (...a) => { const r = spawnSync('git', a, { cwd: path.dirname(BENCH_DIR), encoding: 'utf8' }); return r.status === 0 ? r.stdout.trim() : '?'; };
const builds = `commit ${git('rev-parse', '--short', 'HEAD')}${git('status', '--porcelain', '--', 'assembly') ? ' (assembly/ modified)' : ''}; ` +
  allocators.filter((a) => a.build && available(a)).map((a) => {
    const b = buildBytes(a.build);
    return `${a.build.endsWith(".wasm") ? a.build : `build/${a.build}.wasm`} ${b.length} B sha256 ${createHash('sha256').update(b).digest('hex').slice(0, 12)}`;
  }).join(', ');
log(`ralloc-wasm bench, ${mode} mode, ${timing ? `${reps} repetitions` : 'checks only'}: ${env.node}, ${env.cpu}, ${env.cores} cores`);
for (const n of notes) log(`note: ${n}`);

// ---- measure -------------------------------------------------------------------------------

const moduleCache = new Map();
const results = {}; // results[w.id][config.id] = {...}
const failures = [];
let mismatch = false;

/**
 * Time of configuration a over time of b on workload w: the median over repetition rounds
 * of the per-round ratio (a and b ran back to back in each round, so a slow spell of the
 * machine cancels out better than in a ratio of medians).
 */
function ratioOf(w, a, b) {
  const A = results[w]?.[a], B = results[w]?.[b];
  if (!A || !B || A.failed || B.failed) return undefined;
  const xs = [];
  for (let r = 0; r < A.byRound.length; r++) {
    if (A.byRound[r] !== undefined && B.byRound[r] !== undefined) xs.push(A.byRound[r] / B.byRound[r]);
  }
  return xs.length ? median(xs) : A.nsPerOp / B.nsPerOp;
}
/** speed relative to dlmalloc: above 1 is faster */
const speed = (w, c) => ratioOf(w, 'dlmalloc', c);

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** One run in a fresh instance with a fresh memory. */
function runOnce(p, n) {
  const inst = instantiate(p);
  const start = performance.now();
  const sum = inst.run(n, SEED) >>> 0;
  const ns = (performance.now() - start) * 1e6;
  const ops = inst.ops() >>> 0;
  const finalBytes = inst.memory.buffer.byteLength;
  const out = {
    sum, ns, ops, nsPerOp: ns / ops, finalBytes, initialBytes: inst.initialBytes,
    peak: finalBytes - p.programBytes, grows: inst.growCalls(), peakLive: inst.peakLive() >>> 0,
  };
  // outside the timed region: ralloc's own heap check and its grow counter, when exported
  const al = inst.alloc;
  if (al && typeof al.ralloc_check === 'function') out.check = al.ralloc_check() >>> 0;
  if (al && typeof al.ralloc_stats === 'function') {
    // scratch for the 64-byte struct at 960: wasm-ld never places data below 1024, and with
    // its stack-first layout this is the deep end of the program's shadow stack; the
    // program's call has returned, so nothing lives there any more
    const q = 960;
    if ((al.ralloc_stats(q) >>> 0) >= 48) {
      const dv = new DataView(inst.memory.buffer);
      out.statsGrows = dv.getUint32(q + 20, true);
      // allocator calls the program made: shows the calls really happened
      out.calls = { malloc: Number(dv.getBigUint64(q + 24, true)), free: Number(dv.getBigUint64(q + 32, true)), realloc: Number(dv.getBigUint64(q + 40, true)) };
    }
  }
  return out;
}

function repro(w, c, n) {
  return `node bench/run.js --smoke --only ${w.id} --alloc ${c.a.id}   # ${c.id}, run(${n}, ${SEED})`;
}

// build everything first: compilers in-process one at a time, wasm-merge processes in a pool
// (a workload's links start as soon as it is compiled, while clang works on the next one)
const preparedAll = new Map();
const pending = [];
for (const w of workloads) {
  const prog = await compileWorkload(w);
  pending.push(Promise.all(configs.map(async (c) => {
    try {
      return { c, p: await prepare(w, prog, c.a, c.linking, moduleCache) };
    } catch (e) {
      failures.push({ w: w.id, c: c.id, what: 'build', msg: e.message });
      log(`!! ${w.id} ${c.id}: cannot build: ${e.message}`);
      return null;
    }
  })).then((list) => preparedAll.set(w.id, list.filter((x) => x && x.p))));
}
await Promise.all(pending);
log(`built in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

for (const w of workloads) {
  const n = w.n[mode];
  const prepared = preparedAll.get(w.id);
  const runs = new Map(prepared.map(({ c }) => [c.id, []]));
  const dead = new Set();
  const attempt = (c, p) => {
    try {
      return runOnce(p, n);
    } catch (e) {
      dead.add(c.id);
      failures.push({ w: w.id, c: c.id, what: 'trap', msg: `${e.message}`, repro: repro(w, c, n) });
      log(`!! ${w.id} ${c.id}: ${e.message}\n   reproduce: ${repro(w, c, n)}`);
      return null;
    }
  };
  // warm-up: one run per configuration in a throwaway instance, so V8 has tiered up the
  // hot functions (the compiled code belongs to the Module and is shared by later instances)
  if (timing) for (const { c, p } of prepared) { attempt(c, p); gc(); }
  // repetitions interleaved across configurations, so a slow spell of a shared machine
  // hits all of them alike
  for (let r = 0; r < reps; r++) {
    for (const { c, p } of prepared) {
      if (dead.has(c.id)) continue;
      const res = attempt(c, p);
      if (res) runs.get(c.id).push({ ...res, round: r });
      gc();
    }
  }
  // checksums: every run of every configuration must agree with dlmalloc's
  const ref = runs.get('dlmalloc')?.[0]?.sum;
  const row = (results[w.id] = {});
  for (const { c } of prepared) {
    const rs = runs.get(c.id);
    if (!rs.length) { row[c.id] = { failed: true }; continue; }
    const sums = new Set(rs.map((x) => x.sum));
    const bad = sums.size !== 1 || (ref !== undefined && rs[0].sum !== ref);
    if (bad) {
      mismatch = true;
      const msg = `CHECKSUM MISMATCH: ${w.id} under ${c.id} gave ${[...sums].map((s) => '0x' + s.toString(16))}, dlmalloc gave 0x${ref?.toString(16)}`;
      failures.push({ w: w.id, c: c.id, what: 'checksum', msg, repro: repro(w, c, n) });
      log(`\n!!!!!!!! ${msg}\n!!!!!!!! reproduce: ${repro(w, c, n)}\n`);
      if (!keepGoing) { log('stopping (use --keep-going to continue)'); process.exit(1); }
    }
    const checks = rs.map((x) => x.check).filter((x) => x !== undefined && x !== 0);
    if (checks.length) {
      failures.push({ w: w.id, c: c.id, what: 'ralloc_check', msg: `ralloc_check() returned ${checks[0]} after the run`, repro: repro(w, c, n) });
      log(`!! ${w.id} ${c.id}: ralloc_check() returned ${checks[0]} after the run; reproduce: ${repro(w, c, n)}`);
    }
    const last = rs[rs.length - 1];
    if (last.finalBytes > last.initialBytes && last.grows === 0) {
      failures.push({ w: w.id, c: c.id, what: 'grow count', msg: 'memory grew but no memory.grow call was counted (the rewrite missed one)' });
    }
    if (last.statsGrows !== undefined && last.statsGrows !== last.grows) {
      notes.push(`${w.id} ${c.id}: ralloc_stats grow_calls = ${last.statsGrows}, counted memory.grow calls = ${last.grows}.`);
    }
    const byRound = [];
    for (const x of rs) byRound[x.round] = x.nsPerOp;
    row[c.id] = {
      sum: rs[0].sum, bad, nsPerOp: median(rs.map((x) => x.nsPerOp)), byRound, ops: last.ops, reps: rs.length,
      peak: Math.max(...rs.map((x) => x.peak)), grows: Math.max(...rs.map((x) => x.grows)),
      initialBytes: last.initialBytes, finalBytes: Math.max(...rs.map((x) => x.finalBytes)), peakLive: last.peakLive,
      calls: last.calls,
    };
  }
  log(`${w.id.padEnd(15)} ` + prepared.map(({ c }) => {
    const r = row[c.id];
    if (r.failed) return `${c.id} FAILED`;
    const sp = speed(w.id, c.id);
    return timing ? `${c.id} ${fmtNs(r.nsPerOp)}${sp ? ` (${fmtX(sp)})` : ''}` : `${c.id} ok`;
  }).join('  '));
}

// ---- AssemblyScript cell allocators (bench/lib/cells.js): with the whole run only ------------

const cells = onlyW || onlyA || extras.length ? null : await cellsBench({ mode, reps, log, gc });
if (cells) failures.push(...cells.failures.map((f) => ({ w: 'cells', c: '-', ...f })));

// ---- AssemblyScript's memory manager (bench/lib/asruntime.js): with the whole run only -------

const asrt = onlyW || onlyA || extras.length ? null : await asruntimeBench({ mode, reps, log, gc });
if (asrt) failures.push(...asrt.failures.map((f) => ({ w: 'asruntime', c: '-', ...f })));

// ---- code size -----------------------------------------------------------------------------

let sizes = null;
if (mode !== 'smoke') {
  try { sizes = await codeSizes(allocators); } catch (e) { notes.push(`code size failed: ${e.message}`); }
}

// ---- hot path (full mode): instructions per pair, counted (bench/hotpath.js) --------------

let hotpath = null;
if (mode === 'full') {
  try {
    const { countHotpath, hotpathConfigs, hotpathMarkdown, HOTPATH_WORKLOADS } = await import('./lib/hotpath.js');
    const ws = workloads.filter((w) => HOTPATH_WORKLOADS.includes(w.id));
    const ids = ['floor', 'dlmalloc/O3', 'release'].filter((id) => id === 'dlmalloc/O3' || allocators.some((a) => a.id === id && available(a)));
    const hc = hotpathConfigs(ids, extras.filter(available));
    if (ws.length && linkStatic) hotpath = hotpathMarkdown(ws, hc, await countHotpath(ws, hc, compileWorkload));
  } catch (e) { notes.push(`hot path count failed: ${e.message}`); }
}

// ---- report --------------------------------------------------------------------------------

function fmtNs(x) { return x === undefined ? '-' : x < 10 ? x.toFixed(2) : x < 100 ? x.toFixed(1) : x.toFixed(0); }
function fmtX(x) { return `${x.toFixed(2)}x`; }
function fmtKiB(b) { return b === undefined ? '-' : `${(b / 1024).toFixed(0)}`; }
function fmtInt(x) { return x === null || x === undefined ? '-' : x.toLocaleString('en-US'); }

/** A markdown table; `align` has one letter per column, l or r (default: first l, rest r). */
function table(head, rows, align) {
  const al = (i) => (align ? align[i] : i === 0 ? 'l' : 'r') === 'l' ? '---' : '---:';
  const out = [`| ${head.join(' | ')} |`, `| ${head.map((h, i) => al(i)).join(' | ')} |`];
  for (const r of rows) out.push(`| ${r.join(' | ')} |`);
  return out.join('\n');
}

// The targets of the small-object-engine issue, for the release build. Static rows are judged
// against dlmalloc/O3 (the wasi-libc program after wasm-opt -O3: what a static link gains from
// the optimizer alone), dynamic rows against dlmalloc; the cold pair only against the floor.
const STATIC_TARGETS = { warm_pair: 1.3, batch_fifo: 1.3, batch_lifo: 1.2, trees: 1.0, churn: 2.0, random: 1.3, random_realloc: 1.1, realloc_grow: 1.1, fragment: 1.1 };
const DYNAMIC_TARGETS = { churn: 1.8, random: 1.2, fragment: 1.1 }; // every other workload: 1.0
/** the cold pair (pair32, static): at most this many times the floor's time */
const COLD_PAIR_FLOOR = 1.6;
/** where the floor misses a target on a small-object workload, release meets it within this of the floor's time */
const SMALL_OBJECT = ['pair32', 'warm_pair', 'trees', 'batch_fifo', 'batch_lifo'];
const FLOOR_RULE = 1.1;

/** The targets of the small-object-engine issue, for the release build, evaluated on this run. */
function targets() {
  const out = [];
  const get = (w, c) => results[w]?.[c];
  const add = (name, value, ok, detail, floor = '') => out.push({ name, value, ok, detail, floor });
  // The floor's figure on the same target in the same run: a target even the floor misses is
  // probably out of reach of an allocator that does more per call than one pop or push.
  const floorOn = (x, meets) => (x === undefined ? '' : `${fmtX(x)}${meets(x) ? '' : ' (misses too)'}`);
  /** release config c at least `min` times as fast as `ref` on w, or the floor rule */
  const need = (w, c, ref, min, name) => {
    const s = ratioOf(w, ref, c);
    const fc = c.replace('release/', 'floor/');
    const fsp = ratioOf(w, ref, fc);
    const floorMisses = fsp !== undefined && fsp < min;
    const fl = floorOn(fsp, (x) => x >= min);
    if (s === undefined) return add(name, 'n/a', null, `no result for ${c} or ${ref}`, fl);
    const ns = get(w, c).nsPerOp;
    if (s >= min) return add(name, fmtX(s), true, `target ${fmtX(min)}`, fl);
    const q = ratioOf(w, c, fc); // release's time over the floor's
    if (floorMisses && SMALL_OBJECT.includes(w) && q !== undefined) {
      const ok = q <= FLOOR_RULE;
      return add(name, `${fmtX(s)}; ${fmtX(q)} the floor's time`, ok, ok
        ? `target ${fmtX(min)}; the floor misses it too, and release is within ${FLOOR_RULE}x of the floor's time`
        : `target ${fmtX(min)}, or within ${FLOOR_RULE}x of the floor's time (the floor misses it too): missed, needs ${fmtX(q / FLOOR_RULE)} less time (about ${fmtNs(ns * FLOOR_RULE / q)} ns/op instead of ${fmtNs(ns)})`, fl);
    }
    add(name, fmtX(s), false, `target ${fmtX(min)}: missed, needs ${fmtX(min / s)} less time per op (about ${fmtNs(ns * s / min)} ns/op instead of ${fmtNs(ns)})`, fl);
  };
  const ws = workloads.map((w) => w.id);
  if (timing) {
    for (const [link, lab, ref] of [['static', 'static', 'dlmalloc/O3'], ['dyn', 'dynamic', 'dlmalloc']]) {
      const c = `release/${link}`;
      if (!configs.some((x) => x.id === c)) { add(`${lab} linking`, 'n/a', null, `${c} did not run`); continue; }
      if (link === 'static') {
        if (ws.includes('pair32')) {
          const q = ratioOf('pair32', c, 'floor/static');
          const f = get('pair32', 'floor/static'), r = get('pair32', c);
          const name = `static: cold pair (pair32) <= ${COLD_PAIR_FLOOR}x the floor's time`;
          if (q === undefined) add(name, 'n/a', null, `no result for ${c} or floor/static`);
          else {
            add(name, `${fmtX(q)} the floor's time`, q <= COLD_PAIR_FLOOR, q <= COLD_PAIR_FLOOR ? `target <= ${fmtX(COLD_PAIR_FLOOR)}` : `target <= ${fmtX(COLD_PAIR_FLOOR)}: missed, needs ${fmtX(q / COLD_PAIR_FLOOR)} less time (about ${fmtNs(r.nsPerOp * COLD_PAIR_FLOOR / q)} ns/op instead of ${fmtNs(r.nsPerOp)}; the floor ${fmtNs(f.nsPerOp)})`,
              `${fmtNs(f.nsPerOp)} ns/op`);
          }
        }
        for (const w of ws) if (STATIC_TARGETS[w] !== undefined) need(w, c, ref, STATIC_TARGETS[w], `static: ${w} >= ${fmtX(STATIC_TARGETS[w])} dlmalloc/O3`);
      } else {
        for (const w of ws) need(w, c, ref, DYNAMIC_TARGETS[w] ?? 1.0, `dynamic: ${w} >= ${fmtX(DYNAMIC_TARGETS[w] ?? 1.0)} dlmalloc`);
      }
    }
    for (const link of ['dyn', 'static']) {
      for (const w of ws) {
        const q = ratioOf(w, `tlsf/${link}`, `release/${link}`);
        if (q === undefined) continue;
        const r = get(w, `release/${link}`), t = get(w, `tlsf/${link}`);
        add(`faster than TLSF (${link}): ${w}`, fmtX(q), q > 1, q > 1 ? '' : `TLSF ${fmtNs(t.nsPerOp)} vs release ${fmtNs(r.nsPerOp)} ns/op: release takes ${fmtX(1 / q)} TLSF's time`,
          floorOn(ratioOf(w, `tlsf/${link}`, `floor/${link}`), (x) => x > 1));
      }
    }
  }
  // memory targets: on the dynamic link, and on the static one only where it differs
  const sameMem = (w) => {
    const a = get(w, 'release/dyn'), b = get(w, 'release/static');
    return a && b && !a.failed && !b.failed && a.peak === b.peak && a.grows === b.grows;
  };
  for (const link of ['dyn', 'static']) {
    for (const w of ws) {
      const r = get(w, `release/${link}`), d = get(w, 'dlmalloc');
      if (!r || !d || r.failed || d.failed) continue;
      if (link === 'static' && sameMem(w)) continue;
      const okPeak = r.peak <= 1.2 * d.peak;
      add(`peak <= 1.2x dlmalloc's (${link}): ${w}`, `${fmtKiB(r.peak)} / ${fmtKiB(d.peak)} KiB${d.peak ? ` (${(r.peak / d.peak).toFixed(2)}x)` : ''}`, okPeak,
        okPeak ? '' : `${fmtKiB(r.peak - 1.2 * d.peak)} KiB over 1.2x dlmalloc's`);
      add(`grow calls <= dlmalloc's (${link}): ${w}`, `${r.grows} / ${d.grows}`, r.grows <= d.grows, r.grows <= d.grows ? '' : `${r.grows - d.grows} more`);
    }
  }
  if (sizes) {
    // Judged on the malloc family (malloc, free, realloc, calloc and the init call), the code a
    // program that calls them keeps after static linking, and the set TLSF's module exports;
    // the whole module (with the extended API and the inspection exports) is shown beside it.
    for (const [id, max] of [['release', 8192], ['tiny', 1600]]) {
      const s = sizes.find((x) => x.id === id);
      if (!s || s.family === null) continue;
      add(`code size ${id} <= ${fmtInt(max)} B (malloc family)`, `${fmtInt(s.family)} B (whole module: ${fmtInt(s.whole)} B)`, s.family <= max, s.family <= max ? '' : `missed by ${fmtInt(s.family - max)} B (${((s.family / max - 1) * 100).toFixed(0)}%)`);
    }
  }
  return out;
}

/** The Emscripten section: emcc's dlmalloc, emmalloc and ralloc-wasm release (static), speed against emcc's dlmalloc, and memory. */
function emccSection() {
  const cs = configs.filter((c) => c.emcc);
  if (!cs.some((c) => c.id === 'emcc-dlmalloc')) return [];
  const L = ['', '## Emscripten: the workloads built by emcc -O2 with its dlmalloc, with emmalloc, and with ralloc-wasm release linked statically', ''];
  L.push(`emcc -O2 -sMALLOC=dlmalloc, -sMALLOC=emmalloc, and -sMALLOC=none merged with build/release.wasm as in release/static; memory imported, growing from the end of the program's data and stack through the glue's emscripten_resize_heap policy (dlmalloc, emmalloc) or ralloc-wasm's own memory.grow. Speed is against emcc's dlmalloc (median of per-round ratios); peak KiB above the program's initial memory / memory.grow calls per run.`);
  L.push('');
  const cell = (w, c) => {
    const r = results[w]?.[c.id];
    if (!r) return '-';
    if (r.failed) return 'FAILED';
    const sp = timing ? ratioOf(w, 'emcc-dlmalloc', c.id) : undefined;
    return `${timing ? `${fmtNs(r.nsPerOp)} ns (${sp ? fmtX(sp) : '-'}), ` : ''}${fmtKiB(r.peak)} KiB / ${r.grows}${r.bad ? ' WRONG' : ''}`;
  };
  L.push(table(['workload', ...cs.map((c) => c.label)], workloads.map((w) => [w.id, ...cs.map((c) => cell(w.id, c))])));
  return L;
}

function report() {
  const L = [];
  L.push(`# ralloc-wasm benchmark results`);
  L.push('');
  L.push(`- date: ${env.date}; mode: ${mode}${timing ? `, median of ${reps} repetitions (each a fresh instance and memory, after one warm-up run)` : ', checks only'}`);
  L.push(`- Node ${env.node} (V8 ${env.v8}, flags ${process.execArgv.join(' ')}), ${env.platform}, CPU: ${env.cpu}, ${env.cores} cores, 1-minute load average ${loadAtStart.toFixed(1)} at the start, ${os.loadavg()[0].toFixed(1)} at the end`);
  L.push(`- toolchain: @yowasp/clang ${env.clang}, AssemblyScript ${env.assemblyscript}, binaryen ${env.binaryen}${configs.some((c) => c.emcc) ? `, ${emccVersion()}` : ''}`);
  L.push(`- ralloc-wasm: ${builds}`);
  L.push(`- run time ${((Date.now() - t0) / 1000).toFixed(0)} s. Shared, noisy machine: compare ratios within this run, not absolute ns across runs.`);
  L.push('- Method, definitions and caveats: bench/README.md. "speed" = dlmalloc ns/op divided by this ns/op (above 1 is faster than dlmalloc). "peak" = memory size at the end of a run (wasm memory never shrinks, so this is the peak) minus the program\'s own initial memory (its minimum pages, before any allocator module), in KiB: what the allocator added. "grows" = memory.grow calls per run, counted by rewriting each module\'s memory.grow into a counted import.');
  if (notes.length) { L.push(''); for (const n of notes) L.push(`- note: ${n}`); }
  if (failures.length) {
    L.push(''); L.push('## FAILURES'); L.push('');
    for (const f of failures) L.push(`- **${f.what}** ${f.w} / ${f.c}: ${f.msg}${f.repro ? `  \n  reproduce: \`${f.repro}\`` : ''}`);
  }
  if (timing) {
    L.push(''); L.push('## Speed: median ns per operation (speed vs dlmalloc: median of per-round time ratios)'); L.push('');
    L.push(table(['workload', ...mainConfigs.map((c) => c.id)], workloads.map((w) => {
      const row = results[w.id] ?? {};
      return [w.id, ...mainConfigs.map((c) => {
        const r = row[c.id];
        if (!r) return '-';
        if (r.failed) return 'FAILED';
        const sp = speed(w.id, c.id);
        return `${fmtNs(r.nsPerOp)} (${sp ? fmtX(sp) : '-'})${r.bad ? ' WRONG' : ''}`;
      })];
    })));
  }
  L.push(''); L.push("## Memory: peak KiB above the program's initial memory / memory.grow calls per run"); L.push('');
  const memConfigs = mainConfigs.filter((c) => c.linking !== 'opt');
  L.push(table(['workload', 'peak live KiB', ...memConfigs.map((c) => c.id)], workloads.map((w) => {
    const row = results[w.id] ?? {};
    const live = Object.values(row).find((r) => r && !r.failed)?.peakLive;
    return [w.id, fmtKiB(live), ...memConfigs.map((c) => {
      const r = row[c.id];
      return !r ? '-' : r.failed ? 'FAILED' : `${fmtKiB(r.peak)} / ${r.grows}`;
    })];
  })));
  if (timing && configs.some((c) => c.a.id === 'security')) {
    // what the hardened build costs: time of security over time of release, per round
    L.push(''); L.push('## Security build: its cost against release (time security / time release, median of per-round ratios; peak KiB)'); L.push('');
    const links = ['dyn', 'static'].filter((l) => configs.some((c) => c.id === `security/${l}`));
    L.push(table(['workload', ...links.map((l) => `time ${l}`), ...links.map((l) => `peak ${l}: security / release`)], workloads.map((w) => {
      const row = results[w.id] ?? {};
      return [w.id, ...links.map((l) => {
        const x = ratioOf(w.id, `security/${l}`, `release/${l}`);
        return x === undefined ? '-' : `${x.toFixed(2)}x`;
      }), ...links.map((l) => {
        const s = row[`security/${l}`], r = row[`release/${l}`];
        return !s || !r || s.failed || r.failed ? '-' : `${fmtKiB(s.peak)} / ${fmtKiB(r.peak)}`;
      })];
    })));
  }
  L.push(...emccSection());
  L.push(''); L.push('## Workloads'); L.push('');
  L.push(table(['workload', 'what', 'one operation', 'n', 'ops counted', 'malloc / free / realloc calls (ralloc stats)', 'checksum'], workloads.map((w) => {
    const r = results[w.id]?.dlmalloc;
    const rr = results[w.id]?.['release/dyn'];
    const calls = rr?.calls ? `${fmtInt(rr.calls.malloc)} / ${fmtInt(rr.calls.free)} / ${fmtInt(rr.calls.realloc)}` : '-';
    return [w.id, w.title, w.op, fmtInt(w.n[mode]), r && !r.failed ? fmtInt(r.ops) : '-', calls, r && !r.failed ? `0x${r.sum.toString(16).padStart(8, '0')}` : '-'];
  }), 'lllrrrr'));
  if (sizes) {
    L.push(''); L.push('## Code size after wasm-opt -Oz (bytes of the code section)'); L.push('');
    L.push(table(['allocator', 'whole module', 'malloc family only', 'how'], sizes.map((s) => [s.label, fmtInt(s.whole), fmtInt(s.family), s.note]), 'lrrl'));
    L.push(''); L.push('Reference (published figures): dlmalloc 9,739, emmalloc 2,861, AS TLSF 1,847, walloc 1,534; talc 1,663, rlsf 1,345-2,259, lol_alloc ~700.');
  }
  if (hotpath) {
    L.push(''); L.push('## Hot path: instructions executed per operation (counted, not timed: bench/hotpath.js)'); L.push('');
    L.push(hotpath);
  }
  if (cells) { L.push(''); L.push(cells.section); }
  if (asrt) { L.push(''); L.push(asrt.section); }
  const ts = targets();
  if (ts.length) {
    L.push(''); L.push('## Targets of the small-object-engine issue (release build)'); L.push('');
    L.push(table(['target', 'measured', 'met', 'detail', 'floor, same run'], ts.map((t) => [t.name, t.value, t.ok === null ? 'n/a' : t.ok ? 'yes' : '**NO**', t.detail, t.floor]), 'lrllr'));
    L.push('');
    L.push('Memory targets are shown for the dynamic link, and for the static one only where its figures differ.');
    L.push(`Static rows are judged against dlmalloc/O3, dynamic rows against dlmalloc, the cold pair against the floor's time. On a small-object workload (${SMALL_OBJECT.join(', ')}) whose target the floor misses too, release meets it within ${FLOOR_RULE}x of the floor's time.`);
    L.push('"floor, same run": the speed reference\'s own figure on a speed target (one LIFO free list per size class, no checks, no split, no coalescing), as a speed against the same reference (on the cold pair row, its ns/op); on the "faster than TLSF" rows, TLSF\'s time over the floor\'s. See bench/README.md, "The targets".');
  }
  return L.join('\n') + '\n';
}

const text = report();
log('');
log(text);
if (write) {
  fs.writeFileSync(path.join(BENCH_DIR, 'RESULTS.md'), text);
  log('wrote bench/RESULTS.md');
} else if (timing) {
  fs.writeFileSync(path.join(OUT_DIR, `RESULTS-${mode}.md`), text);
  log(`wrote ${path.relative(process.cwd(), path.join(OUT_DIR, `RESULTS-${mode}.md`))}`);
}
const fatal = failures.filter((f) => f.what !== 'build' || !/missing/.test(f.msg));
if (mismatch || fatal.length) {
  log(`\n${fatal.length} failure(s); see above.`);
  process.exit(1);
}
