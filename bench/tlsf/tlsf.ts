// The C malloc family over AssemblyScript's own allocator (std/assembly/rt/tlsf.ts, reached
// through heap.alloc/heap.realloc/heap.free), for the benchmark's TLSF column.
// Compiled with `--runtime incremental --importMemory --memoryBase <program's __heap_base>`
// (see bench/lib/allocators.js), so this module's static data, and the TLSF heap that starts
// at this module's own __heap_base, both lie above everything the C program owns.
// The wrappers only add what C asks for and AssemblyScript's heap.* does not give:
// realloc(0, n) = malloc(n) and realloc(p, 0) = free (heap.realloc asserts on a null
// pointer), and calloc's zeroing and overflow check. heap.free(0) is already a no-op.

export function malloc(size: usize): usize {
  return heap.alloc(size);
}

export function free(ptr: usize): void {
  heap.free(ptr);
}

export function realloc(ptr: usize, size: usize): usize {
  if (!ptr) return heap.alloc(size);
  if (!size) {
    heap.free(ptr);
    return 0;
  }
  return heap.realloc(ptr, size);
}

export function calloc(n: usize, size: usize): usize {
  let total = <u64>n * <u64>size;
  if (total > <u64>0xffffffff) return 0;
  let ptr = heap.alloc(<usize>total);
  memory.fill(ptr, 0, <usize>total);
  return ptr;
}
