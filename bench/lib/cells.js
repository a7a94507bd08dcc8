// The cell allocators' benchmark (ralloc-wasm/assembly, docs/CELLS.md): bench/cells/cells.ts on
// each allocator against AssemblyScript's heap.alloc / heap.free (TLSF) in the same module.
// bench/run.js runs it after the C workloads and puts its section into bench/RESULTS.md.
// Method as for the C workloads (bench/README.md): a fresh instance per run, one warm-up run per
// allocator, repetitions interleaved across allocators; ns/op is the median, the speed against
// TLSF is the median over rounds of (TLSF's time / this allocator's time) in the same round.
import fs from 'node:fs';
import path from 'node:path';
import { BENCH_DIR, ROOT_DIR, asc } from './toolchain.js';

/** The allocators, numbered as cells.ts numbers them; `needs` says what must beat TLSF. */
export const CELL_ALLOCATORS = [
  { id: 'tlsf', label: 'TLSF: heap.alloc / heap.free' },
  { id: 'stack', label: 'StackAllocator (LEAVE)', mustBeat: true },
  { id: 'stack-zero', label: 'StackAllocator (ZERO)' },
  { id: 'heap', label: 'HeapAlloc (calloc)' },
  { id: 'heap-uninit', label: 'HeapAllocUninitialized (malloc)' },
  { id: 'prealloc', label: 'HeapPrealloc (LEAVE)', mustBeat: true },
  { id: 'prealloc-zero', label: 'HeapPrealloc (ZERO)' },
  { id: 'calloc', label: 'CallocPool (LEAVE)', mustBeat: true },
  { id: 'global', label: 'GlobalPool (LEAVE)', mustBeat: true },
  { id: 'malloc', label: 'ralloc-wasm malloc / free (raw)' },
];
export const CELL_WORKLOADS = [
  { id: 'pair', title: 'a cell of 8 u32 allocated, written, read, freed', n: { full: 2_000_000, quick: 200_000, smoke: 20_000 } },
  { id: 'churn', title: '1,000 live cells of 1..32 u32; free a random one, allocate another', n: { full: 600_000, quick: 60_000, smoke: 5_000 } },
];
const ENTRY = path.join(BENCH_DIR, 'cells', 'cells.ts');
/** -O3 like the TLSF column of the C workloads; assertions off; AssemblyScript's usual runtime. */
const OPTIONS = ['-O3', '--noAssert', '--runtime', 'incremental', '--exportRuntime'];

/** The texts of assembly/ (the allocator the module builds in), for the compile cache's key. */
export function assemblySources(dir = path.join(ROOT_DIR, 'assembly')) {
  return fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name)).flatMap((d) => {
    const p = path.join(dir, d.name);
    return d.isDirectory() ? assemblySources(p) : d.name.endsWith('.ts') ? [p, fs.readFileSync(p, 'utf8')] : [];
  });
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** A fresh instance of the module with allocator `k` made. */
function instance(module, k) {
  let memory;
  const text = (p) => Buffer.from(memory.buffer, p, new Uint32Array(memory.buffer)[(p - 4) >>> 2]).toString('utf16le');
  const inst = new WebAssembly.Instance(module, {
    env: { abort: (msg) => { throw new Error(msg ? text(msg) : 'abort'); } },
    ralloc_hooks: { oom: () => 0 },
  });
  memory = inst.exports.memory;
  inst.exports.prepare(k);
  return inst.exports;
}

/** One run of workload w on allocator k in a fresh instance. */
function runOnce(module, k, w, n) {
  const e = instance(module, k);
  const start = performance.now();
  const sum = e[w.id](n) >>> 0;
  const ns = (performance.now() - start) * 1e6;
  return {
    sum, nsPerOp: ns / e.ops(), added: e.addedBytes() >>> 0, static: e.staticBytes() >>> 0,
    left: e.leftover(), dropped: e.dropped() >>> 0,
  };
}

/**
 * Runs the cell workloads in `mode` (full, quick, smoke: one run each, checks only) with `reps`
 * rounds. Returns { section: the Markdown for RESULTS.md, failures: [{ what, msg }] }.
 */
export async function cellsBench({ mode, reps, log = () => {}, gc = () => {} }) {
  const timing = mode !== 'smoke';
  const sources = assemblySources();
  const plain = new WebAssembly.Module(await asc('cells', ENTRY, OPTIONS, sources));
  const withStatic = new WebAssembly.Module(await asc('cells-static', ENTRY, [...OPTIONS, '--use', 'CELLS_STATIC=1'], sources));
  const moduleOf = (k) => (CELL_ALLOCATORS[k].id === 'global' ? withStatic : plain);
  const failures = [];
  const results = {}; // results[w][a] = { nsPerOp, byRound, added, static, dropped }
  for (const w of CELL_WORKLOADS) {
    const n = w.n[mode];
    const runs = CELL_ALLOCATORS.map(() => []);
    const dead = new Set();
    const attempt = (k, round) => {
      try {
        const r = runOnce(moduleOf(k), k, w, n);
        if (r.left !== 0) throw new Error(`${r.left} cells live after the run`);
        if (round !== undefined) runs[k].push({ ...r, round });
      } catch (err) {
        dead.add(k);
        failures.push({ what: 'cells', msg: `${w.id} on ${CELL_ALLOCATORS[k].id}: ${err.message}` });
        log(`!! cells ${w.id} ${CELL_ALLOCATORS[k].id}: ${err.message}`);
      }
      gc();
    };
    if (timing) CELL_ALLOCATORS.forEach((_, k) => attempt(k));
    for (let r = 0; r < (timing ? reps : 1); r++) CELL_ALLOCATORS.forEach((_, k) => { if (!dead.has(k)) attempt(k, r); });
    const row = (results[w.id] = {});
    const ref = runs[0][0]?.sum;
    CELL_ALLOCATORS.forEach((a, k) => {
      const rs = runs[k];
      if (!rs.length) return;
      if (rs.some((x) => x.sum !== ref)) failures.push({ what: 'cells checksum', msg: `${w.id} on ${a.id} gave 0x${rs[0].sum.toString(16)}, TLSF 0x${ref?.toString(16)}` });
      const byRound = [];
      for (const x of rs) byRound[x.round] = x.nsPerOp;
      row[a.id] = {
        sum: rs[0].sum, nsPerOp: median(rs.map((x) => x.nsPerOp)), byRound,
        added: Math.max(...rs.map((x) => x.added)), static: rs[0].static, dropped: Math.max(...rs.map((x) => x.dropped)),
      };
    });
    log(`cells ${w.id.padEnd(6)} ` + CELL_ALLOCATORS.map((a) => {
      const r = row[a.id];
      return !r ? `${a.id} FAILED` : timing ? `${a.id} ${r.nsPerOp.toFixed(1)}` : `${a.id} ok`;
    }).join('  '));
  }
  return { section: section(results, mode, reps, timing), failures, results };
}

