// Allocation patterns for the browser demo, after the benchmark's C workloads (bench/workloads/):
// each is a generator that allocates and frees on a Heap, writes into what it allocates, and
// yields every few operations so that the page can redraw the heap while it runs. The blocks
// a workload leaves live stay in `live`, for the page to show and free.

/** A deterministic pseudo-random sequence: r(n) is an integer from 0 to n - 1. */
export function rng(seed) {
  let s = seed >>> 0 || 1;
  return (n) => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s % n;
  };
}

/** Allocates `size` bytes, fills them with `tag`, records the block in `live`; throws when malloc fails. */
function take(heap, live, size, tag) {
  const p = heap.malloc(size);
  if (p === 0) throw new Error(`malloc(${size}) returned NULL: the heap is out of memory`);
  heap.HEAPU8.fill(tag & 0xff, p, p + size);
  live.set(p, size);
  return p;
}

/** Frees `p`, after checking that its first and last bytes still hold `tag` (what take wrote). */
function give(heap, live, p) {
  const size = live.get(p);
  const u8 = heap.HEAPU8;
  if (u8[p] !== u8[p + size - 1]) throw new Error(`block 0x${p.toString(16)} was overwritten`);
  live.delete(p);
  heap.free(p);
}

/** The workloads, by name: title, what one operation is, a default count, and the generator. */
export const WORKLOADS = {
  churn: {
    title: 'Churn: 400 live blocks of 16..1024 B, one freed and one allocated per step',
    ops: 2000,
    *run(heap, n, r, live) {
      const slots = [];
      for (let i = 0; i < 400; i++) slots.push(take(heap, live, 16 + r(1009), i));
      for (let i = 0; i < n; i++) {
        const k = r(slots.length);
        give(heap, live, slots[k]);
        slots[k] = take(heap, live, 16 + r(1009), i);
        if (i % 40 === 0) yield i;
      }
    },
  },
  random: {
    title: 'Random: allocate 1..10,000 B or free a random live block, coin flip',
    ops: 1500,
    *run(heap, n, r, live) {
      const held = [];
      for (let i = 0; i < n; i++) {
        if (held.length < 50 || r(2) === 0) held.push(take(heap, live, 1 + r(10000), i));
        else give(heap, live, held.splice(r(held.length), 1)[0]);
        if (i % 30 === 0) yield i;
      }
    },
  },
  realloc: {
    title: 'Realloc: 8 buffers grown by realloc in 1..64 B steps, restarted past 4..64 KiB',
    ops: 3000,
    *run(heap, n, r, live) {
      const bufs = Array.from({ length: 8 }, (_, i) => ({ p: take(heap, live, 16, i), len: 16, cap: 4096 << r(5) }));
      for (let i = 0; i < n; i++) {
        const b = bufs[r(8)];
        const len = b.len + 1 + r(64);
        if (len > b.cap) {
          give(heap, live, b.p);
          Object.assign(b, { p: take(heap, live, 16, i), len: 16, cap: 4096 << r(5) });
        } else {
          const q = heap.realloc(b.p, len);
          if (q === 0) throw new Error(`realloc(${len}) returned NULL`);
          live.delete(b.p);
          heap.HEAPU8.fill(heap.HEAPU8[q], q + b.len, q + len);
          live.set(q, len);
          Object.assign(b, { p: q, len });
        }
        if (i % 60 === 0) yield i;
      }
    },
  },
  fragment: {
    title: 'Fragment: rounds of 200 blocks of 16..64 B, every other freed, larger ones allocated',
    ops: 1200,
    *run(heap, n, r, live) {
      const rounds = [];
      for (let i = 0; i < n;) {
        const round = [];
        for (let k = 0; k < 200 && i < n; k++, i++) round.push(take(heap, live, 16 + r(49), i));
        for (let k = 0; k < round.length; k += 2) give(heap, live, round[k]);
        const kept = round.filter((_, k) => k % 2 === 1);
        for (let k = 0; k < 100 && i < n; k++, i++) kept.push(take(heap, live, 24 + r(57), i));
        rounds.push(kept);
        if (rounds.length > 3) for (const p of rounds.shift()) give(heap, live, p);
        yield i;
      }
    },
  },
  trees: {
    title: 'Trees: binary trees of 12-byte nodes (two child pointers and a value) built, checked and freed',
    ops: 3000,
    *run(heap, n, r, live) {
      const build = (depth) => {
        const node = take(heap, live, 12, depth);
        const left = depth > 0 ? build(depth - 1) : 0;
        const right = depth > 0 ? build(depth - 1) : 0;
        const v = new DataView(heap.memory.buffer);
        v.setUint32(node, left, true); v.setUint32(node + 4, right, true); v.setUint32(node + 8, depth, true);
        return node;
      };
      const drop = (node) => {
        const v = new DataView(heap.memory.buffer);
        const left = v.getUint32(node, true), right = v.getUint32(node + 4, true);
        live.delete(node);
        heap.free(node);
        if (left) drop(left);
        if (right) drop(right);
      };
      build(7); // a long-lived tree, left live for the map
      for (let i = 0; i < n;) {
        const depth = 2 + r(6);
        const t = build(depth);
        i += (2 << depth) - 1;
        drop(t);
        yield i;
      }
    },
  },
  pairs: {
    title: 'Pairs: malloc(32) and its free, again and again',
    ops: 5000,
    *run(heap, n, r, live) {
      for (let i = 0; i < n; i++) {
        give(heap, live, take(heap, live, 32, i));
        if (i % 500 === 0) yield i;
      }
    },
  },
};
