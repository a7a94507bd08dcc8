// A JavaScript host keeping its data in wasm linear memory with a ralloc-wasm Heap.
//
// It interns strings into the heap (one malloc'ed, NUL-terminated UTF-8 block each), keeps a
// vector of pointers that grows with realloc (as C code sharing this memory would see it), sorts
// it, frees every other string, and prints what the allocator reports. The HEAP* views stay valid
// while memory grows underneath.
//
//   node examples/js/heap-host.js [count]
import { createHeap } from 'ralloc-wasm';

const count = Number(process.argv[2] ?? 5000);
const heap = createHeap({ build: 'release', maximumPages: 1024 /* 64 MiB */ });
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Copies a string into a new block; returns its address. */
function intern(text) {
  const bytes = encoder.encode(text);
  const p = heap.malloc(bytes.length + 1);
  if (p === 0) throw new Error('out of memory');
  heap.HEAPU8.set(bytes, p);
  heap.HEAPU8[p + bytes.length] = 0;
  return p;
}

/** Reads the NUL-terminated string at p. */
function read(p) {
  const u8 = heap.HEAPU8;
  let end = p;
  while (u8[end] !== 0) end++;
  return decoder.decode(u8.subarray(p, end));
}

// A vector of u32 pointers in wasm memory: [length, capacity, items...] behind one pointer.
let vec = heap.calloc(2 + 8, 4);
heap.HEAPU32[(vec >> 2) + 1] = 8;
function push(p) {
  let len = heap.HEAPU32[vec >> 2];
  const cap = heap.HEAPU32[(vec >> 2) + 1];
  if (len === cap) {
    const grown = heap.realloc(vec, (2 + cap * 2) * 4);
    if (grown === 0) throw new Error('out of memory');
    vec = grown;
    heap.HEAPU32[(vec >> 2) + 1] = cap * 2;
  }
  heap.HEAPU32[(vec >> 2) + 2 + len] = p;
  heap.HEAPU32[vec >> 2] = len + 1;
}
const items = () => heap.HEAPU32.subarray((vec >> 2) + 2, (vec >> 2) + 2 + heap.HEAPU32[vec >> 2]);

const pagesBefore = heap.memory.buffer.byteLength / 65536;
let x = 12345;
for (let i = 0; i < count; i++) {
  x = (x * 1103515245 + 12345) >>> 0; // a fixed pseudo-random sequence: the output never changes
  push(intern(`entry ${String(x % 100000).padStart(5, '0')} ${'·'.repeat(x % 40)}`));
}
const sorted = Array.from(items()).sort((a, b) => (read(a) < read(b) ? -1 : read(a) > read(b) ? 1 : a - b));
items().set(sorted);

console.log(`interned ${count} strings; memory grew from ${pagesBefore} to ${heap.memory.buffer.byteLength / 65536} pages`);
console.log(`first: ${read(items()[0]).slice(0, 11)}  last: ${read(items()[count - 1]).slice(0, 11)}`);

// Free every other string, then compact the vector.
const kept = [];
items().forEach((p, i) => (i % 2 ? heap.free(p) : kept.push(p)));
items().set(kept);
heap.HEAPU32[vec >> 2] = kept.length;

const s = heap.stats();
console.log(`after freeing half: ${s.liveBlocks} live blocks, ${s.bytesInUse} bytes in use (peak ${s.peakBytesHeld})`);
console.log(`allocator calls: ${s.mallocCalls} malloc, ${s.reallocCalls} realloc, ${s.freeCalls} free; memory.grow ${s.growCalls}x`);
console.log(`heap check: ${heap.check() === 0 ? 'ok' : `FAILED (code ${heap.check()})`}`);

for (const p of items()) heap.free(p);
heap.free(vec);
console.log(`after freeing everything: ${heap.stats().liveBlocks} live blocks`);
