// The workloads: C files in bench/workloads/, each exporting run(n, seed), ops(), peak_live().
// `n` is the number of operations asked for; what one operation is is written at the top of
// each C file and repeated in `op` here (the tables print it).
import fs from 'node:fs';
import path from 'node:path';
import { BENCH_DIR, clang, CLANG_IMPORT, CLANG_LIBC, exportedGlobal, memoryMinPages } from './toolchain.js';

export const WORKLOADS = [
  { id: 'pair32', title: '32-byte malloc/free pair', op: 'malloc(32)+free', n: { full: 3_000_000, quick: 300_000, smoke: 20_000 } },
  // n is large because the set-up (4,040 blocks, 2,020 freed; 1-1.5 ms on fresh memory) is
  // timed with the pairs: 5-15% of a quick run for the fastest allocators, a third of that in
  // a full one
  { id: 'warm_pair', title: '32-byte pair in a used heap: 2,020 live blocks of 16 B..64 KiB, 2,020 holes', op: 'malloc(32)+free', n: { full: 6_000_000, quick: 2_000_000, smoke: 20_000 } },
  { id: 'churn', title: 'churn, 10,000 live of 16..1024 B', op: 'free+malloc in a random slot', n: { full: 500_000, quick: 60_000, smoke: 5_000 } },
  { id: 'random', title: 'random actions, no realloc', op: 'action (malloc 1..10000 B or free)', n: { full: 400_000, quick: 40_000, smoke: 5_000 } },
  { id: 'random_realloc', title: 'random actions, with realloc', op: 'action (malloc, free or realloc)', n: { full: 300_000, quick: 30_000, smoke: 5_000 } },
  { id: 'realloc_grow', title: 'buffers grown by realloc, 1..64 B steps', op: 'malloc/realloc/free call', n: { full: 600_000, quick: 60_000, smoke: 10_000 } },
  { id: 'trees', title: 'binary trees built and freed whole', op: 'node malloc(12)+free', n: { full: 1_500_000, quick: 150_000, smoke: 20_000 } },
  { id: 'fragment', title: 'fragmenting: fill, free every other, allocate larger', op: 'allocation (+ its free)', n: { full: 600_000, quick: 60_000, smoke: 12_000 } },
  { id: 'batch_fifo', title: 'batches of 16/32/64 B freed FIFO', op: 'malloc+free', n: { full: 3_000_000, quick: 300_000, smoke: 20_000 } },
  { id: 'batch_lifo', title: 'batches of 16/32/64 B freed LIFO', op: 'malloc+free', n: { full: 3_000_000, quick: 300_000, smoke: 20_000 } },
];
export const SEED = 0x2545f491;

const SRC_DIR = path.join(BENCH_DIR, 'workloads');
function sources() {
  return Object.fromEntries(fs.readdirSync(SRC_DIR).filter((f) => /\.[ch]$/.test(f))
    .map((f) => [f, fs.readFileSync(path.join(SRC_DIR, f), 'utf8')]));
}

const ALLOWED_PROGRAM_IMPORTS = new Set(['env.memory', 'env.malloc', 'env.free', 'env.realloc', 'env.calloc']);

/**
 * Compiles a workload both ways. Returns
 *   libc:   { bytes, heapBase, minPages }    against wasi-libc (dlmalloc), defines its memory
 *   import: { bytes, heapBase, minPages }    malloc family and memory imported from env
 * and checks that the import build really calls the allocator (clang may delete a
 * malloc/free pair whose pointer does not escape) and needs nothing else.
 */
export async function compileWorkload(w) {
  const files = sources();
  const main = `${w.id}.c`;
  const libc = await clang(`${w.id}.libc`, files, main, CLANG_LIBC);
  const imp = await clang(`${w.id}.import`, files, main, CLANG_IMPORT);
  const imports = WebAssembly.Module.imports(new WebAssembly.Module(imp)).map((i) => `${i.module}.${i.name}`);
  for (const i of imports) {
    if (!ALLOWED_PROGRAM_IMPORTS.has(i)) throw new Error(`${w.id}: the import build needs ${i}; workloads must use only the malloc family`);
  }
  if (!imports.includes('env.malloc') || !imports.includes('env.free')) {
    throw new Error(`${w.id}: the compiled program does not call malloc and free (clang removed them?)`);
  }
  const libcImports = WebAssembly.Module.imports(new WebAssembly.Module(libc));
  if (libcImports.length) throw new Error(`${w.id}: the wasi-libc build imports ${libcImports.map((i) => i.module + '.' + i.name)}`);
  return {
    libc: { bytes: libc, heapBase: exportedGlobal(libc, '__heap_base'), minPages: memoryMinPages(libc) },
    import: { bytes: imp, heapBase: exportedGlobal(imp, '__heap_base'), minPages: memoryMinPages(imp), imports },
  };
}
