// JS bindings: createHeap / Heap, instantiateProgram (WAT and C programs), the Emscripten-like
// Module surface, and the errors for bad input (issue 4, items 2, 3, 6 and "Bad input").
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { ROOT, bindings, wat, rejectsWith } from './lib/dist.js';

const { createHeap, instantiateProgram, runProgram, compileC, RallocError, BUILD_NAMES, STATS_SCRATCH } = bindings;

// A bump allocator with the C ABI names, to stand for a custom allocator (no stats).
const BUMP_ALLOCATOR = wat(`(module
  (import "env" "memory" (memory 0))
  (global $top (mut i32) (i32.const 0))
  (func (export "malloc") (param $n i32) (result i32)
    (local $p i32)
    (if (i32.eqz (global.get $top)) (then (global.set $top (i32.mul (memory.size) (i32.const 65536)))))
    (local.set $p (global.get $top))
    (global.set $top (i32.and (i32.add (i32.add (local.get $p) (local.get $n)) (i32.const 31)) (i32.const -16)))
    (if (i32.gt_u (global.get $top) (i32.mul (memory.size) (i32.const 65536)))
      (then (drop (memory.grow (i32.add (i32.shr_u (i32.sub (global.get $top) (i32.mul (memory.size) (i32.const 65536))) (i32.const 16)) (i32.const 1))))))
    (local.get $p))
  (func (export "free") (param i32)))`);

