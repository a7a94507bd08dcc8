// The threads build with real threads (Node's worker_threads, each with its own allocator
// instance over one shared memory), through the bindings' runThreads:
//   - the stress (tests/lib/threads-stress.js): N workers x M random allocations and frees of
//     mixed sizes, a share passed to other workers through a queue in shared memory and freed
//     (or reallocated) there, contents checked, a shadow map in shared memory that catches any
//     block live twice; afterwards every heap's check passes and nearly all memory is one block;
//   - lock reuse: one worker holds heap.lock() across several allocations while another waits
//     for it, and gets it only after the release (and the same from C: tests/threads/lock.c);
//   - per-thread OOM handlers from JS and from C (bindings/c/ralloc_import.c);
//   - a C kernel built with -matomics -mbulk-memory and a shared imported memory, run in four
//     workers on one heap, blocks passing between them through a ring in its static data;
//   - ralloc-wasm/assembly in a module built for threads (tests/threads/library.ts), one
//     instance per worker: blocks crossing threads, lock reuse, per-thread OOM handlers;
//   - what the bindings refuse: a shared memory on a single-thread build and the reverse.
// The longer soak of the same stress is scripts/soak-threads.js (npm run soak:threads).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { bindings, ROOT } from './lib/dist.js';
import { runStress } from './lib/threads-stress.js';
import { compileAS } from './lib/ascompile.js';

const { createHeap, runThreads, instantiateProgram, compileC, C_DIR } = bindings;

/** Asserts one stress run found nothing wrong, and returns its summary for the log. */
function assertClean(r, label) {
  for (const w of r.workers) {
    assert.deepEqual(w.errors, [], `${label}: worker ${w.index}`);
    assert.equal(w.check, 0, `${label}: worker ${w.index}'s ralloc_check`);
    assert.ok(w.allocs > 0 && w.frees > 0, `${label}: worker ${w.index} did work`);
  }
  assert.ok(r.workers.reduce((n, w) => n + w.received, 0) > 0, `${label}: blocks went from one worker to another`);
  assert.ok(r.workers.reduce((n, w) => n + w.moved, 0) > 0, `${label}: another thread's blocks were reallocated`);
  assert.equal(r.after.check, 0, `${label}: ralloc_check after every worker exited`);
  const mibs = Math.floor(r.after.pagesBefore / 16);
  assert.ok(r.after.mib >= mibs - 4, `${label}: after everything was freed, ${r.after.mib} blocks of 1 MiB fit in the ${mibs} MiB of memory (at least ${mibs - 4})`);
  assert.equal(r.after.finalCheck, 0, `${label}: ralloc_check at the end`);
  return `${r.workers.map((w) => `${w.allocs}/${w.sent}/${w.received}`).join(' ')}; peak ${(r.peakLive / 1048576).toFixed(1)} MiB live in ${r.after.pagesBefore} pages, ${r.after.mib} MiB reused`;
}

