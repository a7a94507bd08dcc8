// The floor: the fastest malloc that can still run the benchmark's workloads, as a speed
// reference. One LIFO free list per size class, never a split, never a coalesce; memory is
// taken by bumping a pointer and grown geometrically (double, or what is needed if more).
//
// Size classes: 16-byte steps up to 64 KiB (class c holds c * 16 bytes, c = 1..4096), then
// powers of two (class 4096 + k holds 64 KiB << k). Every block has a 16-byte header whose
// last word is its class, so the payload stays 16-byte aligned:
//
//   chunk: [ 12 unused | u32 class ][ payload: size(class) bytes ... ]
//                                   ^ pointer handed out; a free block's first word links
//                                     to the next free block of its class (0 ends the list)
//
// State lives in wasm globals and in a table of list heads at the start of the heap, never
// in static data: the module has no data segments and writes nothing below the heap base it
// is given, so it can share a memory with a C program. Compile with --runtime stub
// --noAssert; call floor_init(program's __heap_base) before the first malloc.

// @ts-ignore: decorator
@inline const SMALL_CLASSES: usize = 4096; // 16..65536 bytes in 16-byte steps
// @ts-ignore: decorator
@inline const CLASSES: usize = SMALL_CLASSES + 16; // then 128 KiB .. 4 GiB
// @ts-ignore: decorator
@inline const HEADER: usize = 16;

let table: usize = 0; // CLASSES list heads (u32 each)
let top: usize = 0; // bump pointer: next unused byte
let end: usize = 0; // end of the memory this allocator may use

export function floor_init(heapBase: usize): i32 {
  table = (heapBase + 15) & ~15;
  top = table + CLASSES * 4;
  end = <usize>memory.size() << 16;
  if (top > end && !grow(top - end)) return 48;
  memory.fill(table, 0, CLASSES * 4);
  return 0;
}

// @ts-ignore: decorator
@inline function classSize(c: usize): usize {
  return c <= SMALL_CLASSES ? c << 4 : <usize>0x10000 << (c - SMALL_CLASSES);
}

function grow(need: usize): bool {
  let have = <i32>memory.size();
  let pages = <i32>((need + 0xffff) >>> 16);
  if (memory.grow(max(pages, have)) < 0 && memory.grow(pages) < 0) return false;
  end = <usize>memory.size() << 16;
  return true;
}

function carve(c: usize): usize {
  let size = classSize(c);
  let chunk = top;
  let next = <u64>chunk + HEADER + size;
  if (next > <u64>end) {
    if (next > <u64>0xffff0000) return 0;
    if (!grow(<usize>next - end)) return 0;
  }
  top = <usize>next;
  store<u32>(chunk, <u32>c, 12);
  return chunk + HEADER;
}

// The fast path is kept small, and carve() has two callers, so that binaryen inlines malloc
// (not carve) into a program when merged with it: the floor's pair is one inlined pop/push.
export function malloc(n: usize): usize {
  if (n <= SMALL_CLASSES << 4) {
    let c = ((n + 15) >> 4) | usize(n == 0);
    let slot = table + (c << 2);
    let head = load<usize>(slot);
    if (head) {
      store<usize>(slot, load<usize>(head));
      return head;
    }
    return carve(c);
  }
  return mallocLarge(n);
}

function mallocLarge(n: usize): usize {
  if (n > 0x80000000) return 0;
  let c = SMALL_CLASSES + (32 - clz<u32>(<u32>n - 1)) - 16;
  let slot = table + (c << 2);
  let head = load<usize>(slot);
  if (head) {
    store<usize>(slot, load<usize>(head));
    return head;
  }
  return carve(c);
}

export function free(p: usize): void {
  if (!p) return;
  let slot = table + (<usize>load<u32>(p - 4) << 2);
  store<usize>(p, load<usize>(slot));
  store<usize>(slot, p);
}

export function realloc(p: usize, n: usize): usize {
  if (!p) return malloc(n);
  if (!n) {
    free(p);
    return 0;
  }
  let old = classSize(<usize>load<u32>(p - 4));
  if (n <= old) return p;
  let q = malloc(n);
  if (!q) return 0;
  memory.copy(q, p, old);
  free(p);
  return q;
}

export function calloc(n: usize, size: usize): usize {
  let total = <u64>n * <u64>size;
  if (total > <u64>0x80000000) return 0;
  let p = malloc(<usize>total);
  if (p) memory.fill(p, 0, <usize>total);
  return p;
}