describe('createHeap', () => {
  for (const build of BUILD_NAMES) {
    test(`${build}: the malloc family works through the Heap methods`, () => {
      const heap = createHeap({ build });
      const a = heap.malloc(100);
      const b = heap.malloc(100);
      assert.ok(a >= 128 && b >= 128, 'blocks are above the heap base');
      assert.notEqual(a, b);
      assert.equal(a % 16, 0);
      assert.ok(heap.usableSize(a) >= 100);
      assert.equal(heap.usableSize(0), 0);
      heap.HEAPU8.fill(0xab, a, a + 100);
      const c = heap.realloc(a, 5000);
      assert.ok(c !== 0);
      assert.ok(heap.HEAPU8.subarray(c, c + 100).every((x) => x === 0xab), 'realloc keeps the contents');
      const z = heap.calloc(10, 100);
      assert.ok(heap.HEAPU8.subarray(z, z + 1000).every((x) => x === 0), 'calloc memory reads zero');
      assert.equal(heap.calloc(0x10000, 0x10000), 0, 'calloc overflow gives 0');
      const al = heap.alignedAlloc(256, 10);
      assert.equal(al % 256, 0);
      assert.equal(heap.alignedAlloc(24, 10), 0, 'alignment not a power of two');
      assert.equal(heap.malloc(0xffffffff), 0, 'impossible size gives 0');
      assert.equal(heap.realloc(b, 0), 0, 'realloc(p, 0) frees p');
      for (const p of [c, z, al]) heap.free(p);
      heap.free(0);
      assert.equal(heap.check(), 0);
      const s = heap.stats();
      assert.equal(s.size, 64);
      assert.equal(s.version, 1);
      assert.equal(s.liveBlocks, 0);
      assert.equal(s.bytesInUse, 0);
      assert.equal(s.heapBase, 128);
      // malloc x2 + 1 that fails, calloc x1, aligned_alloc x1 reach the allocator (the bad calloc
      // and alignment are answered by the Heap itself); whether a failed call counts is the allocator's.
      assert.ok(s.mallocCalls === 4 || s.mallocCalls === 5, `mallocCalls ${s.mallocCalls}`);
      assert.ok(s.reallocCalls >= 1 && s.freeCalls >= 3, JSON.stringify(s));
    });
  }

  test('stats() changes nothing: not the counters, not the bytes it borrows below the heap', () => {
    const heap = createHeap();
    const p = heap.malloc(40);
    const pattern = Uint8Array.from({ length: 128 }, (_, i) => (i * 7 + 3) & 255);
    heap.HEAPU8.set(pattern, 0);
    const s1 = heap.stats();
    const s2 = heap.stats();
    assert.deepEqual(s1, s2);
    assert.deepEqual(heap.HEAPU8.slice(0, 128), pattern, `[${STATS_SCRATCH}, +64) is restored`);
    assert.equal(s1.liveBlocks, 1);
    assert.equal(s1.mallocCalls, 1);
    assert.equal(s1.bytesInUse, heap.usableSize(p));
  });

  test('the HEAP views are never stale after memory grows', () => {
    const heap = createHeap({ initialPages: 1 });
    const before = heap.HEAPU8;
    const p = heap.malloc(4 << 20);
    assert.ok(p !== 0);
    assert.equal(before.length, 0, 'the old buffer was detached by the grow');
    assert.ok(heap.HEAPU8.length >= p + (4 << 20));
    heap.HEAP32[(p + (4 << 20) - 4) >> 2] = -5;
    assert.equal(heap.HEAPU32[(p + (4 << 20) - 4) >> 2], 0xfffffffb);
    heap.HEAPF64[p >> 3] = 1.5;
    assert.equal(heap.HEAPF32[(p >> 2) + 1], 1.9375);
    for (const name of ['HEAP8', 'HEAPU8', 'HEAP16', 'HEAPU16', 'HEAP32', 'HEAPU32', 'HEAPF32', 'HEAPF64']) {
      assert.equal(heap[name].buffer, heap.memory.buffer, `${name} views the current buffer`);
    }
  });

  test('several heaps live side by side, each with its own memory and counters', () => {
    const h1 = createHeap({ build: 'release' });
    const h2 = createHeap({ build: 'debug' });
    assert.notEqual(h1.memory, h2.memory);
    const ps = [h1.malloc(10), h1.malloc(20), h1.malloc(30)];
    const q = h2.malloc(10);
    assert.equal(h1.stats().liveBlocks, 3);
    assert.equal(h2.stats().liveBlocks, 1);
    h2.free(q);
    assert.equal(h1.stats().liveBlocks, 3);
    for (const p of ps) h1.free(p);
    assert.equal(h1.check() + h2.check(), 0);
  });

  test('over a given memory the heap starts at its end (or at heapBase) and leaves what is below alone', () => {
    const memory = new WebAssembly.Memory({ initial: 2 });
    const mine = new Uint8Array(memory.buffer, 0, 131072);
    mine.fill(0x5a);
    const heap = createHeap({ memory });
    const ptrs = [];
    for (let i = 0; i < 200; i++) ptrs.push(heap.malloc(1000 + i * 37));
    assert.ok(ptrs.every((p) => p >= 131072), 'every block lies above the given memory');
    assert.ok(new Uint8Array(memory.buffer, 0, 131072).every((x) => x === 0x5a), 'data below the heap untouched');
    assert.equal(heap.stats().heapBase, 131072);

    const memory2 = new WebAssembly.Memory({ initial: 1 });
    const heap2 = createHeap({ memory: memory2, heapBase: 4096 });
    const p = heap2.malloc(10);
    assert.ok(p >= 4096 && p < 65536);
    assert.equal(heap2.heapBase, 4096);
  });

  test('maximumPages caps memory; onOom is called with the size and may free and retry', () => {
    const calls = [];
    let spare = 0;
    const heap = createHeap({
      maximumPages: 4,
      onOom(size) {
        calls.push(size);
        if (spare === 0) return false;
        heap.free(spare);
        spare = 0;
        return true;
      },
    });
    assert.equal(heap.malloc(1 << 20), 0);
    assert.deepEqual(calls, [1 << 20]);
    spare = heap.malloc(150000);
    assert.ok(spare !== 0);
    const q = heap.malloc(150000);
    assert.ok(q !== 0, 'the retry after onOom freed the spare block succeeds');
    assert.equal(calls.length, 2);
    assert.ok(heap.memory.buffer.byteLength <= 4 * 65536);
    heap.setOomHandler(undefined);
    assert.equal(heap.malloc(1 << 20), 0);
    assert.equal(calls.length, 2, 'a removed handler is not called');
    const later = [];
    heap.setOomHandler((size) => { later.push(size); return false; });
    assert.equal(heap.malloc(1 << 20), 0);
    assert.deepEqual(later, [1 << 20], 'setOomHandler installs a new handler');
    assert.throws(() => heap.setOomHandler(42), { code: 'E_BAD_OPTION', message: 'setOomHandler: handler must be a function or undefined, got 42' });
  });

  test('sbrk hands out memory outside the heap and takes back only its own', () => {
    const heap = createHeap();
    const p = heap.malloc(64);
    const old = heap.sbrk(4096);
    assert.ok(old > 0);
    assert.equal(heap.stats().sbrkBytes, 4096);
    const q = heap.malloc(64);
    assert.ok(q + 64 <= old || q >= old + 4096, 'malloc never returns sbrk memory');
    assert.equal(heap.sbrk(-4096), old + 4096);
    assert.equal(heap.sbrk(-1), -1, 'cannot give back what sbrk did not hand out');
    heap.free(p);
    heap.free(q);
  });

  test('extended API: alloc with any alignment, tryAlloc, inplaceRealloc, dealloc of part of a block, donate, trim', () => {
    const heap = createHeap({ heapBase: 65536, initialPages: 2 });
    const a = heap.alloc(100, 24);
    assert.ok(a !== 0 && a % 24 === 0, `alloc(100, 24) = ${a}`);
    assert.equal(heap.alloc(10, 0), 0, 'alignment 0 is refused');
    const t = heap.tryAlloc(64, 64);
    assert.ok(t !== 0 && t % 64 === 0);
    assert.equal(heap.tryAlloc(0xfffff000, 16), 0);
    const b = heap.malloc(4096);
    assert.equal(heap.inplaceRealloc(b, 1024), b, 'shrinking in place always works');
    assert.ok(heap.usableSize(b) >= 1024 && heap.usableSize(b) < 4096);
    const c = heap.malloc(4096);
    assert.equal(heap.dealloc(c, 1024), true, 'a prefix of a live block can be freed');
    assert.equal(heap.dealloc(c + 2048, 1024), true, 'and a middle');
    assert.equal(heap.dealloc(12345678, 16), false, 'a range outside every block is refused');
    assert.equal(heap.donate(4096, 8192), true, 'memory below the heap base can be donated');
    assert.equal(heap.donate(4096, 8192), false, 'but not twice');
    assert.equal(heap.check(), 0);
    for (const p of [a, t, b]) heap.free(p);
    assert.equal(typeof heap.trim(), 'number');
    assert.equal(heap.check(), 0);
  });

  test('local heaps: grown from the heap or over a buffer, freed all at once', async () => {
    const heap = createHeap();
    const local = heap.newLocalHeap(4096);
    assert.ok(local);
    const ps = Array.from({ length: 100 }, (_, i) => local.alloc(50 + i));
    assert.ok(ps.every((p) => p !== 0 && p % 16 === 0));
    assert.equal(local.alloc(10, 48) % 48, 0);
    assert.ok(local.usableSize(ps[0]) >= 50);
    const q = local.realloc(ps[1], 5000);
    assert.ok(q !== 0);
    assert.equal(local.free(ps[2]), true);
    assert.equal(local.free(ps[2]), false, 'a block freed twice is refused');
    assert.equal(local.check(), 0);
    const ls = local.stats();
    assert.equal(ls.liveBlocks, 100, '100 + 1 allocated, 1 freed');
    assert.ok(heap.stats().liveBlocks >= 1, 'the local heap\'s chunks are blocks of the global heap');
    local.destroy();
    assert.equal(heap.stats().liveBlocks, 0, 'destroy gives every chunk back');
    assert.equal(heap.check(), 0);
    await rejectsWith(() => local.alloc(10), 'E_BAD_OPTION', /after destroy\(\)/);

    const buf = heap.malloc(16384);
    const over = heap.localHeapOver(buf, 16384);
    assert.ok(over);
    const r = over.alloc(1000);
    assert.ok(r >= buf && r + 1000 <= buf + 16384, 'blocks lie inside the buffer');
    assert.equal(over.alloc(1 << 20), 0, 'a heap over a buffer never grows');
    over.destroy();
    heap.free(buf);
    assert.equal(heap.localHeapOver(buf, 16), null, 'too small for a heap');
  });

  test('a custom allocator module can serve a Heap', async () => {
    const heap = createHeap({ allocator: BUMP_ALLOCATOR });
    const a = heap.malloc(10);
    const b = heap.malloc(10);
    assert.ok(a !== 0 && b > a);
    await rejectsWith(() => heap.stats(), 'E_UNSUPPORTED', /does not export ralloc_stats/);
  });

  test('bad options and arguments give exact errors', async () => {
    await rejectsWith(() => createHeap({ build: 'fast' }), 'E_BAD_OPTION', /unknown build "fast"; use one of release, small, debug, security/);
    await rejectsWith(() => createHeap({ memory: new ArrayBuffer(8) }), 'E_BAD_OPTION', /memory must be a WebAssembly.Memory, got ArrayBuffer/);
    await rejectsWith(() => createHeap({ initialPages: -1 }), 'E_BAD_OPTION', /initialPages must be an integer number of 64 KiB pages from 0 to 65536, got -1/);
    await rejectsWith(() => createHeap({ initialPages: 4, maximumPages: 2 }), 'E_BAD_OPTION', /maximumPages \(2\) is below initialPages \(4\)/);
    await rejectsWith(() => createHeap({ memory: new WebAssembly.Memory({ initial: 1 }), maximumPages: 2 }), 'E_BAD_OPTION', /apply only to a memory the bindings create/);
    await rejectsWith(() => createHeap({ heapBase: 8 }), 'E_BAD_OPTION', /heapBase must be an integer from 128/);
    await rejectsWith(() => createHeap({ onOom: 'yes' }), 'E_BAD_OPTION', /onOom must be a function/);
    await rejectsWith(() => createHeap({ allocator: 'release.wasm' }), 'E_BAD_OPTION', /allocator must be the bytes of a wasm module .* got string/);
    await rejectsWith(() => createHeap({ allocator: new TextEncoder().encode('(module)') }), 'E_NOT_WASM', /looks like WebAssembly text/);
    await rejectsWith(() => createHeap({ allocator: wat('(module (memory 1) (func (export "malloc") (param i32) (result i32) (i32.const 0)) (func (export "free") (param i32)))') }),
      'E_MEMORY_NOT_IMPORTED', /defines its own memory/);
    await rejectsWith(() => createHeap({ allocator: wat('(module (import "env" "memory" (memory 0)) (import "env" "seed" (func (result f64))) (func (export "malloc") (param i32) (result i32) (i32.const 0)) (func (export "free") (param i32)))') }),
      'E_MISSING_IMPORT', /imports env\.seed \(function\)/);
    const heap = createHeap();
    // every bad argument is a RallocError with a code, never a plain RangeError or TypeError
    const badArgument = (fn, message) => assert.throws(fn, (e) => e instanceof RallocError && e.code === 'E_BAD_OPTION' && e.message === message);
    badArgument(() => heap.malloc(-1), 'malloc: size must be an integer from 0 to 4294967295, got -1');
    badArgument(() => heap.malloc('10'), 'malloc: size must be an integer from 0 to 4294967295, got "10"');
    badArgument(() => heap.free(1.5), 'free: ptr must be an integer from 0 to 4294967295, got 1.5');
    badArgument(() => heap.sbrk(2 ** 31), 'sbrk: delta must be an integer from -2147483648 to 2147483647, got 2147483648');
    badArgument(() => heap.alloc(10, -3), 'alloc: align must be an integer from 0 to 4294967295, got -3');
    badArgument(() => heap.setOomHandler('retry'), 'setOomHandler: handler must be a function or undefined, got "retry"');
    badArgument(() => heap.newLocalHeap(NaN), 'newLocalHeap: bytes must be an integer from 0 to 4294967295, got NaN');
  });
});

