// AssemblyScript's memory manager: allocation-heavy AssemblyScript programs
// (bench/asruntime/programs.ts) on AssemblyScript's incremental runtime (its collector over TLSF)
// and on ralloc-wasm's (the same collector over ralloc-wasm: assembly/runtime/incremental.ts).
// `npm run bench:asruntime` runs it alone (bench/asruntime.js); bench/run.js adds its section to
// bench/RESULTS.md. Method as for the other sections (bench/README.md): a fresh instance per
// run, one warm-up run per runtime, rounds interleaved across the runtimes; ns/op is the median,
// the speed the median over rounds of (TLSF's time / ralloc-wasm's time) in the same round; peak
// memory is the memory's size at the end of a run (it never shrinks), memory.grow calls counted
// by rewriting each into a counted import.
import fs from 'node:fs';
import path from 'node:path';
import { BENCH_DIR, OUT_DIR, ROOT_DIR, asc, instrumentGrow, GROW_IMPORT } from './toolchain.js';
import { assemblySources } from './cells.js';

export const RUNTIMES = [
  { id: 'tlsf', label: 'TLSF', runtime: 'incremental' },
  { id: 'ralloc', label: 'ralloc-wasm', runtime: path.join(ROOT_DIR, 'assembly', 'runtime', 'incremental') },
];
export const PROGRAMS = [
  { id: 'strings', title: 'string building: numbers and separators appended, strings dropped at 64..464 characters', op: 'a piece appended', n: { full: 400_000, quick: 100_000, smoke: 5_000 } },
  { id: 'arrays', title: 'array pushes: arrays of i32, f64 and strings grown to 1..2,000 elements, dropped', op: 'a push', n: { full: 2_000_000, quick: 500_000, smoke: 20_000 } },
  { id: 'maps', title: 'map churn: Map<i32, string> with 2,000 live keys (set, get, delete) and a Set<string>', op: 'a step (4 map and set calls)', n: { full: 300_000, quick: 80_000, smoke: 5_000 } },
  { id: 'trees', title: 'trees of class instances: depth 4..14 built, walked and dropped, beside one kept tree', op: 'a node made', n: { full: 2_000_000, quick: 500_000, smoke: 20_000 } },
];
const ENTRY = path.join(BENCH_DIR, 'asruntime', 'programs.ts');
/** -O3 as the other AssemblyScript columns; the runtime is the only difference. */
const OPTIONS = ['-O3', '--noAssert', '--exportRuntime'];
/** Where asc finds the package by its name, as a project with ralloc-wasm in node_modules does:
 *  the runtime file imports its manager as "ralloc-wasm/assembly/runtime/manager". */
const PACKAGES = path.join(OUT_DIR, 'asruntime-packages');

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** The programs' module on runtime rt, its memory.grow calls made counted imports. */
async function build(rt) {
  if (!fs.existsSync(path.join(PACKAGES, 'ralloc-wasm'))) {
    fs.mkdirSync(PACKAGES, { recursive: true });
    fs.symlinkSync(ROOT_DIR, path.join(PACKAGES, 'ralloc-wasm'), 'dir');
  }
  const bytes = await asc(`asruntime-${rt.id}`, ENTRY, [...OPTIONS, '--runtime', rt.runtime, '--path', PACKAGES, ...(rt.options ?? [])], rt.id === 'tlsf' ? [] : assemblySources());
  return new WebAssembly.Module((await instrumentGrow(bytes)).bytes);
}

