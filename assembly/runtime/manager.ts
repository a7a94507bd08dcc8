// manager.ts — ralloc-wasm as the memory manager of AssemblyScript's runtime: the globals
// __alloc, __realloc and __free that the collector (~lib/rt/itcms or ~lib/rt/tcms, from the
// installed compiler) and `heap.alloc`/`heap.realloc`/`heap.free` call, over the global heap.
// The runtime files (incremental.ts, minimal.ts) import it by the package's name, so that a
// program importing "ralloc-wasm/assembly" reaches the same heap, not a copy of it.
//
// The collector reads the u32 just below each pointer __alloc returns (its mmInfo word) as the
// bytes usable there, low 2 bits masked: it adds them up, and grows an object in place while
// the new size fits. ralloc-wasm's own header cannot serve: a page object (release) has none,
// and a general block's counts its header too, 4 bytes more than it holds. So the word is the
// manager's own, in one of two forms (m: the request rounded up to 4):
//
//   an object of a page (release, m + 4 <= 1 KiB): class ⌈(m + 4) / 16⌉, the pointer is the object
//          o - 4       o (the runtime's pointer)                     o + 16·c - 4   o + 16·c
//   ─────┬──────────┬────────────────────────────────────────────┬────────────┬─ ─ ─
//    …   │ mmInfo   │ m bytes, then unused                        │ (the next  │ next
//        │          │                                             │ object's   │ object
//        │          │                                             │ mmInfo)    │
//   ─────┴──────────┴────────────────────────────────────────────┴────────────┴─ ─ ─
//   The word below an object is the last word of the object before it, which no object uses
//   (each is asked for 4 bytes more than it holds), or for a page's first object 4 bytes kept
//   clear after the page's flags (small/page.ts). So the block costs what AssemblyScript's TLSF
//   gives the same request: its 4-byte header plus the request, rounded up to 16. This holds
//   only while every object of the global heap's pages is the runtime's: the library's own
//   malloc family is refused at compile time in this mode (index.ts, entry/cells.ts).
//
//   a general block (larger requests; every request in the guarded builds): p from malloc
//    p                          p + 12     p + 16 (the runtime's pointer)          p + 16 + m
//   ┌──────────────────────────┬──────────┬─────────────────────────────────────────┐
//   │ unused (12 bytes)        │ mmInfo   │ m bytes                                  │
//   └──────────────────────────┴──────────┴─────────────────────────────────────────┘
//   16 bytes more than malloc(m): ≤ 1.6% of a block this large; in the guarded builds the
//   guard follows the m bytes, so a write past them is found.
//
//   the mmInfo word
//    31                                                   2   1   0
//   ┌──────────────────────────────────────────────────────┬───┬───┐
//   │ m: the bytes usable at the pointer, a multiple of 4   │ 0 │ 1 │
//   └──────────────────────────────────────────────────────┴───┴───┘
//   Bit 0 is ralloc-wasm's FREE (base/block.ts): read as a header, as a stray free(p + 16)
//   (heap.free given a managed object) reads it, the word says "already free" and the release
//   build ignores that free; the collector masks both bits away.
//
// Which form a pointer has is where it lies: in a page (the global heap's page table), an
// object; elsewhere, a general block 16 bytes below. The last 4 of the m bytes read zero when
// handed out (all of them under the minimal collector: the standard library, told by asc that a
// runtime given as a path is incremental, does not zero new arrays itself), so an object the
// collector grows in place up to m shows zeros, never old data.

import { RUNTIME, RUNTIME_MINIMAL, RUNTIME_INCREMENTAL, PAGES } from "../base/config";
import { PAGE_MAX, pagePop, pageOfMirrored, pagePush, objectLive, objectSize } from "../small/page";
import { globalHeapRoot } from "../heaps/global";
import { malloc, realloc, free, malloc_usable_size } from "../entry/cabi";
import { BLOCK_MAXSIZE } from "~lib/rt/common";
import { E_ALLOCATION_TOO_LARGE } from "~lib/util/error";

/** Bytes of the mmInfo word. */
const WORD: usize = 4;
/** Bytes from a general block's start to the runtime's pointer. */
const PREFIX: usize = 16;
/** Low bits of the mmInfo word: FREE, so a stray free of a general block's interior is ignored. */
const TAG: u32 = 1;
/** Whether all of the m bytes must read zero (under the minimal collector). */
const ZEROED: bool = RUNTIME == RUNTIME_MINIMAL;

/** The request rounded up to 4: what the mmInfo word holds. O(1). */
@inline function rounded(size: usize): usize {
  return (size + 3) & ~3;
}

/** Writes the mmInfo word of m bytes below ptr and zeroes what must read zero (the last word;
 *  all m bytes under the minimal collector); returns ptr. O(1); O(m) under the minimal one. */
@inline function tagged(ptr: usize, m: usize): usize {
  store<u32>(ptr - WORD, <u32>m | TAG);
  if (ZEROED) memory.fill(ptr, 0, m);
  else if (m) store<u32>(ptr + m - WORD, 0);
  return ptr;
}

/** Whether p, a block or object from malloc, is an object of one of the global heap's pages. O(1). */
@inline function inPage(p: usize): bool {
  return PAGES && pageOfMirrored(p) != 0;
}

/** The runtime's pointer for p, a block or object of at least m + 16 bytes from malloc. O(1). */
@inline function adopted(p: usize, m: usize): usize {
  return tagged(inPage(p) ? p : p + PREFIX, m);
}

/** Memory ran out for a block of n bytes: under the incremental collector, a full collection
 *  and one more try (a collection may run at any allocation there); else, or when that fails
 *  too, the program stops with a message. O(live objects) for the collection; out of line: the
 *  cold path. */