describe('a misspelled or unknown option is refused, never silently ignored', () => {
  const program = () => watProgram();
  const CASES = [
    ['createHeap', () => createHeap({ bild: 'debug' }), 'createHeap: unknown option "bild"; did you mean build?',
      'build, allocator, memory, initialPages, maximumPages, heapBase, onOom, seed, logLevel, onLog'],
    ['createHeap', () => createHeap({ maxPages: 4 }), 'createHeap: unknown option "maxPages"; did you mean maximumPages?', null],
    ['createHeap', () => createHeap({ turbo: true }), 'createHeap: unknown option "turbo"', null],
    ['instantiateProgram', () => instantiateProgram(program(), { arg: ['x'] }), 'instantiateProgram: unknown option "arg"; did you mean args?', null],
    ['instantiateProgram', () => instantiateProgram(program(), { input: 'text' }), 'instantiateProgram: unknown option "input"', null],
    ['runProgram', () => runProgram(program(), { stdout: 1 }), 'runProgram: unknown option "stdout"',
      'build, allocator, memory, initialPages, maximumPages, onOom, seed, logLevel, onLog, track, imports, args, env, preopens, input'],
    ['linkStatic', () => bindings.linkStatic(program(), { optimise: 2 }), 'linkStatic: unknown option "optimise"; did you mean optimize?', null],
    ['compileC', () => compileC({ source: { 'a.c': '' } }), 'compileC: unknown option "source"; did you mean sources?', 'sources, mode, opt, exports, flags'],
    ['heapMap', () => createHeap().heapMap({ widht: 900 }), 'drawHeapMap: unknown option "widht"; did you mean width?', 'width, rowBytes, maxRows, maxShapes, title'],
    ['drawHeapMap input', () => { const h = createHeap(); h.malloc(1); return bindings.drawHeapMap({ layout: h.layout(), blocks: h.walk(), span: [] }); },
      'drawHeapMap: input: unknown option "span"; did you mean spans?', null],
    ['track', () => createHeap({ build: 'debug' }).track({ depth: 4 }), 'Tracker: unknown option "depth"; did you mean stackDepth?', 'stackDepth'],
    ['instantiateProgram track', () => instantiateProgram(program(), { build: 'debug', track: { stackdepth: 4 } }), 'Tracker: unknown option "stackdepth"; did you mean stackDepth?', null],
  ];
  for (const [who, call, start, list] of CASES) {
    test(`${who}: ${start.split(': ').slice(-1)[0]}`, async () => {
      const e = await rejectsWith(call, 'E_BAD_OPTION');
      assert.ok(e.message.startsWith(`${start}${start.endsWith('?') ? ' ' : '; '}its options are `), e.message);
      if (list) assert.ok(e.message.endsWith(`its options are ${list}`), e.message);
    });
  }
  test('the right options still pass', () => {
    const heap = createHeap({ build: 'small', initialPages: 2, maximumPages: 8, heapBase: 256, onOom: () => false, seed: 1, logLevel: 0 });
    assert.equal(heap.check(), 0);
  });
});