describe('the threads build under worker threads', () => {
  it('stress: 4 workers x 60,000 random operations, a third of the blocks freed by another worker, four seeds', async (t) => {
    for (const seed of [1, 2, 3, 4]) {
      const r = await runStress(bindings, { threads: 4, ops: 60000, seed });
      t.diagnostic(`seed ${seed}: ${assertClean(r, `seed ${seed}`)}`);
    }
  });

  it('stress: 2 and 3 workers, without the global part\'s large blocks and with more of them', async (t) => {
    for (const [threads, largeEvery, seed] of [[2, 0, 5], [3, 10, 6], [2, 2, 7]]) {
      const r = await runStress(bindings, { threads, ops: 60000, seed, largeEvery });
      t.diagnostic(`${threads} workers, large ${largeEvery}/1000: ${assertClean(r, `${threads} workers, seed ${seed}`)}`);
    }
  });

  it('lock reuse: heap.lock() is held across its allocations (another worker waits) and released after', async () => {
    const heap = createHeap({ build: 'threads' });
    const sync = new SharedArrayBuffer(16); // [0] holder has the lock, [1] holder is releasing
    const { results } = await runThreads({
      threads: 2, heap: heap.threadOptions(), data: sync,
      run: ({ heap, index, data }) => {
        const s = new Int32Array(data);
        // the global lock's word: the hub's first word, at the heap base (assembly/heaps/hub.ts); 2 while a thread waits
        const word = ((heap.heapBase ?? 0) + 15) >>> 2 & ~3;
        if (index === 0) {
          const lock = heap.lock();
          Atomics.store(s, 0, 1);
          Atomics.notify(s, 0);
          const blocks = [];
          for (let k = 0; k < 16; k++) blocks.push(lock.alloc(100 + 1000 * k, k % 2 ? 64 : 16));
          // hold it until the other worker waits for it (it marked the word), however late it comes
          const until = Date.now() + 20000;
          while (Atomics.load(new Int32Array(heap.memory.buffer), word) !== 2 && Date.now() < until);
          const sawWaiter = Atomics.load(new Int32Array(heap.memory.buffer), word) === 2;
          const held = heap.allocatorFunction('ralloc_lock_held')();
          Atomics.store(s, 1, 1);
          lock.release();
          const after = heap.allocatorFunction('ralloc_lock_held')();
          for (const p of blocks) heap.free(p);
          return { blocks, held, after, sawWaiter, aligned: blocks.every((p, k) => p % (k % 2 ? 64 : 16) === 0) };
        }
        Atomics.wait(s, 0, 0); // until worker 0 holds the lock
        const lock = heap.lock(); // waits (memory.atomic.wait32) until worker 0 releases
        const releasedFirst = Atomics.load(s, 1);
        const p = lock.alloc(5000);
        lock.free(p);
        lock.release();
        return { releasedFirst, p };
      },
    });
    const [holder, waiter] = results;
    assert.equal(holder.held, 1, 'worker 0 held the lock through its allocations');
    assert.equal(holder.sawWaiter, true, 'and saw worker 1 waiting for it');
    assert.equal(holder.after, 0, 'and not after release()');
    assert.ok(holder.blocks.every((p) => p !== 0) && new Set(holder.blocks).size === 16 && holder.aligned);
    assert.equal(waiter.releasedFirst, 1, 'worker 1 got the lock only once worker 0 was releasing it');
    assert.notEqual(waiter.p, 0);
    assert.equal(heap.check(), 0);
    // a released handle is dead; lock() on a build without threads says why
    const lock = heap.lock();
    lock.release();
    assert.throws(() => lock.alloc(16), { code: 'E_BAD_OPTION' });
    assert.throws(() => createHeap({ build: 'release' }).lock(), { code: 'E_UNSUPPORTED' });
  });

  it('lock reuse from C: ralloc_lock / ralloc_locked_alloc / ralloc_unlock, another thread blocked meanwhile', async () => {
    const { wasm } = await compileC({ sources: { 'lock.c': readFileSync(`${ROOT}tests/threads/lock.c`, 'utf8') }, mode: 'threads', exports: ['run'] });
    const { results } = await runThreads({ threads: 2, program: wasm, export: 'run', passIndex: true });
    assert.deepEqual(results, [0, 0], 'thread 0 saw thread 1 waiting for the lock, and thread 1 got it only once thread 0 was letting it go');
  });

  it('per-thread OOM handlers from JS: a worker\'s own handler overrides the global one for that worker only', async () => {
    const heap = createHeap({ build: 'threads', maximumPages: 256 }); // 16 MiB at most
    const counts = new SharedArrayBuffer(8); // [0] global handler calls, [1] worker 1's own
    const { results } = await runThreads({
      threads: 3, heap: heap.threadOptions(), data: counts,
      run: ({ heap, index, data }) => {
        const c = new Int32Array(data);
        heap.onOom = () => { Atomics.add(c, 0, 1); return false; };
        if (index === 1) heap.setThreadOomHandler(() => { Atomics.add(c, 1, 1); return false; });
        const huge = heap.malloc(64 << 20); // more than the memory's maximum
        const small = heap.malloc(100);
        heap.free(small);
        return { huge, small };
      },
    });
    for (const r of results) {
      assert.equal(r.huge, 0);
      assert.notEqual(r.small, 0);
    }
    assert.deepEqual([...new Int32Array(counts)], [2, 1], 'workers 0 and 2 asked the global handler, worker 1 its own');
  });

  it('per-thread OOM handlers from C: ralloc_set_thread_oom_handler in one thread, ralloc_set_oom_handler for all', async () => {
    const { wasm } = await compileC({
      sources: { 'oom.c': readFileSync(`${ROOT}tests/threads/oom.c`, 'utf8'), 'ralloc_import.c': readFileSync(`${C_DIR}ralloc_import.c`) },
      mode: 'threads', exports: ['setup', 'run', 'calls'],
    });
    const memory = new WebAssembly.Memory({ initial: 2, maximum: 16384, shared: true });
    const main = await instantiateProgram(wasm, { build: 'threads', memory });
    assert.equal(main.instance.exports.setup(), 0);
    const { results } = await runThreads({
      threads: 3, program: wasm, export: 'run', passIndex: true,
      heap: { build: 'threads', memory, heapBase: main.heap.heapBase },
    });
    assert.deepEqual(results, [0, 0, 0], 'every thread: the huge request failed with ENOMEM, a small one succeeded');
    const calls = main.instance.exports.calls() >>> 0;
    assert.deepEqual([calls & 0xffff, calls >>> 16], [2, 1], 'threads 1 and 2 asked the global handler, thread 0 its own');
  });

  it('a C kernel (-matomics -mbulk-memory, shared imported memory) in 4 workers on one heap', async () => {
    const { wasm, command } = await compileC({
      sources: { 'kernel.c': readFileSync(`${ROOT}tests/threads/kernel.c`, 'utf8') },
      mode: 'threads', exports: ['work', 'drain'],
    });
    assert.ok(command.includes('-matomics') && command.includes('-mbulk-memory') && command.includes('-Wl,--shared-memory'));
    const shared = WebAssembly.Module.imports(new WebAssembly.Module(wasm)).find((i) => i.kind === 'memory');
    assert.equal(shared.name, 'memory');
    for (const seed of [1, 2]) {
      const r = await runThreads({ threads: 4, program: wasm, export: 'work', args: [seed, 40000], passIndex: true });
      assert.deepEqual(r.results, [0, 0, 0, 0], 'no thread found a block with wrong contents, no malloc failed');
      // this thread, on the same memory: what is left in the ring is freed here, then every heap is checked
      const main = await instantiateProgram(wasm, { build: 'threads', memory: r.heap.memory });
      const left = main.instance.exports.drain();
      assert.ok(left >= 0 && left <= 1024);
      assert.equal(main.heap.check(), 0);
    }
  });

  it('AssemblyScript: ralloc-wasm/assembly built for threads, an instance per worker (blocks crossing, lock reuse, OOM handlers)', async () => {
    const wasm = await compileAS(`${ROOT}tests/threads/library.ts`, [
      '--use', 'RALLOC_THREADS=1', '--use', 'RALLOC_MODULE=1', '--use', 'RALLOC_HOOKS=0', '--runtime', 'stub', '--importMemory',
      '--sharedMemory', '--initialMemory', '2', '--maximumMemory', '16384', '--enable', 'threads', '-O3', '--noAssert',
    ]);
    const HEAP_BASE = 65536; // above the module's static data; the ring (1 KiB) below it
    const RING = 32768;
    const memory = new WebAssembly.Memory({ initial: 2, maximum: 16384, shared: true });
    const instantiate = (bytes, mem) => new WebAssembly.Instance(new WebAssembly.Module(bytes), {
      env: { memory: mem, abort: () => { throw new Error('abort'); } },
    }).exports;
    const main = instantiate(wasm, memory);
    assert.equal(main.ralloc_init(HEAP_BASE), 0);
    main.setGlobalHandler();
    const sync = new SharedArrayBuffer(8);
    const { results } = await runThreads({
      threads: 4, data: { wasm, memory, HEAP_BASE, RING, sync },
      run: ({ index, data }) => {
        const x = new WebAssembly.Instance(new WebAssembly.Module(data.wasm), {
          env: { memory: data.memory, abort: () => { throw new Error('abort'); } },
        }).exports;
        if (x.ralloc_init(data.HEAP_BASE) !== 0) return { error: 'ralloc_init' };
        const bad = x.work(data.RING, 11, 30000, index);
        const s = new Int32Array(data.sync);
        let lock = {};
        if (index === 0) { // holds the lock until worker 1 waits for it (the lock's word, at the heap base, says 2)
          const ok = x.lockAndAlloc(8);
          Atomics.store(s, 0, 1);
          Atomics.notify(s, 0);
          const until = Date.now() + 20000;
          while (Atomics.load(new Int32Array(data.memory.buffer), data.HEAP_BASE >>> 2) !== 2 && Date.now() < until);
          const sawWaiter = Atomics.load(new Int32Array(data.memory.buffer), data.HEAP_BASE >>> 2) === 2 ? 1 : 0;
          Atomics.store(s, 1, 1);
          lock = { ok, sawWaiter, released: x.unlockNow(), again: x.unlockNow() };
        } else if (index === 1) {
          Atomics.wait(s, 0, 0);
          const ok = x.lockAndAlloc(4); // blocks until worker 0 unlocks
          lock = { ok, releasedFirst: Atomics.load(s, 1), released: x.unlockNow() };
        }
        const oom = x.oom(index) >>> 0;
        return { bad, check: x.check(), lock, oom, exit: x.threadExit() >= 0 };
      },
    });
    for (const [i, r] of results.entries()) {
      assert.equal(r.bad, 0, `worker ${i}: every block kept its contents`);
      assert.equal(r.check, 0, `worker ${i}: check`);
      assert.deepEqual([r.oom & 0xffff, r.oom >>> 16], i === 0 ? [0, 1] : [1, 0], `worker ${i}: ${i === 0 ? 'its own' : 'the global'} OOM handler`);
    }
    assert.deepEqual(results[0].lock, { ok: 1, sawWaiter: 1, released: 1, again: 0 }); // (bools come back as 1 and 0)
    assert.equal(results[1].lock.ok, 1);
    assert.equal(results[1].lock.releasedFirst, 1, 'worker 1 got the lock only after worker 0 let it go');
    assert.ok(main.drain(RING) <= 256);
    assert.equal(main.check(), 0);
  });

  it('refuses to mix: a shared memory on a single-thread build, a plain memory on the threads build', () => {
    const shared = new WebAssembly.Memory({ initial: 1, maximum: 16, shared: true });
    assert.throws(() => createHeap({ build: 'release', memory: shared }), { code: 'E_BAD_OPTION' });
    assert.throws(() => createHeap({ build: 'threads', memory: new WebAssembly.Memory({ initial: 1 }), heapBase: 1024 }), { code: 'E_BAD_OPTION' });
    assert.throws(() => createHeap({ build: 'threads', memory: shared }), { code: 'E_BAD_OPTION', message: /heapBase/ });
    const heap = createHeap({ build: 'threads' });
    assert.equal(heap.threadOptions().build, 'threads');
    assert.throws(() => createHeap({ build: 'release' }).threadOptions(), { code: 'E_UNSUPPORTED' });
  });

  it('ralloc_thread_exit hands a thread\'s memory back: an emptied heap goes whole, one with live blocks is adopted', async () => {
    const heap = createHeap({ build: 'threads' });
    const box = new SharedArrayBuffer(64);
    // worker 0 allocates and keeps blocks, exits (its heap is abandoned with them); worker 1 frees them
    // after, with its own heap; every heap goes back to the global part
    const { results } = await runThreads({
      threads: 1, heap: heap.threadOptions(), data: box, keepHeaps: true,
      run: ({ heap, data }) => {
        const b = new Int32Array(data);
        for (let k = 0; k < 8; k++) b[k] = heap.malloc(24 + 200 * k);
        return { left: heap.threadExit(), again: heap.threadExit() };
      },
    });
    assert.ok(results[0].left >= 1, 'the exit reported live blocks left behind');
    assert.equal(results[0].again, 0, 'a second exit has nothing to hand back');
    const second = await runThreads({
      threads: 1, heap: heap.threadOptions(), data: box,
      run: ({ heap, data }) => {
        const b = new Int32Array(data);
        for (let k = 0; k < 8; k++) heap.free(b[k] >>> 0);
        const p = heap.malloc(1000); // adopts the abandoned heap, collecting the frees
        heap.free(p);
        return { check: heap.check(), left: heap.threadExit() };
      },
      keepHeaps: true,
    });
    assert.deepEqual(second.results, [{ check: 0, left: 0 }]);
    assert.equal(heap.check(), 0);
  });
});
