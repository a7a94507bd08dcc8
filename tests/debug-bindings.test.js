// The JS side of the debug tools (issue 6): misuse report messages, log lines, the logging and
// seed options, onEvent, leaks/assertNoLeak, layout, and misuse inside C programs run dynamically
// and statically linked. Formatting is checked on synthetic input and through a small WAT
// allocator whose hooks the test drives exactly; the rest on the real builds.
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';

import { bindings, wat, rejectsWith } from './lib/dist.js';

const {
  createHeap, instantiateProgram, runProgram, linkStatic, compileC, RallocError, BUILD_NAMES, ALL_BUILD_NAMES,
  reportMessage, leakMessage, opName, checkName, decodeEvent, eventText, poolPicture, eventLine,
} = bindings;

/** Runs fn and returns the RallocError it throws, failing when it throws nothing or something else. */
function caught(fn, code) {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof RallocError, `expected a RallocError ${code}, got ${e?.stack ?? e}`);
    assert.equal(e.code, code, `wrong code for: ${e.message}`);
    return e;
  }
  assert.fail(`expected a RallocError ${code}, but nothing was thrown`);
}

// A bump allocator with ralloc-wasm's debug surface, for exact control over what the hooks see.
// Block p (payload, 16-aligned) of size S lies at [p - 16, p - 16 + S): [p - 4] = S | flags
// (1 FREE, 4 CACHED), [p - 8] = bytes asked, [p - 12] = serial. One span, [0x400, top + 16):
// the first block is at 0x410.
// free of a freed block reports USE_FREED, of an address below 0x410 STATIC, of anything else
// past the top OUTSIDE. `cache(p)` marks a block cached. `emit(kind, a, b, c, d)` sends any event
// the runtime level allows (kinds 1-4 at level 2, others at 3).
const MOCK = wat(`(module
  (import "env" "memory" (memory 1))
  (import "ralloc_hooks" "report" (func $report (param i32 i32 i32 i32 i32)))
  (import "ralloc_hooks" "event" (func $event (param i32 i32 i32 i32 i32)))
  (global $top (mut i32) (i32.const 0x400))
  (global $serial (mut i32) (i32.const 0))
  (global $level (export "level") (mut i32) (i32.const 0))
  (global $seedLo (export "seed_lo") (mut i32) (i32.const -1))
  (global $seedHi (export "seed_hi") (mut i32) (i32.const -1))
  (func (export "malloc") (param $n i32) (result i32)
    (local $p i32) (local $s i32)
    (local.set $p (i32.add (global.get $top) (i32.const 16)))
    (local.set $s (i32.add (i32.const 16) (i32.and (i32.add (local.get $n) (i32.const 15)) (i32.const -16))))
    (i32.store (i32.sub (local.get $p) (i32.const 4)) (local.get $s))
    (i32.store (i32.sub (local.get $p) (i32.const 8)) (local.get $n))
    (global.set $serial (i32.add (global.get $serial) (i32.const 1)))
    (i32.store (i32.sub (local.get $p) (i32.const 12)) (global.get $serial))
    (global.set $top (i32.add (global.get $top) (local.get $s)))
    (if (i32.ge_u (global.get $level) (i32.const 2))
      (then (call $event (i32.const 1) (local.get $p) (local.get $n) (i32.const 16) (global.get $serial))))
    (local.get $p))
  (func (export "free") (param $p i32)
    (if (i32.eqz (local.get $p)) (then (return)))
    (if (i32.lt_u (local.get $p) (i32.const 0x410))
      (then (call $report (i32.const 4) (i32.const 1) (local.get $p) (i32.const 0) (i32.const 0)) (unreachable)))
    (if (i32.ge_u (local.get $p) (global.get $top))
      (then (call $report (i32.const 2) (i32.const 1) (local.get $p) (i32.const 0) (i32.const 0)) (unreachable)))
    (if (i32.and (i32.load (i32.sub (local.get $p) (i32.const 4))) (i32.const 1))
      (then (call $report (i32.const 1) (i32.const 1) (local.get $p) (i32.load (i32.sub (local.get $p) (i32.const 8))) (i32.const 0)) (unreachable)))
    (i32.store (i32.sub (local.get $p) (i32.const 4)) (i32.or (i32.load (i32.sub (local.get $p) (i32.const 4))) (i32.const 1)))
    (if (i32.ge_u (global.get $level) (i32.const 2))
      (then (call $event (i32.const 2) (local.get $p) (i32.load (i32.sub (local.get $p) (i32.const 8)))
                         (i32.load (i32.sub (local.get $p) (i32.const 12))) (i32.const 0)))))
  (func (export "cache") (param $p i32)
    (i32.store (i32.sub (local.get $p) (i32.const 4)) (i32.or (i32.and (i32.load (i32.sub (local.get $p) (i32.const 4))) (i32.const -16)) (i32.const 4))))
  (func (export "emit") (param $k i32) (param $a i32) (param $b i32) (param $c i32) (param $d i32)
    (if (i32.ge_u (global.get $level) (select (i32.const 2) (i32.const 3) (i32.le_u (local.get $k) (i32.const 4))))
      (then (call $event (local.get $k) (local.get $a) (local.get $b) (local.get $c) (local.get $d)))))
  (func (export "ralloc_walk") (param $p i32) (result i32)
    (local $q i32)
    (if (i32.eqz (local.get $p))
      (then (return (select (i32.const 0x410) (i32.const 0) (i32.gt_u (global.get $top) (i32.const 0x400))))))
    (local.set $q (i32.add (local.get $p) (i32.and (i32.load (i32.sub (local.get $p) (i32.const 4))) (i32.const -16))))
    (select (local.get $q) (i32.const 0) (i32.lt_u (local.get $q) (global.get $top))))
  (func (export "ralloc_span_next") (param $s i32) (result i32)
    (select (i32.const 0x400) (i32.const 0) (i32.and (i32.eqz (local.get $s)) (i32.gt_u (global.get $top) (i32.const 0x400)))))
  (func (export "ralloc_span_end") (param $s i32) (result i32)
    (i32.add (global.get $top) (i32.const 16)))
  (func (export "ralloc_block_info") (param $p i32) (result i32)
    (i32.load (i32.sub (local.get $p) (i32.const 4))))
  (func (export "ralloc_block_request") (param $p i32) (result i32)
    (select (i32.const 0) (i32.load (i32.sub (local.get $p) (i32.const 8)))
      (i32.and (i32.load (i32.sub (local.get $p) (i32.const 4))) (i32.const 5))))
  (func (export "ralloc_block_serial") (param $p i32) (result i32)
    (i32.load (i32.sub (local.get $p) (i32.const 12))))
  (func (export "ralloc_set_log_level") (param $l i32) (result i32)
    (global.set $level (local.get $l)) (i32.const 3))
  (func (export "ralloc_seed") (param $lo i32) (param $hi i32) (result i32)
    (if (i32.gt_u (global.get $top) (i32.const 0x400)) (then (return (i32.const 28))))
    (global.set $seedLo (local.get $lo)) (global.set $seedHi (local.get $hi)) (i32.const 0))
  (func (export "ralloc_layout") (param $out i32) (result i32)
    (if (local.get $out) (then
      (i32.store offset=0 (local.get $out) (i32.const 1))
      (i32.store offset=4 (local.get $out) (i32.const 0x100))
      (i32.store offset=8 (local.get $out) (i32.const 0x180))
      (i32.store offset=12 (local.get $out) (i32.const 0x400))
      (i32.store offset=16 (local.get $out) (i32.const 0x10))
      (i32.store offset=20 (local.get $out) (global.get $top))
      (i32.store offset=24 (local.get $out) (i32.const -1))
      (i32.store offset=28 (local.get $out) (i32.const 16))))
    (i32.const 32))
  (func (export "ralloc_assert_no_leak") (result i32)
    (local $p i32) (local $n i32) (local $bytes i32)
    (local.set $p (i32.const 0x410))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $p) (global.get $top)))
      (if (i32.eqz (i32.and (i32.load (i32.sub (local.get $p) (i32.const 4))) (i32.const 5)))
        (then (local.set $n (i32.add (local.get $n) (i32.const 1)))
              (local.set $bytes (i32.add (local.get $bytes) (i32.load (i32.sub (local.get $p) (i32.const 8)))))))
      (local.set $p (i32.add (local.get $p) (i32.and (i32.load (i32.sub (local.get $p) (i32.const 4))) (i32.const -16))))
      (br $next)))
    (if (local.get $n) (then (call $report (i32.const 11) (i32.const 8) (local.get $n) (local.get $bytes) (i32.const 0)) (unreachable)))
    (i32.const 0)))`);