// A program written in WAT that imports its allocator and its memory, as clang's output would.
function watProgram({ module = 'env', heapBase = 4096, extra = '' } = {}) {
  return wat(`(module
    (import "env" "memory" (memory 1))
    (import "${module}" "malloc" (func $malloc (param i32) (result i32)))
    (import "${module}" "free" (func $free (param i32)))
    ${extra}
    (global (export "__heap_base") i32 (i32.const ${heapBase}))
    (export "m" (func $malloc))
    ;; make(n): a block of n bytes holding 1, 2, 3, ...
    (func (export "make") (param $n i32) (result i32)
      (local $p i32) (local $i i32)
      (local.set $p (call $malloc (local.get $n)))
      (block $done (loop $fill
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (i32.store8 (i32.add (local.get $p) (local.get $i)) (i32.add (local.get $i) (i32.const 1)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $fill)))
      (local.get $p))
    (func (export "peek") (param $p i32) (param $i i32) (result i32)
      (i32.load8_u (i32.add (local.get $p) (local.get $i))))
    ;; sum(p, n): the sum of n bytes at p, then frees p
    (func (export "sum") (param $p i32) (param $n i32) (result i32)
      (local $i i32) (local $s i32)
      (block $done (loop $add
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $s (i32.add (local.get $s) (i32.load8_u (i32.add (local.get $p) (local.get $i)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $add)))
      (call $free (local.get $p))
      (local.get $s)))`);
}

