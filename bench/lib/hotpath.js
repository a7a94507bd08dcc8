// The hot path's length: wasm instructions, loads, stores, branches and calls executed per
// operation of a pair workload (one malloc(32) + free), in the statically linked modules the
// benchmark times (prepare() in allocators.js: the same bytes, cached in bench/out/).
//
// Method: each module is rewritten by icount.js (counters added at the start of every
// straight-line run of code), run(n, seed) is called in a fresh instance for three values of
// n, and the counts per operation are the differences between the runs divided by the
// differences of n: set-up (the instance's start, the allocator's init, the workload's own
// set-up and final frees) is the same in every run and cancels. Equal steps of n must give
// equal differences (a steady state); otherwise the figure is the mean and is marked.
// Each instrumented run's checksum must equal the uninstrumented module's.
//
// The workload's own share is measured by linking it with the null allocator
// (bench/null/null.ts, a bump pointer whose malloc(32) inlines to four instructions and
// whose free to nothing); an allocator's share is its total minus that.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ALLOCATORS, instantiate, prepare } from './allocators.js';
import { COUNTERS, instrumentCounts, readCounts } from './icount.js';
import { BENCH_DIR, OUT_DIR } from './toolchain.js';
import { SEED } from './workloads.js';

export const NULL_ALLOCATOR = { id: 'null', label: 'null allocator (bump pointer)', kind: 'import', init: 'null_init', entry: path.join(BENCH_DIR, 'null', 'null.ts') };
export const HOTPATH_WORKLOADS = ['pair32', 'warm_pair'];
/** the counted runs' n: equal steps, so a steady state shows as equal differences */
const NS = [2000, 4000, 6000];
/** the operations counted one at a time, for the most frequent cost of one */
const PAIRS = 60;

/**
 * The configurations counted, in table order: the null allocator (the workload's own
 * share), then `ids` (allocator ids; 'dlmalloc/O3' and 'dlmalloc' name the wasi-libc
 * program after wasm-opt -O3 and as clang built it), then `extras` (--extra builds).
 */
export function hotpathConfigs(ids = ['floor', 'dlmalloc/O3', 'release'], extras = []) {
  const out = [{ id: 'null', a: NULL_ALLOCATOR, linking: 'static' }];
  for (const id of ids) {
    if (id === 'dlmalloc/O3' || id === 'dlmalloc') {
      out.push({ id, a: ALLOCATORS.find((a) => a.id === 'dlmalloc'), linking: id === 'dlmalloc' ? 'plain' : 'opt' });
      continue;
    }
    const a = ALLOCATORS.find((x) => x.id === id);
    if (!a || a.kind !== 'import') throw new Error(`hotpath: unknown allocator ${id}`);
    out.push({ id, a, linking: 'static' });
  }
  for (const a of extras) out.push({ id: a.id, a, linking: 'static' });
  return out;
}

const sub = (x, y) => Object.fromEntries(Object.keys(x).map((k) => [k, x[k] - y[k]]));

/** Counts of one run(n, seed) in a fresh instance of the prepared configuration p. */
function countRun(p, n) {
  const inst = instantiate(p);
  const before = readCounts(inst.alloc);
  const sum = inst.run(n, SEED) >>> 0;
  return { sum, counts: sub(readCounts(inst.alloc), before) };
}

/**
 * Counts per operation of configuration c on workload w (prog: compileWorkload's output).
 * Returns { perOp, steady, common, bytes, p }: perOp the mean over n = NS[0]..NS[2], steady
 * whether equal steps of n gave equal counts, common the most frequent cost of one more
 * operation over PAIRS consecutive n ({ counts, of, others: the other instruction counts
 * seen }), bytes the module as the benchmark runs it.
 */