/** A heap on the mock allocator, with its lines collected in `lines` as [line, level]. */
function mockHeap(options = {}) {
  const lines = [];
  const heap = createHeap({ allocator: MOCK, heapBase: 0x400, onLog: (line, level) => lines.push([line, level]), ...options });
  return { heap, lines, x: heap.exports };
}

describe('report messages (messages.ts)', () => {
  test('every report code has its exact message', () => {
    assert.equal(reportMessage(1, 1, 0x12340, 32, 0), 'ralloc: double free of 0x00012340 (32 bytes)');
    assert.equal(reportMessage(1, 9, 0x12340, 32, 0), 'ralloc: double free of 0x00012340 (32 bytes)');
    assert.equal(reportMessage(1, 2, 0x12340, 32, 0), 'ralloc: realloc of freed 0x00012340 (32 bytes)');
    assert.equal(reportMessage(1, 3, 0x12340, 1, 0), 'ralloc: malloc_usable_size of freed 0x00012340 (1 byte)');
    assert.equal(reportMessage(2, 1, 0x12340, 0, 0), 'ralloc: invalid free of 0x00012340 (outside the heap)');
    assert.equal(reportMessage(3, 2, 0x12344, 0, 0), 'ralloc: invalid realloc of 0x00012344 (misaligned)');
    assert.equal(reportMessage(4, 1, 0x400, 0, 0), 'ralloc: invalid free of 0x00000400 (static data, below the heap)');
    assert.equal(reportMessage(5, 4, 0x12340, 0, 0), 'ralloc: invalid ralloc_dealloc of 0x00012340 (never allocated)');
    assert.equal(reportMessage(6, 1, 0x12350, 32, 0x12340), 'ralloc: invalid free of 0x00012350 (inside the 32-byte block at 0x00012340)');
    assert.equal(reportMessage(7, 1, 0x12340, 32, 0), 'ralloc: write past the end of 0x00012340 (32 bytes), found by free');
    assert.equal(reportMessage(8, 7, 0x12340, 48, 0), 'ralloc: corrupted header of 0x00012340 (48 bytes), found by malloc');
    assert.equal(reportMessage(9, 12, 0x12340, 48, 0), 'ralloc: corrupted free list at 0x00012340 (48 bytes), found by calloc');
    assert.equal(reportMessage(10, 6, 0x12340, 5, 0), 'ralloc: heap check failed: UNMERGED (code 5) at 0x00012340, after ralloc_check');
    assert.equal(reportMessage(10, 16, 0xabcdef0, 17, 0), 'ralloc: heap check failed: GUARD (code 17) at 0x0abcdef0, after ralloc_heap_check');
    assert.equal(reportMessage(11, 8, 3, 96, 0), 'ralloc: 3 blocks leaked (96 bytes)');
    assert.equal(reportMessage(11, 8, 1, 1, 0), 'ralloc: 1 block leaked (1 byte)');
    // Addresses are unsigned, 8 lowercase digits, even from negative i32 arguments.
    assert.equal(reportMessage(2, 1, -16, 0, 0), 'ralloc: invalid free of 0xfffffff0 (outside the heap)');
  });

  test('op and check names follow the contract tables; unknown numbers still give a readable message', () => {
    assert.deepEqual([...Array(17).keys()].slice(1).map(opName), ['free', 'realloc', 'malloc_usable_size', 'ralloc_dealloc', 'ralloc_inplace_realloc',
      'ralloc_check', 'malloc', 'ralloc_assert_no_leak', 'ralloc_heap_free', 'ralloc_heap_realloc', 'ralloc_heap_usable_size', 'calloc', 'aligned_alloc',
      'ralloc_alloc', 'ralloc_heap_alloc', 'ralloc_heap_check']);
    assert.deepEqual([...Array(19).keys()].slice(1).map(checkName), ['SPAN', 'SIZE', 'BOUNDS', 'PREV_BIT', 'UNMERGED', 'FOOTER', 'STATE', 'LINK', 'CLASS',
      'BITMAP', 'LIST_COUNT', 'QUICK', 'COUNTERS', 'TAIL', 'DEAD', 'OVERLAP', 'GUARD', 'PAGE']);
    assert.equal(opName(0), 'op 0');
    assert.equal(opName(99), 'op 99');
    assert.equal(checkName(99), 'UNKNOWN');
    assert.equal(reportMessage(42, 99, 0x10, 7, 0x20), 'ralloc: misuse report 42 from op 99 (address 0x00000010, size 7, aux 0x00000020)');
  });

  test('leak reports list one line per block, with #? for an unknown serial', () => {
    const blocks = [{ address: 0x12340, size: 32, serial: 17 }, { address: 0x12380, size: 1, serial: 0 }];
    assert.equal(leakMessage(blocks), 'ralloc: 2 blocks leaked (33 bytes)\n  0x00012340 32 bytes #17\n  0x00012380 1 byte #?');
    assert.equal(leakMessage([]), 'ralloc: 0 blocks leaked (0 bytes)');
  });
});