describe('instantiateProgram', () => {
  for (const module of ['env', 'ralloc']) {
    test(`a WAT program importing malloc/free from "${module}" runs on ralloc-wasm, wired directly`, async () => {
      const { instance, heap, Module } = await instantiateProgram(watProgram({ module }));
      assert.equal(instance.exports.m, heap.exports.malloc, 'the program imports the allocator export itself, no JS wrapper');
      const p = instance.exports.make(100);
      assert.ok(p >= 4096, 'the heap starts at the program\'s __heap_base');
      assert.equal(instance.exports.sum(p, 100), 5050);
      const s = heap.stats();
      assert.equal(s.heapBase, 4096);
      assert.equal(s.mallocCalls, 1);
      assert.equal(s.freeCalls, 1);
      assert.equal(s.liveBlocks, 0);
      assert.equal(Module._make, instance.exports.make);
      assert.equal(Module.cwrap('sum', 'number', ['number', 'number'])(Module._make(10), 10), 55);
    });
  }

  test('Module surface: strings, values, ccall and cwrap', async () => {
    const { Module } = await instantiateProgram(watProgram());
    const p = Module._malloc(64);
    assert.ok(p > 0);
    const text = 'héllo wörld';
    const n = Module.lengthBytesUTF8(text);
    assert.equal(n, 13);
    assert.equal(Module.stringToUTF8(text, p, 64), 13);
    assert.equal(Module.UTF8ToString(p), text);
    assert.equal(Module.UTF8ToString(p, 5), 'héll', 'at most 5 bytes');
    assert.equal(Module.stringToUTF8(text, p, 3), 1, 'never cuts a character: "h" + NUL');
    assert.equal(Module.UTF8ToString(p), 'h');
    assert.equal(Module.UTF8ToString(0), '');
    for (const [type, value] of [['i8', -5], ['i16', -300], ['i32', -70000], ['i64', -(2n ** 40n)], ['float', 1.5], ['double', Math.PI], ['*', 0xfffffff0]]) {
      Module.setValue(p + 8, value, type);
      assert.equal(Module.getValue(p + 8, type), value, type);
    }
    assert.throws(() => Module.getValue(p, 'u64'), /getValue: unknown type "u64"/);
    Module._free(p);
    const q = Module.ccall('make', 'number', ['number'], [3]);
    assert.equal(Module.ccall('sum', 'number', ['number', 'number'], [q, 3]), 6);
    assert.throws(() => Module.ccall('nope', 'number', [], []), /the program does not export a function named "nope"/);
    assert.equal(Module.ccall('peek', 'number', ['array', 'number'], [[9, 8, 7], 1]), 8);
    const peekBool = Module.cwrap('peek', 'boolean', ['array', 'number']);
    assert.equal(peekBool(new Uint8Array([0, 1]), 0), false);
    assert.equal(peekBool(new Uint8Array([0, 1]), 1), true);
    assert.equal(Module.heap.stats().liveBlocks, 0, 'temporary argument blocks are freed');
  });

  test('options.imports supplies what the program imports besides its allocator', async () => {
    const seen = [];
    const { instance } = await instantiateProgram(watProgram({ extra: '(import "env" "report" (func $report (param i32))) (func (export "go") (call $report (i32.const 42)))' }),
      { imports: { env: { report: (x) => seen.push(x) } } });
    instance.exports.go();
    assert.deepEqual(seen, [42]);
  });

  test('bad input: each case names the problem and what to do', async () => {
    await rejectsWith(() => instantiateProgram(watProgram({ extra: '(import "env" "report" (func (param i32)))' })),
      'E_MISSING_IMPORT', /the program imports env\.report \(function\), which ralloc-wasm does not provide; pass it in options\.imports/);
    await rejectsWith(() => instantiateProgram(wat('(module (import "ralloc" "ralloc_set_oom_handler" (func (param i32) (result i32))) (import "env" "memory" (memory 1)))')),
      'E_MISSING_IMPORT', /imports ralloc\.ralloc_set_oom_handler, which ralloc-wasm's release build does not export/);
    await rejectsWith(() => instantiateProgram(wat('(module (import "env" "malloc" (func (param i32) (result i32))) (memory (export "memory") 1))')),
      'E_MEMORY_NOT_IMPORTED', /defines its own memory; recompile it with -Wl,--import-memory/);
    await rejectsWith(() => instantiateProgram(new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1, 0])), 'E_NOT_WASM', /is not a WebAssembly module: it is an ELF file/);
    await rejectsWith(() => instantiateProgram(new Uint8Array(0)), 'E_NOT_WASM', /it is empty/);
    await rejectsWith(() => instantiateProgram('prog.wasm'), 'E_BAD_OPTION', /wasm must be the bytes of a wasm module/);
    await rejectsWith(() => instantiateProgram(wat('(module (import "env" "memory" (memory 1)) (import "env" "malloc" (func (param i64) (result i32))))')),
      'E_SIGNATURE', /imports env\.malloc as \(func \(param i64\) \(result i32\)\), but ralloc-wasm's release build exports it as \(func \(param i32\) \(result i32\)\)/);
    const ownMalloc = wat(`(module (import "env" "memory" (memory 1))
      (func $dlmalloc (param i32) (result i32) (i32.const 0))
      (func $malloc (export "malloc") (param i32) (result i32) (call $dlmalloc (local.get 0))))`, true);
    await rejectsWith(() => instantiateProgram(ownMalloc), 'E_HAS_MALLOC', /already contains a malloc \(it defines dlmalloc, wasi-libc's allocator\)/, /ralloc_import\.c/);
    await rejectsWith(() => instantiateProgram(watProgram(), { build: 'turbo' }), 'E_BAD_OPTION', /unknown build "turbo"/);
  });

  test('a C program (ralloc_import.c) gets WASI: args, stdin, stdout, stderr and the exit code', async () => {
    const src = `#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
int main(int argc, char **argv) {
  char *all = NULL; size_t len = 0; char buf[256];
  while (fgets(buf, sizeof buf, stdin)) {
    size_t n = strlen(buf);
    all = realloc(all, len + n + 1);
    memcpy(all + len, buf, n + 1);
    len += n;
  }
  for (int i = 1; i < argc; i++) printf("arg %d: %s\\n", i, argv[i]);
  printf("read %zu bytes: %s", len, all ? all : "");
  free(all);
  errno = 0;
  void *huge = malloc((size_t)-100);
  fprintf(stderr, "huge=%p errno=%s\\n", huge, errno == ENOMEM ? "ENOMEM" : "other");
  errno = 0;
  void *bad = aligned_alloc(24, 10);
  fprintf(stderr, "bad=%p errno=%s\\n", bad, errno == EINVAL ? "EINVAL" : "other");
  return 7;
}`;
    // -fno-builtin: clang assumes malloc leaves errno alone and would fold the errno checks away.
    const { wasm } = await compileC({ sources: { 'echo.c': src }, flags: ['-fno-builtin'] });
    const r = await runProgram(wasm, { args: ['echo', 'one', 'two words'], input: 'line 1\nline 2\n' });
    assert.equal(r.exitCode, 7);
    assert.equal(Buffer.from(r.stdout).toString(), 'arg 1: one\narg 2: two words\nread 14 bytes: line 1\nline 2\n');
    assert.equal(Buffer.from(r.stderr).toString(), 'huge=0 errno=ENOMEM\nbad=0 errno=EINVAL\n', 'ralloc_import.c sets errno');
    assert.ok(r.stats.mallocCalls >= 3 && r.stats.liveBlocks <= 3, JSON.stringify(r.stats));
    assert.equal(r.heap.check(), 0);
    const hb = new WebAssembly.Module(wasm);
    assert.ok(WebAssembly.Module.exports(hb).some((e) => e.name === '__heap_base'));
    assert.ok(r.stats.heapBase > 0 && r.stats.heapBase < 2 * 65536, `heap starts at __heap_base (${r.stats.heapBase}), not at the end of memory`);
  });

  test('out of memory in a C program: the JS onOom (via ralloc_hooks.oom), then the C handler (ralloc_set_oom_handler)', async () => {
    const src = `#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include "ralloc.h"
static void *reserve;
static int calls;
static int handler(size_t size) {
  calls++;
  printf("C handler: %zu bytes\\n", size);
  if (reserve) { free(reserve); reserve = NULL; return 1; }
  return 0;
}
int main(void) {
  reserve = malloc(3 << 20);
  ralloc_set_oom_handler(handler);
  void *a = malloc(3 << 20);
  printf("a %s after %d C handler calls\\n", a ? "ok" : "failed", calls);
  errno = 0;
  void *b = malloc(3 << 20);
  printf("b %s, errno %s, %d C handler calls\\n", b ? "ok" : "failed", errno == ENOMEM ? "ENOMEM" : "?", calls);
  void *c = ralloc_alloc(100, 24);
  printf("ralloc_alloc(100, 24) %% 24 = %lu\\n", (unsigned long)((size_t)c % 24));
  ralloc_stats_t s;
  ralloc_stats(&s);
  printf("live %u, check %d\\n", s.live_blocks, ralloc_check());
  return 0;
}`;
    const { wasm } = await compileC({ sources: { 'oom.c': src }, flags: ['-fno-builtin'] });
    const seen = [];
    const r = await runProgram(wasm, { maximumPages: 80, onOom: (size) => { seen.push(size); } });
    assert.equal(Buffer.from(r.stdout).toString(),
      'C handler: 3145728 bytes\na ok after 1 C handler calls\nC handler: 3145728 bytes\nb failed, errno ENOMEM, 2 C handler calls\n' +
      'ralloc_alloc(100, 24) % 24 = 0\nlive 2, check 0\n');
    assert.deepEqual(seen, [3145728, 3145728], 'the host hears of each failure (a, then b) before the C handler');

    // Statically linked: one module, no host hook (linkStatic stubs it); the C handler alone.
    // It keeps importing its memory, so that the host can cap it (maximumPages).
    const { linkStatic } = await import('../dist/bindings/link.js');
    const linked = await linkStatic(wasm, { build: 'release', importMemory: true });
    const s = await runProgram(linked, { maximumPages: 80 });
    assert.equal(Buffer.from(s.stdout).toString(),
      'C handler: 3145728 bytes\na ok after 1 C handler calls\nC handler: 3145728 bytes\nb failed, errno ENOMEM, 2 C handler calls\n' +
      'ralloc_alloc(100, 24) % 24 = 0\nlive 2, check 0\n', 'the same in a statically linked program');
  });

  test('every call ralloc.h declares links against every build, with matching signatures, and works from C', async () => {
    const src = `#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include "ralloc.h"
static unsigned char buffer[16384] __attribute__((aligned(16)));
int main(int argc, char **argv) {
  char *a = ralloc_alloc(100, 24);
  char *b = ralloc_try_alloc(64, 64);
  char *c = malloc(4096);
  printf("aligned %d %d\\n", (int)((uintptr_t)a % 24), (int)((uintptr_t)b % 64));
  printf("inplace %d\\n", ralloc_inplace_realloc(c, 1024) == c);
  char *d = malloc(4096);
  printf("dealloc prefix %d\\n", ralloc_dealloc(d, 1024));
  ralloc_heap_t h = ralloc_heap_new(1000);
  void *x = ralloc_heap_alloc(h, 200, 16);
  x = ralloc_heap_realloc(h, x, 400);
  printf("local %d usable>=400 %d check %d\\n", h != 0, ralloc_heap_usable_size(h, x) >= 400, ralloc_heap_check(h));
  ralloc_stats_t s;
  printf("local stats %d live %u\\n", (int)ralloc_heap_stats(h, &s), s.live_blocks);
  printf("local free %d destroy %d\\n", ralloc_heap_free(h, x), ralloc_heap_destroy(h));
  ralloc_heap_t o = ralloc_heap_over(buffer, sizeof buffer);
  char *y = ralloc_heap_alloc(o, 100, 16);
  printf("over %d inside %d\\n", o != 0, y >= (char *)buffer && y < (char *)buffer + sizeof buffer);
  ralloc_heap_destroy(o);
  free(a); free(b); free(c);
  printf("trim %d, donate twice %d, check %d, init again %d\\n", ralloc_trim() < 0x80000000u, ralloc_donate(buffer, sizeof buffer) == 0 && ralloc_donate(buffer, sizeof buffer) == 28, ralloc_check(), ralloc_init(0));
  ralloc_stats(&s);
  printf("stats v%u size %u\\n", s.version, s.size);
  if (argc > 1) return 0;
  fflush(stdout);
  printf("bad dealloc %d\\n", ralloc_dealloc((void *)16, 16)); /* static data: refused, or a misuse that stops */
  return 0;
}`;
    const { wasm } = await compileC({ sources: { 'api.c': src }, flags: ['-Wall', '-Werror'] });
    const imported = WebAssembly.Module.imports(new WebAssembly.Module(wasm)).filter((i) => i.module === 'ralloc').map((i) => i.name).sort();
    assert.deepEqual(imported.filter((n) => n.startsWith('ralloc_')), ['ralloc_alloc', 'ralloc_check', 'ralloc_dealloc', 'ralloc_donate', 'ralloc_heap_alloc',
      'ralloc_heap_check', 'ralloc_heap_destroy', 'ralloc_heap_free', 'ralloc_heap_new', 'ralloc_heap_over', 'ralloc_heap_realloc', 'ralloc_heap_stats',
      'ralloc_heap_usable_size', 'ralloc_init', 'ralloc_inplace_realloc', 'ralloc_stats', 'ralloc_trim', 'ralloc_try_alloc']);
    const calls = 'aligned 0 0\ninplace 1\ndealloc prefix 0\nlocal 1 usable>=400 1 check 0\nlocal stats 64 live 1\n' +
      'local free 0 destroy 0\nover 1 inside 1\ntrim 1, donate twice 1, check 0, init again 28\nstats v1 size 64\n';
    for (const build of BUILD_NAMES) {
      // Every call, then a dealloc of static data: release and small refuse it (EINVAL); the
      // guarded builds stop the program there with the exact message.
      if (build === 'debug' || build === 'security') {
        const r = await runProgram(wasm, { build, args: ['api', 'no-misuse'] });
        assert.equal(Buffer.from(r.stdout).toString(), calls, build);
        assert.equal(r.exitCode, 0);
        const e = await rejectsWith(() => runProgram(wasm, { build }), 'E_MISUSE');
        assert.equal(e.message, 'ralloc: invalid ralloc_dealloc of 0x00000010 (static data, below the heap)', build);
      } else {
        const r = await runProgram(wasm, { build });
        assert.equal(Buffer.from(r.stdout).toString(), calls + 'bad dealloc 28\n', build);
        assert.equal(r.exitCode, 0);
      }
    }
  });

  test('a freestanding C program (-nostdlib, malloc from env) works through Module.ccall with strings', async () => {
    const src = `typedef __SIZE_TYPE__ size_t;
void *malloc(size_t); void free(void *);
static size_t len(const char *s) { size_t n = 0; while (s[n]) n++; return n; }
char *greet(const char *name) {
  size_t n = len(name);
  char *out = malloc(n + 8);
  const char *hello = "hello, ";
  for (size_t i = 0; i < 7; i++) out[i] = hello[i];
  for (size_t i = 0; i <= n; i++) out[7 + i] = name[i];
  return out;
}
void release(char *p) { free(p); }`;
    // -fno-builtin keeps clang from turning the loops into calls to strlen and memcpy.
    const { wasm } = await compileC({ sources: { 'greet.c': src }, mode: 'env', exports: ['greet', 'release'], flags: ['-fno-builtin'] });
    const imports = WebAssembly.Module.imports(new WebAssembly.Module(wasm)).map((i) => `${i.module}.${i.name}`).sort();
    assert.deepEqual(imports, ['env.free', 'env.malloc', 'env.memory']);
    const { Module, heap } = await instantiateProgram(wasm);
    const p = Module.ccall('greet', 'number', ['string'], ['wörld']);
    assert.equal(Module.UTF8ToString(p), 'hello, wörld');
    Module.ccall('release', null, ['number'], [p]);
    const greet = Module.cwrap('greet', 'string', ['string']);
    assert.equal(greet('wasm'), 'hello, wasm');
    const s = heap.stats();
    assert.equal(s.mallocCalls, 4, 'two greet blocks and two temporary string arguments');
    assert.equal(s.freeCalls, 3, 'the cwrap result stays live: a string return is not freed');
    assert.equal(heap.check(), 0);
  });
});
