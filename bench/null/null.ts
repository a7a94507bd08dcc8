// The null allocator: a bump pointer that never reuses memory, for bench/hotpath.js only (the
// benchmark never runs it). Statically linked into a workload like the other allocators, its
// malloc(32) inlines to four instructions (global.get, i32.const, i32.add, global.set) and its
// free to nothing, so what a pair costs under it is the workload's own loop (stamping,
// checking, counting, the escape store) plus those four: the hot path table subtracts it
// from every allocator's figure to give the allocator's own share.
//
// No bounds check on the pair's path: null_init grows memory by RESERVE up front, and a
// block past the end of memory traps on its first store (wasm bounds-checks every access),
// so running out is loud. It has no data segments and keeps its state in a global, like the
// floor; compile with --runtime stub --noAssert and call null_init(__heap_base) first.

// @ts-ignore: decorator
@inline const RESERVE: usize = 32 << 20; // the workloads' set-up and the counted runs fit

let top: usize = 0;

export function null_init(heapBase: usize): i32 {
  top = (heapBase + 15) & ~15;
  let want = <i32>((top + RESERVE + 0xffff) >>> 16) - memory.size();
  if (want > 0 && memory.grow(want) < 0) return 48;
  return 0;
}

export function malloc(n: usize): usize {
  let p = top;
  top = p + ((n + 15) & ~15);
  return p;
}

export function free(p: usize): void {}

export function realloc(p: usize, n: usize): usize {
  let q = malloc(n);
  if (p) memory.copy(q, p, min(n, q - p)); // the old block lies below the new one
  return q;
}

export function calloc(n: usize, size: usize): usize {
  return malloc(n * size); // never-used memory is zero
}