/** TLSF's time over allocator a's on workload w: the median of per-round ratios (above 1: a is faster). */
function vsTlsf(results, w, a) {
  const A = results[w]?.[a], T = results[w]?.tlsf;
  if (!A || !T) return undefined;
  const xs = [];
  for (let r = 0; r < A.byRound.length; r++) if (A.byRound[r] && T.byRound[r]) xs.push(T.byRound[r] / A.byRound[r]);
  return xs.length ? median(xs) : undefined;
}

const kib = (b) => (b / 1024).toFixed(0);

function section(results, mode, reps, timing) {
  const L = [];
  L.push('## AssemblyScript cell allocators (ralloc-wasm/assembly): ns per operation, speed vs TLSF, memory');
  L.push('');
  L.push(`\`bench/cells/cells.ts\`, built with \`${OPTIONS.join(' ')}\`: every allocator in the same module as AssemblyScript's own TLSF (\`heap.alloc\` / \`heap.free\`; GlobalPool in a second build with its static buffer), each run a fresh instance. ${timing ? `Median of ${reps} rounds after a warm-up run, interleaved across allocators; "x TLSF" is the median over rounds of TLSF's time / this allocator's time in the same round (above 1: faster than TLSF).` : 'Smoke run: checksums only.'} The cells are bounds-checked on every access; TLSF's and malloc's rows write the same values with unchecked loads and stores. Pools and StackAllocators are given ${kib(1 << 20)} KiB and 2,048 cell records; StackAllocators 64 free-list slots.`);
  L.push('');
  for (const w of CELL_WORKLOADS) L.push(`- **${w.id}**: ${w.title}; ${w.n[mode].toLocaleString('en-US')} operations${w.id === 'churn' ? ' (+ 2,000 for the fill and the drain)' : ''}`);
  L.push('');
  const head = ['allocator', ...CELL_WORKLOADS.map((w) => `${w.id}: ns/op (x TLSF)`), 'churn: memory added, KiB', 'churn: elements dropped'];
  const rows = CELL_ALLOCATORS.map((a) => [a.label, ...CELL_WORKLOADS.map((w) => {
    const r = results[w.id]?.[a.id];
    if (!r) return 'FAILED';
    if (!timing) return 'ok';
    const x = a.id === 'tlsf' ? 1 : vsTlsf(results, w.id, a.id);
    return `${r.nsPerOp.toFixed(1)} (${x === undefined ? '-' : x.toFixed(2)}x)`;
  }), (() => {
    const r = results.churn?.[a.id];
    return !r ? '-' : r.static ? `${kib(r.added)} + ${kib(r.static)} static` : kib(r.added);
  })(), a.id.startsWith('stack') ? (results.churn?.[a.id]?.dropped ?? '-').toLocaleString('en-US') : '-']);
  L.push('| ' + head.join(' | ') + ' |');
  L.push('| ' + head.map((_, i) => (i ? '---:' : '---')).join(' | ') + ' |');
  for (const r of rows) L.push('| ' + r.join(' | ') + ' |');
  L.push('');
  L.push('"memory added": memory at the end of the churn run minus memory when the instance started (wasm memory never shrinks: the peak), which includes the pool or buffer set aside up front; GlobalPool\'s buffer is static data, in the module\'s memory from the start. "elements dropped": what a StackAllocator lost because its free list was full (docs/CELLS.md).');
  if (timing) {
    const verdicts = CELL_ALLOCATORS.filter((a) => a.mustBeat).map((a) => {
      const xs = CELL_WORKLOADS.map((w) => [w.id, vsTlsf(results, w.id, a.id)]);
      const ok = xs.every(([, x]) => x !== undefined && x > 1);
      return `${a.label}: ${ok ? 'faster' : '**NOT faster**'} than TLSF (${xs.map(([id, x]) => `${id} ${x === undefined ? '-' : x.toFixed(2) + 'x'}`).join(', ')})`;
    });
    L.push('');
    L.push('Target (issue 18): StackAllocator and the pools faster than TLSF\'s heap.alloc / heap.free on these workloads.');
    for (const v of verdicts) L.push(`- ${v}`);
  }
  return L.join('\n');
}