describe('log lines (log.ts)', () => {
  test('events decode into named fields', () => {
    assert.deepEqual(decodeEvent(1, 0x12340, 32, 16, 5), { kind: 'alloc', code: 1, level: 2, args: [0x12340, 32, 16, 5], address: 0x12340, size: 32, align: 16, serial: 5 });
    assert.deepEqual(decodeEvent(3, 0x12380, 64, 0x12340, 32), { kind: 'realloc', code: 3, level: 2, args: [0x12380, 64, 0x12340, 32], address: 0x12380, size: 64, oldAddress: 0x12340, oldSize: 32 });
    assert.deepEqual(decodeEvent(5, 0x20000, 0x10000, 3, 0), { kind: 'grow', code: 5, level: 3, args: [0x20000, 0x10000, 3, 0], address: 0x20000, bytes: 0x10000, growCalls: 3 });
    assert.equal(decodeEvent(2, -16, 1, 2, 0).address, 0xfffffff0, 'arguments are read unsigned');
    assert.equal(decodeEvent(99, 1, 2, 3, 4).kind, 'unknown');
  });

  test('each kind has its exact text', () => {
    const text = (...args) => eventText(decodeEvent(...args));
    assert.equal(text(1, 0x12340, 0x20, 16, 5), 'Allocating 0x20 (align 16) -> 0x00012340 #5');
    assert.equal(text(2, 0x12340, 0x20, 5, 0), 'Freeing 0x00012340[0x20]');
    assert.equal(text(3, 0x12380, 0x40, 0x12340, 0x20), 'Reallocating 0x00012340[0x20] to 0x40 (align 16) -> 0x00012380');
    assert.equal(text(4, 0x12348, 0x8, 0x12340, 0), 'Deallocating 0x00012348[0x8] of 0x00012340');
    assert.equal(text(5, 0x20000, 0x10000, 3, 0), 'Growing by 0x10000 at 0x00020000 (3 memory.grow calls)');
    assert.equal(text(5, 0x20000, 0x10000, 1, 0), 'Growing by 0x10000 at 0x00020000 (1 memory.grow call)');
    assert.equal(text(6, 0x200, 0, 0, 0), 'Flushing 0x200 cached bytes');
    assert.equal(text(7, 0x100000, 0, 0, 0), 'Out of memory for 0x100000');
    assert.equal(text(8, 0x10000, 0, 0, 0), 'Trimming 0x10000');
    assert.equal(text(9, 1, 0x20, 0, 0), 'Event 9 (0x1, 0x20, 0x0, 0x0)');
  });

  test('the pool picture marks the focus block and cuts at 16 blocks each side', () => {
    const pool = (states) => [...states].map((c, i) => ({ address: 0x1010 + 32 * i, size: 32, state: c === 'x' ? 'used' : c === '_' ? 'free' : 'cached' }));
    const blocks = pool('xx_cx');
    assert.equal(poolPicture(blocks, 0x1010), '|xx_cx');
    assert.equal(poolPicture(blocks, 0x1010 + 64), 'xx|_cx');
    assert.equal(poolPicture(blocks, 0x1010 + 64 + 8), 'xx|_cx', 'an address inside a block puts the bar before that block');
    assert.equal(poolPicture(blocks, 0x1010 + 160), 'xx_cx|', 'past the last block: the bar at the end');
    assert.equal(poolPicture(blocks), 'xx_cx', 'no focus, no bar');
    assert.equal(poolPicture([]), '-');
    const many = pool('x'.repeat(20) + '_' + 'c'.repeat(20));
    assert.equal(poolPicture(many, 0x1010 + 32 * 20), '…' + 'x'.repeat(16) + '|_' + 'c'.repeat(15) + '…');
    assert.equal(poolPicture(many, 0x1010), '|' + 'x'.repeat(16) + '…');
    assert.equal(poolPicture(many), '…' + 'x'.repeat(11) + '_' + 'c'.repeat(20), 'without a focus: the top 32 blocks');
  });

  test('a line is `<pool> : <text>` with the pool around the event\'s block', () => {
    const blocks = [{ address: 0x1010, size: 32, state: 'used' }, { address: 0x1030, size: 48, state: 'free' }];
    assert.equal(eventLine(decodeEvent(2, 0x1030, 0x10, 2, 0), blocks), 'x|_ : Freeing 0x00001030[0x10]');
    assert.equal(eventLine(decodeEvent(4, 0x1018, 0x8, 0x1010, 0), blocks), '|x_ : Deallocating 0x00001018[0x8] of 0x00001010');
    assert.equal(eventLine(decodeEvent(3, 0, 0x40, 0x1010, 0x10), blocks), '|x_ : Reallocating 0x00001010[0x10] to 0x40 (align 16) -> 0x00000000', 'a failed realloc points at the old block');
    assert.equal(eventLine(decodeEvent(8, 0x1000, 0, 0, 0), blocks), 'x_ : Trimming 0x1000');
    assert.equal(eventLine(decodeEvent(1, 0x1010, 0x10, 16, 1), undefined), '? : Allocating 0x10 (align 16) -> 0x00001010 #1');
  });
});