function afterCollection(n: usize): usize {
  if (RUNTIME == RUNTIME_INCREMENTAL) {
    __collect();
    let p = malloc(n);
    if (p) return p;
  }
  abort("ralloc-wasm: out of memory");
  return 0;
}

/** __alloc past a page's pop: the object from malloc when it is one (a class with enough asks
 *  gets its page here), else a general block of m + 16 bytes (or an object of the class that
 *  holds them). Out of line, so __alloc stays small enough to inline. O(1), plus growth. */
function allocSlow(m: usize): usize {
  if (PAGES && m + WORD <= PAGE_MAX) {
    let o = malloc(m + WORD);
    if (o && inPage(o)) return tagged(o, m);
    if (o) free(o); // a general block: the class has not asked often enough for a page yet
  }
  let p = malloc(m + PREFIX);
  if (!p) p = afterCollection(m + PREFIX);
  return adopted(p, m);
}

/** The runtime's allocation: `size` bytes at a multiple of 16, described by the mmInfo word
 *  below them. Throws for more than AssemblyScript's largest block; stops the program with a
 *  message when memory runs out. O(1), plus growth; a page's pop is inlined here. */
// @ts-ignore: decorator
@global @unsafe export function __alloc(size: usize): usize {
  if (size > BLOCK_MAXSIZE) throw new Error(E_ALLOCATION_TOO_LARGE);
  let m = rounded(size);
  if (PAGES && m + WORD <= PAGE_MAX) {
    let r = globalHeapRoot();
    if (r) {
      let o = pagePop(r, (m + WORD + 15) >> 4);
      if (o) return tagged(o, m);
    }
  }
  return allocSlow(m);
}

/** The allocation at ptr now holds m bytes where it is: its mmInfo word, and the bytes past the
 *  old size read zero as __alloc's do. Returns ptr. O(1); O(growth) under the minimal collector. */
function resized(ptr: usize, m: usize): usize {
  let old = <usize>load<u32>(ptr - WORD) & ~3;
  store<u32>(ptr - WORD, <u32>m | TAG);
  if (m > old) {
    if (ZEROED) memory.fill(ptr + old, 0, m - old);
    else store<u32>(ptr + m - WORD, 0);
  }
  return ptr;
}

/** Moves the allocation at ptr into a new one of `size` bytes (m rounded), keeping its bytes.
 *  O(1) + copy. */
function moved(ptr: usize, size: usize, m: usize): usize {
  let q = __alloc(size);
  memory.copy(q, ptr, min<usize>(<usize>load<u32>(ptr - WORD) & ~3, m));
  __free(ptr);
  return q;
}

/** heap.realloc was given a pointer heap.alloc did not return (release: the guarded builds name
 *  it exactly before this): stops the program. O(1). */
function notAllocated(): void {
  abort("ralloc-wasm: heap.realloc of a pointer heap.alloc did not return");
}

/** realloc could not resize the general block below ptr to m + 16 bytes: stops for a pointer
 *  heap.alloc did not return, else moves the block (its mmInfo word with it) into one found
 *  after a collection. Returns the new block. O(live objects) + copy; out of line: the cold path. */
function reallocFailed(ptr: usize, m: usize): usize {
  if (!malloc_usable_size(ptr - PREFIX)) notAllocated();
  let q = afterCollection(m + PREFIX);
  memory.copy(q + PREFIX - WORD, ptr - WORD, WORD + min<usize>(<usize>load<u32>(ptr - WORD) & ~3, m));
  free(ptr - PREFIX);
  return q;
}

/** Resizes the runtime's allocation at ptr (0: allocates) to `size` bytes: in place while it
 *  fits, else by moving; keeps its bytes, and bytes past them read zero as __alloc's do. A
 *  general block too large for a page is resized by realloc (in place when it can, with room to
 *  grow). Stops the program with a message for a pointer __alloc did not return and when memory
 *  runs out. O(1) + copy. */
// @ts-ignore: decorator
@global @unsafe export function __realloc(ptr: usize, size: usize): usize {
  if (!ptr) return __alloc(size);
  if (size > BLOCK_MAXSIZE) throw new Error(E_ALLOCATION_TOO_LARGE);
  let m = rounded(size);
  if (PAGES && globalHeapRoot()) {
    let pg = pageOfMirrored(ptr);
    if (pg) {
      if (!objectLive(pg, ptr)) notAllocated();
      return m + WORD <= objectSize(pg) ? resized(ptr, m) : moved(ptr, size, m);
    }
  }
  if (!PAGES || m + PREFIX > PAGE_MAX) { // (realloc could move a smaller block into a page)
    let q = realloc(ptr - PREFIX, m + PREFIX); // the guarded builds name a bad pointer exactly
    if (!q) q = reallocFailed(ptr, m);
    return resized(q + PREFIX, m);
  }
  let usable = malloc_usable_size(ptr - PREFIX);
  if (!usable) notAllocated();
  return m + PREFIX <= usable ? resized(ptr, m) : moved(ptr, size, m);
}

/** Frees the runtime's allocation at ptr; 0 is ignored. A pointer __alloc did not return is
 *  ignored by the release build and named exactly by the guarded builds: a managed object's own
 *  address, given to heap.free, lies 16 bytes inside its allocation. O(1); a page's push is
 *  inlined here. */
// @ts-ignore: decorator
@global @unsafe export function __free(ptr: usize): void {
  if (!ptr) return;
  if (PAGES) {
    let r = globalHeapRoot();
    if (!r) return; // nothing was ever allocated
    let pg = pageOfMirrored(ptr);
    if (pg) {
      pagePush(r, pg, ptr);
      return;
    }
  }
  free(ptr - PREFIX);
}