/** One run of program p over n operations in a fresh instance of `module`. */
function runOnce(module, p, n) {
  let memory;
  let grows = 0;
  const text = (ptr) => Buffer.from(memory.buffer, ptr, new Uint32Array(memory.buffer)[(ptr - 4) >>> 2]).toString('utf16le');
  const { exports } = new WebAssembly.Instance(module, {
    env: { abort: (msg) => { throw new Error(msg ? text(msg) : 'abort'); } },
    [GROW_IMPORT.module]: { [GROW_IMPORT.name]: (delta) => { grows++; try { return memory.grow(delta >>> 0); } catch { return -1; } } },
  });
  memory = exports.memory;
  const start = performance.now();
  const sum = exports[p.id](n) >>> 0;
  const ns = (performance.now() - start) * 1e6;
  return { sum, ns, nsPerOp: ns / exports.ops(), peak: memory.buffer.byteLength, grows };
}

/** An A/B variant of ralloc-wasm's runtime built with `--use` knobs ("RALLOC_PAGES=0", …):
 *  one more column, its id the knobs. */
export function variant(uses) {
  return { id: uses.join(','), label: `ralloc-wasm ${uses.join(' ')}`, runtime: RUNTIMES[1].runtime, options: uses.flatMap((u) => ['--use', u]) };
}

/**
 * Runs the programs in `mode` (full, quick, smoke: one run each, checksums only) with `reps`
 * rounds, on TLSF, ralloc-wasm's runtime and the `variants` (variant(): A/B columns). Returns
 * { section: the Markdown for RESULTS.md, failures: [{ what, msg }], results }.
 */
export async function asruntimeBench({ mode, reps, log = () => {}, gc = () => {}, variants = [] }) {
  const timing = mode !== 'smoke';
  const runtimes = [...RUNTIMES, ...variants];
  const modules = await Promise.all(runtimes.map(build));
  const failures = [];
  const results = {}; // results[program][runtime] = { sum, nsPerOp, byRound, peak, grows }
  for (const p of PROGRAMS) {
    const n = p.n[mode];
    const runs = runtimes.map(() => []);
    const attempt = (k, round) => {
      try {
        const r = runOnce(modules[k], p, n);
        if (round !== undefined) runs[k].push({ ...r, round });
      } catch (err) {
        failures.push({ what: 'asruntime', msg: `${p.id} on ${runtimes[k].id}: ${err.message}` });
      }
      gc();
    };
    if (timing) runtimes.forEach((_, k) => attempt(k));
    for (let round = 0; round < (timing ? reps : 1); round++) runtimes.forEach((_, k) => attempt(k, round));
    const row = (results[p.id] = {});
    runtimes.forEach((rt, k) => {
      const rs = runs[k];
      if (!rs.length) return;
      const byRound = [];
      for (const x of rs) byRound[x.round] = x.ns;
      row[rt.id] = { sum: rs[0].sum, nsPerOp: median(rs.map((x) => x.nsPerOp)), byRound, peak: Math.max(...rs.map((x) => x.peak)), grows: Math.max(...rs.map((x) => x.grows)) };
    });
    const a = row.tlsf;
    for (const rt of runtimes.slice(1)) {
      const b = row[rt.id];
      if (a && b && a.sum !== b.sum) failures.push({ what: 'asruntime checksum', msg: `${p.id}: ${rt.label} 0x${b.sum.toString(16)}, TLSF 0x${a.sum.toString(16)}` });
    }
    log(`asruntime ${p.id.padEnd(8)} ` + runtimes.map((rt) => {
      const r = row[rt.id];
      return !r ? `${rt.id} FAILED` : timing ? `${rt.id} ${r.nsPerOp.toFixed(1)} ns, ${kib(r.peak)} KiB / ${r.grows}` : `${rt.id} ok`;
    }).join('  '));
  }
  return { section: section(results, mode, reps, timing, variants), failures, results };
}

/** TLSF's time over ralloc-wasm's on program p: the median of per-round ratios (above 1: faster). */
export function speedup(results, p, id = 'ralloc') {
  const A = results[p]?.[id], T = results[p]?.tlsf;
  if (!A || !T) return undefined;
  const xs = [];
  for (let r = 0; r < A.byRound.length; r++) if (A.byRound[r] && T.byRound[r]) xs.push(T.byRound[r] / A.byRound[r]);
  return xs.length ? median(xs) : undefined;
}