export async function countConfig(w, prog, c, moduleCache) {
  const p = await prepare(w, prog, c.a, c.linking, moduleCache);
  if (!p) throw new Error(`${c.id}: no static link (dist/bindings/link.js is not built)`);
  const inst = instrumentCounts(p.bytes);
  const pc = { ...p, program: new WebAssembly.Module(inst.bytes) };
  const runs = NS.map((n) => countRun(pc, n));
  const plain = instantiate(p).run(NS[0], SEED) >>> 0;
  if (runs[0].sum !== plain) throw new Error(`${w.id} ${c.id}: the instrumented module's checksum differs from the module's own`);
  const d1 = sub(runs[1].counts, runs[0].counts), d2 = sub(runs[2].counts, runs[1].counts);
  const steady = Object.keys(d1).every((k) => d1[k] === d2[k]);
  const span = NS[NS.length - 1] - NS[0];
  const perOp = Object.fromEntries(Object.keys(d1).map((k) => [k, (runs[2].counts[k] - runs[0].counts[k]) / span]));
  if (perOp.instructions === 0) throw new Error(`${w.id}: run(n) does the same work for every n, so nothing is counted per operation: choose a workload whose run(n) does n operations`);
  // one operation at a time: run(n + 1) - run(n), for PAIRS consecutive n
  const seen = new Map();
  let prev = runs[0].counts;
  for (let n = NS[0] + 1; n <= NS[0] + PAIRS; n++) {
    const cur = countRun(pc, n).counts;
    const d = sub(cur, prev);
    prev = cur;
    const key = COUNTERS.map((k) => d[k]).join(',');
    if (!seen.has(key)) seen.set(key, { counts: d, of: 0 });
    seen.get(key).of++;
  }
  const byFreq = [...seen.values()].sort((a, b) => b.of - a.of);
  const common = { ...byFreq[0], others: [...new Set(byFreq.slice(1).map((x) => x.counts.instructions))].sort((a, b) => a - b) };
  return { perOp, steady, common, bytes: p.bytes, p };
}

/** Counts every configuration on every workload: { [w.id]: { [c.id]: countConfig result } }. */
export async function countHotpath(workloads, configs, compileWorkload) {
  const moduleCache = new Map();
  const out = {};
  for (const w of workloads) {
    const prog = await compileWorkload(w);
    out[w.id] = {};
    await Promise.all(configs.map(async (c) => {
      out[w.id][c.id] = await countConfig(w, prog, c, moduleCache).catch((e) => { throw new Error(`${w.id}, ${c.id}: ${e.message}`); });
    }));
  }
  return out;
}

const fmt = (x) => (Number.isInteger(x) ? String(x) : x.toFixed(2));

/** The markdown tables of countHotpath's result. */
export function hotpathMarkdown(workloads, configs, res) {
  const L = [];
  const K = ['instructions', 'loads', 'stores', 'branches'];
  for (const w of workloads) {
    const row = res[w.id];
    const own = row.null?.perOp;
    L.push(`**${w.id}** (${w.title}), per ${w.op}, statically linked; mean over ${(NS[NS.length - 1] - NS[0]).toLocaleString('en-US')} operations:`);
    L.push('');
    L.push(`| build | allocator: instructions | loads | stores | branches | with the loop: instructions | loads | stores | branches | calls | one operation: most frequent (of ${PAIRS}), others |`);
    L.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |');
    for (const c of configs) {
      const r = row[c.id];
      if (!r) continue;
      const x = r.perOp;
      const share = c.id === 'null' || !own ? ['-', '-', '-', '-'] : K.map((k) => fmt(x[k] - own[k]));
      const name = c.id === 'null' ? "workload's own (null allocator)" : c.linking === 'opt' ? `${c.id} (wasi-libc, wasm-opt -O3)` : c.id === 'dlmalloc' ? 'dlmalloc (wasi-libc, clang -O2)' : c.id;
      const m = r.common;
      const one = `${m.counts.instructions} instr., ${m.counts.loads} ld, ${m.counts.stores} st, ${m.counts.branches} br, ${m.counts.calls} calls (${m.of})` +
        (m.others.length ? `; others: ${m.others.join(', ')} instr.` : '') + (r.steady ? '' : '; not periodic within 2,000');
      L.push(`| ${name} | ${share.join(' | ')} | ${[...K, 'calls'].map((k) => fmt(x[k])).join(' | ')} | ${one} |`);
    }
    L.push('');
  }
  L.push("Counted by `npm run bench:hotpath` (method: bench/README.md, \"The hot path\"). \"with the loop\": everything one operation executes, the workload's own stamping and checking included; " +
    "\"allocator\": that minus the same loop under the null allocator (a bump pointer: its malloc(32) is four instructions once inlined, counted in the workload's row). " +
    'Instructions exclude the markers block, loop, else and end; branches are if, br, br_if and br_table, taken or not; calls are the calls left after inlining. ' +
    `"one operation": run(n + 1) minus run(n) for ${PAIRS} consecutive n, the most frequent figures and how many of the ${PAIRS} had them, then the other instruction counts seen.`);
  return L.join('\n');
}

