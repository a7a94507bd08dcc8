// The threads build under stress, shared by tests/threads.test.js (about ten seconds) and
// scripts/soak-threads.js (as long as asked): N workers on one heap, each making `ops` random
// operations: allocations of mixed sizes (mostly small, some of pages' sizes, a few large enough
// for the global part), frees in random order, and a share of blocks handed to another worker
// through a queue in shared memory, which checks, sometimes reallocs (moving another thread's
// block), and frees them. Every block is filled with a pattern from its address and a tag, and
// checked before it is freed or moved. A shadow map in shared memory (one byte per 16-byte
// granule) is claimed with a compare-exchange for every granule a block covers when it is
// handed out and cleared before it is freed: a granule claimed twice is a block live twice.
// The worker's function is sent to the workers as source text: it uses only its context.

/** What each worker runs (runThreads' `run`): returns its counts and the first errors. */
export function stressWorker({ heap, index, data }) {
  const { shadow, queue, stat, ops, seed, largeEvery } = data;
  const sh = new Uint8Array(shadow);
  const q = new Int32Array(queue);
  const st = new Int32Array(stat);
  const QN = (q.length - 4) / 3;
  let s = (seed * 2654435761 + index * 40503 + 1) >>> 0;
  const rnd = (n) => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return (s >>> 8) % n;
  };
  const errors = [];
  const fail = (m) => { if (errors.length < 8) errors.push(`worker ${index}: ${m}`); };
  const u8 = () => heap.HEAPU8;
  const granules = (p, n) => [p >>> 4, (p + Math.max(n, 1) + 15) >>> 4];
  function claim(p, n) {
    const [g0, g1] = granules(p, n);
    if (g1 > sh.length) { fail(`block ${p} (${n} bytes) past the shadow map`); return false; }
    for (let g = g0; g < g1; g++) {
      if (Atomics.compareExchange(sh, g, 0, index + 1) !== 0) {
        fail(`block ${p} (${n} bytes) overlaps a live block of worker ${Atomics.load(sh, g) - 1} at ${g * 16}`);
        for (let h = g0; h < g; h++) Atomics.store(sh, h, 0);
        return false;
      }
    }
    const live = Atomics.add(st, 0, n) + n;
    for (let peak; (peak = Atomics.load(st, 1)) < live && Atomics.compareExchange(st, 1, peak, live) !== peak;);
    return true;
  }
  function release(p, n) {
    const [g0, g1] = granules(p, n);
    for (let g = g0; g < g1; g++) Atomics.store(sh, g, 0);
    Atomics.sub(st, 0, n);
  }
  function fill(p, n, tag) {
    const a = u8();
    for (let k = 0; k < n; k++) a[p + k] = (tag + k + (p >>> 4)) & 255;
  }
  function intact(p, n, tag, base = p) {
    const a = u8();
    for (let k = 0; k < n; k++) if (a[p + k] !== ((tag + k + (base >>> 4)) & 255)) return false;
    return true;
  }
  function size() {
    const r = rnd(1000);
    if (r < 650) return rnd(129);
    if (r < 950) return rnd(2049);
    if (r < 1000 - largeEvery) return rnd(32769);
    return 262144 + rnd(300000); // the global part's
  }
  // the queue: [head, tail, -, -] then slots of (block, size, tag); a slot's block is written
  // last and cleared by the taker, so a slot is either empty (0) or complete
  function send(p, n, tag) {
    for (;;) {
      const t = Atomics.load(q, 1), h = Atomics.load(q, 0);
      if (t - h >= QN) return false;
      const slot = 4 + (t % QN) * 3;
      if (Atomics.load(q, slot) !== 0) return false; // its last taker is not done with it
      if (Atomics.compareExchange(q, 1, t, t + 1) === t) {
        Atomics.store(q, slot + 1, n);
        Atomics.store(q, slot + 2, tag);
        Atomics.store(q, slot, p);
        return true;
      }
    }
  }
  function receive() {
    for (;;) {
      const h = Atomics.load(q, 0), t = Atomics.load(q, 1);
      if (h >= t) return undefined;
      const slot = 4 + (h % QN) * 3;
      const p = Atomics.load(q, slot);
      if (p === 0) return undefined; // claimed, not yet written
      if (Atomics.compareExchange(q, 0, h, h + 1) === h) {
        const item = [p, Atomics.load(q, slot + 1), Atomics.load(q, slot + 2)];
        Atomics.store(q, slot, 0);
        return item;
      }
    }
  }
  const mine = [];
  const counts = { allocs: 0, frees: 0, sent: 0, received: 0, moved: 0 };
  function drop([p, n, tag], base) {
    if (!intact(p, n, tag, base)) fail(`block ${p} (${n} bytes) changed while it was live`);
    release(p, n);
    heap.free(p);
    counts.frees++;
  }
  function take() {
    const item = receive();
    if (!item) return;
    counts.received++;
    const [p, n, tag] = item;
    if (rnd(4) === 0 && n > 0) {
      // another thread's block, reallocated here: its bytes move to a block of this thread
      if (!intact(p, n, tag)) fail(`received block ${p} (${n} bytes) changed`);
      const more = n + 1 + rnd(3000);
      // the block is in the allocator's hands during the call (a move frees p to its owner, which
      // may hand it out again at once): its shadow goes first, and comes back if the call fails
      release(p, n);
      const r = heap.realloc(p, more);
      if (!r) { claim(p, n); fail(`realloc of another thread's block ${p} to ${more} failed`); return; }
      if (!claim(r, more)) return;
      if (!intact(r, n, tag, p)) fail(`realloc lost the bytes of ${p} (${n} bytes, now at ${r})`);
      counts.moved++;
      release(r, more);
      heap.free(r);
      counts.frees++;
      return;
    }
    drop(item);
  }
  for (let k = 0; k < ops && errors.length === 0; k++) {
    const op = rnd(20);
    if (op < 9 || mine.length < 8) {
      const n = size();
      const p = heap.malloc(n);
      if (!p) { fail(`malloc(${n}) failed`); break; }
      if (p % 16 !== 0) fail(`malloc(${n}) = ${p}, not 16-aligned`);
      if (!claim(p, n)) break;
      const tag = rnd(256);
      fill(p, n, tag);
      mine.push([p, n, tag]);
      counts.allocs++;
    } else if (op < 14) {
      drop(mine.splice(rnd(mine.length), 1)[0]);
    } else if (op < 17) {
      const item = mine.splice(rnd(mine.length), 1)[0];
      if (send(...item)) counts.sent++;
      else drop(item);
    } else {
      take();
    }
  }
  for (const item of mine) drop(item);
  const check = heap.check();
  return { index, ...counts, check, errors };
}