describe('hooks and options on a heap (mock allocator)', () => {
  test('a misuse report throws E_MISUSE with the exact message and logs it at level 1', () => {
    const { heap, lines } = mockHeap({ logLevel: 1 });
    const p = heap.malloc(24);
    heap.free(p);
    const e = caught(() => heap.free(p), 'E_MISUSE');
    assert.equal(e.message, `ralloc: double free of 0x${p.toString(16).padStart(8, '0')} (24 bytes)`);
    assert.deepEqual(e.report, { code: 1, op: 'free', address: p, size: 24, aux: 0 });
    assert.deepEqual(lines, [[`! : ${e.message}`, 1]], 'only the error line: level 1 hides the operations');
    assert.equal(caught(() => heap.free(0x100), 'E_MISUSE').message, 'ralloc: invalid free of 0x00000100 (static data, below the heap)');
    assert.equal(caught(() => heap.free(0x9000), 'E_MISUSE').message, 'ralloc: invalid free of 0x00009000 (outside the heap)');
  });

  test('logLevel 0 (the default without onLog) logs nothing, not even errors', () => {
    const { heap, lines } = mockHeap({ logLevel: 0 });
    heap.free(heap.malloc(8));
    caught(() => heap.free(0x100), 'E_MISUSE');
    assert.deepEqual(lines, []);
    assert.equal(heap.exports.level.value, 0, 'the allocator is asked for no events');
    const quiet = createHeap({ allocator: MOCK, heapBase: 0x400 });
    assert.equal(quiet.logLevel, 0);
    assert.equal(quiet.exports.level.value, 0);
  });

  test('onLog alone means level 2: operation lines with the pool picture, not pool events', () => {
    const { heap, lines, x } = mockHeap();
    assert.equal(heap.logLevel, 2);
    assert.equal(x.level.value, 2);
    const a = heap.malloc(10);
    const b = heap.malloc(40);
    heap.free(a);
    x.cache(b);
    x.emit(5, 0x10000, 0x10000, 1, 0); // a pool event: not sent at level 2
    x.emit(4, b + 16, 8, b, 0);
    assert.deepEqual(lines, [
      ['|x : Allocating 0xa (align 16) -> 0x00000410 #1', 2],
      ['x|x : Allocating 0x28 (align 16) -> 0x00000430 #2', 2],
      ['|_x : Freeing 0x00000410[0xa]', 2],
      ['_|c : Deallocating 0x00000440[0x8] of 0x00000430', 2],
    ]);
  });

  test('level 3 adds pool events; setLogLevel changes the level at run time', () => {
    const { heap, lines, x } = mockHeap({ logLevel: 3 });
    heap.malloc(16);
    x.emit(5, 0x10000, 0x10000, 2, 0);
    x.emit(6, 0x200, 0, 0, 0);
    assert.deepEqual(lines.map(([l, v]) => `${v} ${l}`), [
      '2 |x : Allocating 0x10 (align 16) -> 0x00000410 #1',
      '3 x| : Growing by 0x10000 at 0x00010000 (2 memory.grow calls)',
      '3 x : Flushing 0x200 cached bytes',
    ]);
    lines.length = 0;
    heap.setLogLevel(1);
    assert.equal(x.level.value, 1);
    heap.malloc(16);
    assert.deepEqual(lines, []);
    heap.setLogLevel(2);
    heap.malloc(16);
    assert.equal(lines.length, 1);
    for (const bad of [4, -1, 1.5, '2', null]) {
      assert.equal(caught(() => heap.setLogLevel(bad), 'E_BAD_OPTION').message, `setLogLevel: level must be 0, 1, 2 or 3, got ${bad === '2' ? '"2"' : String(bad)}`);
    }
  });

  test('onEvent gets decoded events, raises the level to 2 only while listening, and stops on unsubscribe', () => {
    const { heap, lines, x } = mockHeap({ logLevel: 1 });
    assert.equal(x.level.value, 1);
    const seen = [];
    const stop = heap.onEvent((e) => seen.push(e));
    assert.equal(x.level.value, 2, 'a listener raises the runtime level to 2');
    const p = heap.malloc(5);
    heap.free(p);
    assert.deepEqual(seen.map((e) => [e.kind, e.address, e.size]), [['alloc', p, 5], ['free', p, 5]]);
    assert.equal(seen[0].serial, 1);
    assert.deepEqual(lines, [], 'onLog still gets only what its level allows');
    stop();
    stop(); // a second call changes nothing
    assert.equal(x.level.value, 1, 'back to the onLog level');
    heap.malloc(5);
    assert.equal(seen.length, 2);
    assert.throws(() => heap.onEvent('no'), { name: 'RallocError', code: 'E_BAD_OPTION', message: 'onEvent: listener must be a function, got "no"' });
  });

  test('onEvent on a build without events is E_UNSUPPORTED', () => {
    for (const build of ['release', 'small', 'security']) {
      const heap = createHeap({ build });
      assert.equal(heap.maxLogLevel, 0);
      const e = caught(() => heap.onEvent(() => {}), 'E_UNSUPPORTED');
      assert.equal(e.message, `onEvent: ralloc-wasm's ${build} build sends no events; use the debug or validate build`);
    }
  });

  test('logging options are checked with exact messages', () => {
    const bad = (options, message) => assert.equal(caught(() => createHeap({ allocator: MOCK, heapBase: 0x400, ...options }), 'E_BAD_OPTION').message, message);
    bad({ logLevel: 4 }, 'createHeap: option logLevel must be 0, 1, 2 or 3, got 4');
    bad({ logLevel: '1' }, 'createHeap: option logLevel must be 0, 1, 2 or 3, got "1"');
    bad({ onLog: 'console' }, 'createHeap: option onLog must be a function, got "console"');
  });

  test('seed: 64 bits from a number or a bigint, given to ralloc_seed before anything is allocated', () => {
    const seeded = (seed) => {
      const { heap } = mockHeap({ seed });
      return [heap.exports.seed_lo.value >>> 0, heap.exports.seed_hi.value >>> 0];
    };
    assert.deepEqual(seeded(0), [0, 0]);
    assert.deepEqual(seeded(2 ** 40 + 5), [5, 256]);
    assert.deepEqual(seeded(Number.MAX_SAFE_INTEGER), [0xffffffff, 0x1fffff]);
    assert.deepEqual(seeded(0x0123456789abcdefn), [0x89abcdef, 0x01234567]);
    assert.deepEqual(seeded(2n ** 64n - 1n), [0xffffffff, 0xffffffff]);
    assert.deepEqual(seeded(undefined), [0xffffffff, 0xffffffff], 'no seed: ralloc_seed is not called (the mock keeps its -1s)');
    const range = 'must be an integer number from 0 to 9007199254740991 or a bigint from 0n to 18446744073709551615n';
    for (const [seed, shown] of [[-1, '-1'], [1.5, '1.5'], [2 ** 53, '9007199254740992'], [-1n, '-1n'], [2n ** 64n, '18446744073709551616n'], ['7', '"7"']]) {
      assert.equal(caught(() => createHeap({ allocator: MOCK, heapBase: 0x400, seed }), 'E_BAD_OPTION').message, `createHeap: option seed ${range}, got ${shown}`);
    }
    const noSeed = wat(`(module (import "env" "memory" (memory 1)) (func (export "malloc") (param i32) (result i32) (i32.const 0)) (func (export "free") (param i32)))`);
    assert.equal(caught(() => createHeap({ allocator: noSeed, seed: 1 }), 'E_UNSUPPORTED').message,
      'createHeap: option seed needs an allocator that exports ralloc_seed, which this one does not');
  });

  test('leaks() lists live blocks in address order (cached blocks are free); assertNoLeak throws E_LEAK with the report', () => {
    const { heap, x } = mockHeap();
    const a = heap.malloc(10);
    const b = heap.malloc(100);
    const c = heap.malloc(1);
    const d = heap.malloc(20);
    heap.free(b);
    x.cache(d);
    assert.deepEqual(heap.leaks(), [{ address: a, size: 10, serial: 1 }, { address: c, size: 1, serial: 3 }]);
    const e = caught(() => heap.assertNoLeak(), 'E_LEAK');
    assert.equal(e.message, 'ralloc: 2 blocks leaked (11 bytes)\n  0x00000410 10 bytes #1\n  0x000004b0 1 byte #3');
    assert.deepEqual(e.leaks, heap.leaks());
    heap.free(a);
    heap.free(c);
    assert.deepEqual(heap.leaks(), []);
    heap.assertNoLeak();
  });

  test('a LEAK report from the allocator carries the block lines', () => {
    const { heap, lines } = mockHeap();
    const a = heap.malloc(48);
    heap.malloc(16);
    heap.free(heap.malloc(8));
    lines.length = 0;
    const e = caught(() => heap.exports.ralloc_assert_no_leak(), 'E_MISUSE');
    assert.equal(e.message, `ralloc: 2 blocks leaked (64 bytes)\n  0x${a.toString(16).padStart(8, '0')} 48 bytes #1\n  0x00000450 16 bytes #2`);
    assert.deepEqual(e.report, { code: 11, op: 'ralloc_assert_no_leak', address: 2, size: 64, aux: 0 });
    assert.deepEqual(lines, [[`! : ${e.message}`, 1]]);
  });

  test('layout() decodes ralloc_layout and leaves the scratch bytes as they were', () => {
    const { heap } = mockHeap();
    heap.HEAPU8.fill(0x5a, 0, 0x100);
    heap.malloc(32);
    assert.deepEqual(heap.layout(), { version: 1, shimBase: 0x100, shimEnd: 0x180, root: 0x400, rootSize: 0x10, brk: 0x430, memoryEnd: 2 ** 32, guardBytes: 16 });
    assert.ok(heap.HEAPU8.subarray(0, 0x100).every((v) => v === 0x5a), 'the borrowed bytes are restored');
  });
});