// ---- the cross-check with wabt's interpreter -----------------------------------------------

function tool(name, args, opts = {}) {
  const r = spawnSync(name, args, { encoding: 'utf8', maxBuffer: 1 << 30, ...opts });
  if (r.error) throw new Error(`${name}: ${r.error.message} (the --interp check needs wabt's command-line tools: apt-get install wabt)`);
  if (r.status !== 0) throw new Error(`${name} ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

/**
 * The module as a standalone one wasm-interp can run: its memory defined instead of imported,
 * the counted memory.grow import replaced by a function doing the grow, every export dropped
 * and one export `bench` added that does what instantiate() does (the allocator's init or
 * wasi-libc's _initialize) and then run(n, seed).
 */
export function interpModule(bytes, p, n, dir) {
  const inFile = path.join(dir, 'm.wasm'), wat = path.join(dir, 'm.wat'), outFile = path.join(dir, `m${n}.wasm`);
  fs.writeFileSync(inFile, bytes);
  let s = tool('wasm2wat', ['--enable-all', '--generate-names', inFile]);
  const exported = (name) => { const m = new RegExp(`\\(export "${name}" \\(func (\\$[^\\s)]+)\\)\\)`).exec(s); return m ? m[1] : null; };
  const run = exported('run');
  const init = p.kind === 'libc' ? exported('_initialize') : p.init ? exported(p.init) : null;
  if (!run || ((p.kind === 'libc' || p.init) && !init)) throw new Error('interp: the run or init export was not found');
  const seed = exported('ralloc_seed');
  s = s.replace(/\(import "env" "memory" \(memory (\$\S+) (\d+)( \d+)?\)\)/, '(memory $1 $2$3)');
  let growFn = '';
  s = s.replace(/\(import "bench" "memory_grow" \(func (\$\S+) \(type \$\w+\)\)\)/, (_, name) => {
    growFn = `  (func ${name} (param i32) (result i32) (memory.grow (local.get 0)))\n`;
    return '';
  });
  if (/\(import /.test(s)) throw new Error('interp: the module has imports besides env.memory and the counted memory.grow');
  s = s.replace(/\n\s*\(export [^\n]*\)(?=\n|\)$)/g, '');
  const calls = [];
  if (seed) calls.push(`(drop (call ${seed} (i32.const 1575883316) (i32.const 195742462)))`);
  if (p.kind === 'libc') calls.push(`(call ${init})`);
  else if (init) calls.push(`(drop (call ${init} (i32.const ${p.heapBase})))`);
  calls.push(`(drop (call ${run} (i32.const ${n}) (i32.const ${SEED})))`);
  s = s.trimEnd();
  if (!s.endsWith(')')) throw new Error('interp: unexpected text form');
  s = `${s.slice(0, -1)}\n${growFn}  (func (export "bench") ${calls.join(' ')}))\n`;
  fs.writeFileSync(wat, s);
  tool('wat2wasm', ['--enable-all', wat, '-o', outFile]);
  return outFile;
}

/** wasm-interp --trace's lines of one run, by opcode name: { total, ops: { name: count } } */
export function interpTrace(file) {
  // the trace goes to a file (hundreds of MB for a long set-up) and is read in pieces
  const traceFile = `${file}.trace`;
  const fd = fs.openSync(traceFile, 'w');
  let r;
  try {
    r = spawnSync('wasm-interp', [file, '--enable-all', '--run-all-exports', '--trace'], { stdio: ['ignore', fd, 'pipe'] });
  } finally {
    fs.closeSync(fd);
  }
  if (r.error) throw new Error(`wasm-interp: ${r.error.message} (the --interp check needs wabt's command-line tools: apt-get install wabt)`);
  if (r.status !== 0) throw new Error(`wasm-interp failed: ${r.stderr}`);
  const ops = {};
  let total = 0, done = false, rest = '';
  const re = /^#\d+\.\s+\d+: V:\d+\s*\| (\S+)/;
  const rfd = fs.openSync(traceFile, 'r');
  const buf = Buffer.alloc(1 << 24);
  try {
    for (let n; (n = fs.readSync(rfd, buf, 0, buf.length, null)) > 0;) {
      const lines = (rest + buf.toString('latin1', 0, n)).split('\n');
      rest = lines.pop();
      for (const line of lines) {
        const m = re.exec(line);
        if (m) { ops[m[1]] = (ops[m[1]] ?? 0) + 1; total++; } else if (line.startsWith('bench() =>')) done = true;
      }
    }
  } finally {
    fs.closeSync(rfd);
    fs.rmSync(traceFile, { force: true });
  }
  if (!done && !rest.startsWith('bench() =>')) throw new Error('wasm-interp: the run did not complete');
  return { total, ops };
}