/**
 * Runs the stress with the bindings given: `threads` workers, `ops` operations each. Resolves
 * to { workers (each one's counts, check and errors), peakLive (bytes), left (blocks this
 * thread took out of the queue), after: { check, pagesBefore, pagesAfter, mib, finalCheck } }
 * once the queue is drained by this thread and everything was freed; `mib` is how many 1 MiB
 * blocks the freed memory held (allocated, then freed) before it would have grown.
 */
export async function runStress(bindings, { threads = 4, ops = 20000, seed = 1, maximumPages = 4096, largeEvery = 2 } = {}) {
  const heap = bindings.createHeap({ build: 'threads', maximumPages });
  const shadow = new SharedArrayBuffer(maximumPages * 4096); // a byte per 16 bytes of memory
  const queue = new SharedArrayBuffer(4 * (4 + 3 * 4096));
  const stat = new SharedArrayBuffer(8);
  const { results } = await bindings.runThreads({
    threads, heap: heap.threadOptions(), run: stressWorker, data: { shadow, queue, stat, ops, seed, largeEvery },
  });
  // what is still in the queue: freed here (this thread owns none of it)
  const q = new Int32Array(queue);
  let left = 0;
  for (let slot = 4; slot < q.length; slot += 3) {
    const p = q[slot];
    if (p) {
      heap.free(p >>> 0);
      q[slot] = 0;
      left++;
    }
  }
  const check = heap.check();
  // reusable: the memory, all freed, holds 1 MiB blocks (blocks of the global part) for all of
  // it but a few MiB without growing (the owner map's leaves, 1 KiB blocks kept for good, may
  // split it; the heap base and the hub sit below)
  const pagesBefore = heap.memory.buffer.byteLength / 65536;
  const mib = [];
  for (let p; mib.length < pagesBefore / 16 && (p = heap.malloc(1048576 - 64)); ) {
    if (heap.memory.buffer.byteLength / 65536 !== pagesBefore) { heap.free(p); break; }
    mib.push(p);
  }
  for (const p of mib) heap.free(p);
  const pagesAfter = heap.memory.buffer.byteLength / 65536;
  return { workers: results, peakLive: new Int32Array(stat)[1], left, after: { check, pagesBefore, pagesAfter, mib: mib.length, finalCheck: heap.check() } };
}