describe('build names', () => {
  test('validate, tiny and threads are build names, but not among the everyday full-API builds', () => {
    assert.deepEqual(BUILD_NAMES, ['release', 'small', 'debug', 'security']);
    assert.deepEqual(ALL_BUILD_NAMES, ['release', 'small', 'debug', 'security', 'tiny', 'validate', 'threads']);
    assert.equal(caught(() => createHeap({ build: 'fast' }), 'E_BAD_OPTION').message,
      'createHeap: option build: unknown build "fast"; use one of release, small, debug, security, tiny, validate, threads');
  });
});

describe('the real builds', () => {
  test('debug: exact log lines for a short session, the error line last', () => {
    const lines = [];
    const heap = createHeap({ build: 'debug', onLog: (line, level) => lines.push(`${level} ${line}`) });
    assert.equal(heap.maxLogLevel, 3);
    const a = heap.malloc(24);
    const b = heap.malloc(100);
    heap.free(a);
    const e = caught(() => heap.free(a), 'E_MISUSE');
    const h = (p) => `0x${p.toString(16).padStart(8, '0')}`;
    assert.equal(e.message, `ralloc: double free of ${h(a)} (24 bytes)`);
    assert.deepEqual(lines, [
      `2 |x_ : Allocating 0x18 (align 16) -> ${h(a)} #1`,
      `2 x|x_ : Allocating 0x64 (align 16) -> ${h(b)} #2`,
      `2 |cx_ : Freeing ${h(a)}[0x18]`,
      `1 ! : ${e.message}`,
    ]);
  });

  test('debug: the allocator\'s own leak check reports the live blocks with their serials; assertNoLeak says the same', () => {
    const heap = createHeap({ build: 'debug' });
    const a = heap.malloc(10);
    heap.free(heap.malloc(50));
    const b = heap.malloc(30);
    const h = (p) => `0x${p.toString(16).padStart(8, '0')}`;
    const text = `ralloc: 2 blocks leaked (40 bytes)\n  ${h(a)} 10 bytes #1\n  ${h(b)} 30 bytes #3`;
    const e = caught(() => heap.exports.ralloc_assert_no_leak(), 'E_MISUSE');
    assert.equal(e.message, text);
    assert.equal(caught(() => heap.assertNoLeak(), 'E_LEAK').message, text);
  });

  test('debug: a partial dealloc running past its block is reported with the RANGE message', () => {
    const heap = createHeap({ build: 'debug' });
    const a = heap.malloc(200);
    heap.malloc(200);
    const h = (p) => `0x${p.toString(16).padStart(8, '0')}`;
    const e = caught(() => heap.dealloc(a + 100, 400), 'E_MISUSE');
    assert.equal(e.message, `ralloc: invalid ralloc_dealloc of ${h(a + 100)} (400 bytes: not inside one live block)`);
  });

  test('track() on debug names the JS function that allocated each leak; on release it is E_UNSUPPORTED', () => {
    const heap = createHeap({ build: 'debug' });
    const tracker = heap.track();
    function leakSomething() { return heap.malloc(33); }
    const p = leakSomething();
    heap.free(heap.malloc(8));
    const leaks = tracker.leaks();
    assert.deepEqual(leaks.map((b) => [b.address, b.size, b.serial]), [[p, 33, 1]]);
    assert.match(leaks[0].stack.split('\n')[0], /^at leakSomething \(/);
    tracker.stop();
    assert.equal(caught(() => createHeap({ build: 'release' }).track(), 'E_UNSUPPORTED').message,
      'onEvent: ralloc-wasm\'s release build sends no events; use the debug or validate build');
  });

  test('release: leaks() gives usable sizes and serial 0, shown as #?', () => {
    const heap = createHeap({ build: 'release' });
    const a = heap.malloc(10);
    const b = heap.malloc(100);
    heap.free(heap.malloc(5));
    const sizes = [heap.usableSize(a), heap.usableSize(b)];
    assert.deepEqual(heap.leaks(), [{ address: a, size: sizes[0], serial: 0 }, { address: b, size: sizes[1], serial: 0 }]);
    const h = (p) => `0x${p.toString(16).padStart(8, '0')}`;
    assert.equal(caught(() => heap.assertNoLeak(), 'E_LEAK').message,
      `ralloc: 2 blocks leaked (${sizes[0] + sizes[1]} bytes)\n  ${h(a)} ${sizes[0]} bytes #?\n  ${h(b)} ${sizes[1]} bytes #?`);
  });

  test('validate: a canary overwritten is caught by the heap check after the next call', () => {
    const lines = [];
    const heap = createHeap({ build: 'validate', logLevel: 1, onLog: (line, level) => lines.push([line, level]) });
    const x = heap.malloc(24);
    heap.malloc(24);
    heap.HEAPU8[x + 24] = 1;
    const e = caught(() => heap.malloc(16), 'E_MISUSE');
    assert.equal(e.message, `ralloc: heap check failed: GUARD (code 17) at 0x${x.toString(16).padStart(8, '0')}, after malloc`);
    assert.deepEqual(e.report, { code: 10, op: 'malloc', address: x, size: 17, aux: 0 });
    assert.deepEqual(lines, [[`! : ${e.message}`, 1]]);
  });

  test('security: misuse reports reach onLog at level 1; check words are keyed by the seed, random when none is given', () => {
    /** The check word of the first block of a fresh heap: the trailer's u32 at p + S - 8 (S: the block size). */
    const checkWord = (options) => {
      const heap = createHeap({ build: 'security', ...options });
      const p = heap.malloc(24);
      const block = heap.walk().find((blk) => blk.address === p);
      return heap.HEAPU32[(p + block.size - 8) >> 2];
    };
    assert.equal(checkWord({ seed: 1 }), checkWord({ seed: 1 }), 'the same seed, the same key');
    assert.equal(checkWord({ seed: 2n ** 64n - 1n }), checkWord({ seed: 2n ** 64n - 1n }));
    assert.notEqual(checkWord({ seed: 1 }), checkWord({ seed: 2 }), 'another seed, another key');
    assert.notEqual(checkWord({ seed: 1 }), checkWord({ seed: 2 ** 32 + 1 }), 'the high half counts');
    assert.notEqual(checkWord({}), checkWord({}), 'no seed: 8 random bytes each time');
    const lines = [];
    const heap = createHeap({ build: 'security', onLog: (line, level) => lines.push([line, level]) });
    const p = heap.malloc(40);
    heap.free(p);
    const e = caught(() => heap.free(p), 'E_MISUSE');
    assert.equal(e.message, `ralloc: double free of 0x${p.toString(16).padStart(8, '0')} (40 bytes)`);
    assert.deepEqual(lines, [[`! : ${e.message}`, 1]], 'no events on security, but the error line');
  });
});

describe('programs', () => {
  // Prints the block's address (stderr is unbuffered), frees it twice, and would print after that.
  const DOUBLE_FREE = `#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
int main(void) {
  char *p = malloc(24);
  fprintf(stderr, "p=0x%08x\\n", (unsigned)(uintptr_t)p);
  free(p);
  free(p);
  fprintf(stderr, "after\\n");
  return 0;
}`;
  // Freestanding: malloc and free from env, which the mock allocator serves (volatile: clang would
  // otherwise drop the malloc/free pair).
  const FREESTANDING = `typedef __SIZE_TYPE__ size_t;
void *malloc(size_t); void free(void *);
void *get(size_t n) { return malloc(n); }
void twice(void) { void *volatile p = malloc(8); free(p); free(p); }
void _start(void) { free((void *)0x100); }`;
  let doubleFree;
  let freestanding;
  before(async () => {
    doubleFree = (await compileC({ sources: { 'df.c': DOUBLE_FREE } })).wasm;
    freestanding = (await compileC({ sources: { 'fs.c': FREESTANDING }, mode: 'env', exports: ['get', 'twice', '_start'] })).wasm;
  });

  /** Runs a WASI program through instantiateProgram with stderr to a file; returns { error, exitCode, stderr }. */
  async function runCapturing(wasm, options) {
    const { mkdtempSync, openSync, closeSync, readFileSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(`${tmpdir()}/ralloc-debug-test-`);
    const fd = openSync(`${dir}/err`, 'w');
    let error, exitCode;
    try {
      const program = await instantiateProgram(wasm, { ...options, stderr: fd });
      exitCode = program.run();
    } catch (e) {
      error = e;
    } finally {
      closeSync(fd);
    }
    const stderr = readFileSync(`${dir}/err`, 'utf8');
    rmSync(dir, { recursive: true, force: true });
    return { error, exitCode, stderr };
  }

  test('dynamic: a double free in C throws from run() and rejects runProgram with the exact E_MISUSE message; onLog saw the calls', async () => {
    const lines = [];
    const r = await runCapturing(doubleFree, { build: 'debug', onLog: (line, level) => lines.push(`${level} ${line}`) });
    const p = /^p=(0x[0-9a-f]{8})\n$/.exec(r.stderr)?.[1];
    assert.ok(p, `the program printed its block and nothing after the misuse: ${JSON.stringify(r.stderr)}`);
    assert.ok(r.error instanceof RallocError, `got ${r.error?.stack ?? r.error}`);
    assert.equal(r.error.code, 'E_MISUSE');
    assert.equal(r.error.message, `ralloc: double free of ${p} (24 bytes)`);
    // the last live block: its free gives the quick lists back, so the pool shows one free stretch
    assert.ok(lines.includes(`2 |_ : Freeing ${p}[0x18]`), lines.join('\n'));
    assert.equal(lines.at(-1), `1 ! : ralloc: double free of ${p} (24 bytes)`);
    await rejectsWith(() => runProgram(doubleFree, { build: 'debug' }), 'E_MISUSE', new RegExp(`^ralloc: double free of ${p} \\(24 bytes\\)$`));
    await rejectsWith(() => runProgram(doubleFree, { build: 'security', seed: 5n }), 'E_MISUSE', new RegExp(`^ralloc: double free of ${p} \\(24 bytes\\)$`));
    // Release serves a class's first requests as blocks with a header (a class gets pages once it
    // asked for 16 objects) and ignores the second free: the block stays free, the heap sound.
    const release = await runProgram(doubleFree, { build: 'release' });
    const rp = Number(/^p=(0x[0-9a-f]{8})\nafter\n$/.exec(Buffer.from(release.stderr).toString())?.[1]);
    assert.ok(rp > 0, `release ignores the second free: ${Buffer.from(release.stderr).toString()}`);
    const block = release.heap.walk().find((b) => b.address === rp);
    assert.deepEqual([block?.kind, block?.state], ['block', 'free']);
    assert.equal(release.heap.exports.ralloc_check(), 0, 'the heap is sound after the ignored double free');
  });

  test('linkStatic: a debug program keeps only WASI imports, yet run() throws the exact message', async () => {
    const linked = await linkStatic(doubleFree, { build: 'debug' });
    const modules = [...new Set(WebAssembly.Module.imports(new WebAssembly.Module(linked)).map((i) => i.module))].sort();
    assert.deepEqual(modules, ['wasi_snapshot_preview1']);
    const lines = [];
    const r = await runCapturing(linked, { onLog: (line, level) => lines.push([line, level]) });
    const p = /^p=(0x[0-9a-f]{8})\n$/.exec(r.stderr)?.[1];
    assert.ok(p, r.stderr);
    assert.ok(r.error instanceof RallocError, `got ${r.error?.stack ?? r.error}`);
    assert.equal(r.error.message, `ralloc: double free of ${p} (24 bytes)`);
    assert.ok(r.error.cause instanceof WebAssembly.RuntimeError, 'the trap is the cause');
    assert.deepEqual(lines, [[`! : ${r.error.message}`, 1]], 'a linked program sends no events, only the report');
    const program = await instantiateProgram(linked);
    assert.equal(caught(() => program.heap.onEvent(() => {}), 'E_UNSUPPORTED').message,
      'onEvent: ralloc-wasm\'s debug build cannot send events to the host (its ralloc_hooks.event is not wired to this heap); instantiate the program with instantiateProgram instead of linking it statically');
  });

  test('linkStatic with a custom allocator: heap methods, Module exports and run() all give the report; raw exports trap', async () => {
    const linked = await linkStatic(freestanding, { allocator: MOCK });
    assert.deepEqual(WebAssembly.Module.imports(new WebAssembly.Module(linked)).map((i) => `${i.module}.${i.name}`), [], 'not even its memory');
    const p = await instantiateProgram(linked);
    const a = p.Module._get(8);
    assert.equal(caught(() => p.Module._twice(), 'E_MISUSE').message, 'ralloc: double free of 0x00000430 (8 bytes)');
    p.heap.free(a);
    assert.equal(caught(() => p.heap.free(a), 'E_MISUSE').message, 'ralloc: double free of 0x00000410 (8 bytes)');
    assert.equal(caught(() => p.run(), 'E_MISUSE').message, 'ralloc: invalid free of 0x00000100 (static data, below the heap)');
    assert.throws(() => p.instance.exports.twice(), WebAssembly.RuntimeError, 'a raw export just traps');
    assert.equal(p.heap.exports.free, p.instance.exports.free, 'heap.exports are the raw exports');
    assert.throws(() => p.Module._ralloc_block_info(0), (e) => e instanceof WebAssembly.RuntimeError && /out of bounds/.test(e.message),
      'a trap of another kind after it stays itself: the report the raw call left is not blamed on it');
    assert.equal(caught(() => p.Module._twice(), 'E_MISUSE').message, 'ralloc: double free of 0x00000470 (8 bytes)');
  });

  test('option track: the result\'s tracker names the C function that leaked', async () => {
    const src = `#include <stdlib.h>
#include <string.h>
char *__attribute__((noinline)) remember(const char *s) { return strdup(s); }
int main(void) { free(malloc(10)); remember("kept"); return 0; }`;
    const { wasm } = await compileC({ sources: { 'leak.c': src } });
    const r = await runProgram(wasm, { build: 'debug', track: true });
    assert.equal(r.exitCode, 0);
    const leaks = r.tracker.leaks();
    assert.equal(leaks.length, 1, r.tracker.report());
    assert.equal(leaks[0].size, 5);
    assert.match(leaks[0].stack, /remember/);
    assert.equal(r.tracker.leaks().length, r.heap.leaks().length, 'the program made no other block');
    const p = await instantiateProgram(wasm, { build: 'release' });
    assert.equal(p.tracker, undefined);
    await rejectsWith(() => instantiateProgram(wasm, { build: 'release', track: true }), 'E_UNSUPPORTED', /release build sends no events/);
    await rejectsWith(() => instantiateProgram(wasm, { build: 'debug', track: 'yes' }), 'E_BAD_OPTION',
      /^instantiateProgram: option track must be true, false or the Tracker's options, got "yes"$/);
  });

  test('program options are checked like createHeap\'s', async () => {
    await rejectsWith(() => instantiateProgram(doubleFree, { logLevel: 9 }), 'E_BAD_OPTION', /^instantiateProgram: option logLevel must be 0, 1, 2 or 3, got 9$/);
    await rejectsWith(() => instantiateProgram(doubleFree, { onLog: 1 }), 'E_BAD_OPTION', /^instantiateProgram: option onLog must be a function, got 1$/);
    await rejectsWith(() => instantiateProgram(doubleFree, { seed: -1 }), 'E_BAD_OPTION', /^instantiateProgram: option seed must be an integer number from 0 to 9007199254740991 or a bigint from 0n to 18446744073709551615n, got -1$/);
  });
});