const kib = (b) => (b / 1024).toFixed(0);

function section(results, mode, reps, timing, variants) {
  const L = [];
  L.push("## AssemblyScript's memory manager: its incremental collector over ralloc-wasm and over TLSF");
  L.push('');
  L.push(`\`bench/asruntime/programs.ts\`, built with \`${OPTIONS.join(' ')}\` twice: \`--runtime incremental\` (AssemblyScript's collector over its TLSF) and \`--runtime …/ralloc-wasm/assembly/runtime/incremental\` (the same collector over ralloc-wasm release, with the runtime's defaults: pages up to 512 bytes, a heap growing by a quarter; docs/ASRUNTIME.md). Each run a fresh instance. ${timing ? `Median of ${reps} rounds after a warm-up run, interleaved; "x TLSF" is the median over rounds of TLSF's time / ralloc-wasm's time in the same round (above 1: faster).` : 'Smoke run: checksums only.'} "peak": the memory's size at the end of the run, in KiB (it never shrinks; both start at the same size), and the memory.grow calls made.`);
  L.push('');
  for (const p of PROGRAMS) L.push(`- **${p.id}**: ${p.title}; ${p.n[mode].toLocaleString('en-US')} operations (one: ${p.op})`);
  L.push('');
  const head = ['program', 'TLSF ns/op', 'ralloc-wasm ns/op (x TLSF)', 'TLSF peak KiB / grows', 'ralloc-wasm peak KiB / grows'];
  L.push('| ' + head.join(' | ') + ' |');
  L.push('| ' + head.map((_, i) => (i ? '---:' : '---')).join(' | ') + ' |');
  for (const p of PROGRAMS) {
    const t = results[p.id]?.tlsf, r = results[p.id]?.ralloc;
    const x = speedup(results, p.id);
    const ns = (v) => (!v ? 'FAILED' : timing ? v.nsPerOp.toFixed(1) : 'ok');
    const mem = (v) => (!v ? '-' : `${kib(v.peak)} / ${v.grows}`);
    L.push(`| ${p.id} | ${ns(t)} | ${ns(r)}${timing && r ? ` (${x === undefined ? '-' : x.toFixed(2)}x)` : ''} | ${mem(t)} | ${mem(r)} |`);
  }
  if (timing) {
    L.push('');
    L.push('Target (issue 19): faster than TLSF on every program, and no more peak memory.');
    for (const p of PROGRAMS) {
      const t = results[p.id]?.tlsf, r = results[p.id]?.ralloc;
      const x = speedup(results, p.id);
      if (!t || !r || x === undefined) { L.push(`- ${p.id}: FAILED`); continue; }
      const memory = r.peak <= t.peak ? 'no more memory' : `**${kib(r.peak - t.peak)} KiB more memory** (${((r.peak / t.peak - 1) * 100).toFixed(1)}%)`;
      L.push(`- ${p.id}: ${x > 1 ? 'faster' : '**NOT faster**'} (${x.toFixed(2)}x), ${memory}`);
    }
  }
  if (variants.length) {
    L.push('');
    L.push('A/B: ralloc-wasm\'s runtime built with other knobs (`--use`), same rounds.');
    L.push('');
    L.push('| program | variant | ns/op (x TLSF) | peak KiB / grows |');
    L.push('| --- | --- | ---: | ---: |');
    for (const p of PROGRAMS) for (const v of variants) {
      const r = results[p.id]?.[v.id], x = speedup(results, p.id, v.id);
      L.push(`| ${p.id} | ${v.id} | ${!r ? 'FAILED' : timing ? `${r.nsPerOp.toFixed(1)} (${x === undefined ? '-' : x.toFixed(2)}x)` : 'ok'} | ${r ? `${kib(r.peak)} / ${r.grows}` : '-'} |`);
    }
  }
  return L.join('\n');
}