/**
 * The cross-check: wasm-interp --trace (one line per instruction of wabt's interpreter) on the
 * same module, per operation from two runs, set beside icount's counts. wabt's interpreter
 * compiles wasm to its own instruction stream: block, loop, else and end leave no line;
 * `if` and `br_if` become br_unless (a taken br_if adds a `br`); a then-arm reaching `else`
 * runs a `br`; a br_table adds the `br` of its target; a function entered with locals runs
 * an `alloca`, one ending at its final `end` a `return`; where a branch or a return must drop
 * values below the ones it keeps it runs a `drop_keep`, or a `drop` when that is one value
 * and none kept. Every term of that but the stack adjustments (drop_keep, and the drops
 * beyond the module's own) is predicted from icount's own counters, so the totals must agree
 * exactly once they are added.
 */
export function interpCheck(r, n1 = NS[0], n2 = NS[NS.length - 1]) {
  const dir = fs.mkdtempSync(path.join(OUT_DIR, 'interp-'));
  try {
    const t1 = interpTrace(interpModule(r.bytes, r.p, n1, dir));
    const t2 = interpTrace(interpModule(r.bytes, r.p, n2, dir));
    const per = (x) => (x / (n2 - n1));
    const names = new Set([...Object.keys(t1.ops), ...Object.keys(t2.ops)]);
    const op = {};
    for (const k of names) op[k] = per((t2.ops[k] ?? 0) - (t1.ops[k] ?? 0));
    const sum = (pred) => Object.entries(op).filter(([k]) => pred(k)).reduce((a, [, v]) => a + v, 0);
    const x = r.perOp;
    const CONTROL = new Set(['br', 'br_if', 'br_unless', 'br_table', 'return', 'drop_keep', 'drop', 'alloca', 'return_call', 'return_call_indirect']);
    const wabt = {
      total: per(t2.total - t1.total),
      loads: sum((k) => /\.load/.test(k)),
      stores: sum((k) => /\.store/.test(k)),
      calls: sum((k) => /^call/.test(k)),
      conditionals: (op.br_unless ?? 0) + (op.br_if ?? 0),
      br: op.br ?? 0,
      br_table: op.br_table ?? 0,
      return: op.return ?? 0,
      alloca: op.alloca ?? 0,
      other: sum((k) => !CONTROL.has(k)),
    };
    // stack adjustments: every drop_keep, and the drops that are not the module's own
    const drops = op.drop ?? 0;
    const adjust = (op.drop_keep ?? 0) + drops - x.drops;
    const takenBrIfs = x.br_ifs - x.br_if_fallthroughs;
    const ifs = x.branches - x.br_ifs - x.brs - x.br_tables;
    const predicted = {
      loads: x.loads,
      stores: x.stores,
      calls: x.calls,
      conditionals: ifs + x.br_ifs,
      br: x.brs + takenBrIfs + x.else_jumps + x.br_tables,
      br_table: x.br_tables,
      return: x.returns + x.implicit_returns,
      alloca: x.entries_with_locals,
      other: x.instructions - x.branches - x.returns - x.drops,
    };
    const agree = drops >= x.drops && Object.keys(predicted).every((k) => Math.abs(predicted[k] - wabt[k]) < 1e-9);
    const explained = x.instructions + takenBrIfs + x.else_jumps + x.br_tables + x.implicit_returns + x.entries_with_locals + adjust;
    return { wabt, predicted, adjust, agree: agree && Math.abs(explained - wabt.total) < 1e-9, explained, takenBrIfs, icount: x };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
