// The allocation tracker (bindings/tracker.ts): its leak list holds exactly the blocks left
// allocated, each with the stack of the code that allocated it (JavaScript or a C program's wasm).
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { bindings, rejectsWith } from './lib/dist.js';
import { warmPages } from './lib/instance.js';

const { createHeap, instantiateProgram, compileC } = bindings;
const { Tracker } = await import('../dist/bindings/tracker.js');

const hex = (n) => '0x' + (n >>> 0).toString(16).padStart(8, '0');
const firstFrame = (stack) => stack.split('\n')[0];

// Named functions whose names must come out first in the recorded stacks.
function allocateLeakyTable(heap) {
  return heap.malloc(40);
}
function allocateAndFreeScratch(heap) {
  const p = heap.malloc(64);
  heap.free(p);
}
function growTheBuffer(heap, p) {
  return heap.realloc(p, 5000);
}
function allocateRecord(heap) {
  return heap.calloc(3, 100);
}

describe('Tracker on a debug heap', () => {
  test('leaks() holds exactly the unfreed blocks, each with a stack naming the function that allocated it', () => {
    const heap = createHeap({ build: 'debug' });
    const before = heap.malloc(10); // not tracked: allocated before the tracker started
    const tracker = new Tracker(heap);
    const leaked = [allocateLeakyTable(heap), allocateLeakyTable(heap)];
    allocateAndFreeScratch(heap);
    const grown = growTheBuffer(heap, allocateLeakyTable(heap));
    const record = allocateRecord(heap);
    heap.free(record);
    heap.free(before);
    const leaks = tracker.leaks();
    assert.deepEqual(leaks.map((b) => b.address), [...leaked, grown].sort((a, b) => a - b));
    for (const b of leaks) {
      const expected = b.address === grown ? 'growTheBuffer' : 'allocateLeakyTable';
      assert.match(firstFrame(b.stack), new RegExp(`^at ${expected} \\(file://.*tracker\\.test\\.js:\\d+:\\d+\\)$`), b.stack);
      assert.match(b.stack, /tracker\.test\.js/);
      assert.doesNotMatch(b.stack, /dist\/bindings\//, 'the bindings\' own frames are cut');
      assert.doesNotMatch(b.stack, /wasm:\/\//, 'the allocator\'s wasm frames are cut');
      assert.equal(b.size, b.address === grown ? 5000 : 40);
    }
    // The serials are the allocator's: the leaked blocks were allocations 2 and 3 (1 is `before`).
    assert.deepEqual(leaks.filter((b) => b.address !== grown).map((b) => b.serial), [2, 3]);
    assert.equal(leaks.find((b) => b.address === grown).serial, heap.exports.ralloc_block_serial(grown));
    assert.deepEqual(tracker.live(), leaks, 'with every event seen, live() and leaks() agree');
    // heap.leaks() (the whole heap) agrees on what is live.
    assert.deepEqual(walkLive(heap), leaks.map((b) => b.address));
    tracker.stop();
  });

  test('report() is the LEAK report with each block\'s stack under it', () => {
    const heap = createHeap({ build: 'debug' });
    const tracker = new Tracker(heap, { stackDepth: 2 });
    const a = allocateLeakyTable(heap);
    const b = allocateRecord(heap);
    const lines = tracker.report().split('\n');
    assert.equal(lines[0], 'ralloc: 2 blocks leaked (340 bytes)');
    assert.equal(lines[1], `  ${hex(a)} 40 bytes #1`);
    assert.match(lines[2], /^      at allocateLeakyTable \(/);
    assert.match(lines[3], /^      at .*tracker\.test\.js/);
    assert.equal(lines[4], `  ${hex(b)} 300 bytes #2`);
    assert.match(lines[5], /^      at allocateRecord \(/);
    assert.equal(lines.length, 8, 'two frames per block (stackDepth 2), and a final newline');
    assert.equal(lines[7], '');
    heap.free(a);
    heap.free(b);
    assert.equal(tracker.report(), 'ralloc: no leaks\n');
  });

  test('a realloc moves the record and takes the realloc\'s stack; a failed realloc keeps the block', () => {
    const heap = createHeap({ build: 'debug', maximumPages: 4 });
    const tracker = new Tracker(heap);
    const p = allocateLeakyTable(heap);
    heap.malloc(40); // keeps p from growing in place
    const q = growTheBuffer(heap, p);
    assert.notEqual(q, p);
    assert.equal(tracker.live().find((b) => b.address === p), undefined);
    const rec = tracker.live().find((b) => b.address === q);
    assert.equal(rec.size, 5000);
    assert.match(firstFrame(rec.stack), /^at growTheBuffer /);
    assert.equal(heap.realloc(q, 10 << 20), 0, 'too big for 4 pages');
    assert.equal(tracker.live().find((b) => b.address === q)?.size, 5000);
    assert.equal(heap.realloc(q, 0), 0, 'realloc to 0 frees');
    assert.equal(tracker.live().find((b) => b.address === q), undefined);
  });

  test('a partial free keeps the pieces left in use, under the first stack', () => {
    const heap = createHeap({ build: 'debug' });
    const tracker = new Tracker(heap);
    const p = allocateRecord(heap); // 300 bytes
    heap.malloc(20);
    assert.ok(heap.dealloc(p + 32, 64), 'frees a middle piece');
    const pieces = tracker.leaks().filter((b) => b.address >= p && b.address < p + 300);
    const walk = walkLive(heap).filter((a) => a >= p && a < p + 300);
    assert.deepEqual(pieces.map((b) => b.address), walk);
    assert.equal(pieces.length, 2, 'the front and the back of the block');
    assert.equal(pieces[0].address, p);
    assert.equal(pieces[0].size, 32);
    for (const b of pieces) assert.match(firstFrame(b.stack), /^at allocateRecord /);
    heap.dealloc(pieces[0].address, 32);
    heap.dealloc(pieces[1].address, pieces[1].size);
    assert.deepEqual(tracker.leaks().filter((b) => b.address >= p && b.address < p + 300), []);
  });

  test('stop() ends recording; the records stay as they were', () => {
    const heap = createHeap({ build: 'debug' });
    const tracker = new Tracker(heap);
    const a = allocateLeakyTable(heap);
    assert.equal(tracker.tracking, true);
    tracker.stop();
    tracker.stop(); // twice is harmless
    assert.equal(tracker.tracking, false);
    const b = allocateLeakyTable(heap);
    assert.deepEqual(tracker.live().map((x) => x.address), [a]);
    assert.deepEqual(tracker.leaks().map((x) => x.address), [a], 'b was allocated after stop()');
    heap.free(b);
  });

  test('validate sends events too; release, small and security have none', async () => {
    const v = createHeap({ build: 'validate' });
    const t = new Tracker(v);
    allocateLeakyTable(v);
    assert.equal(t.leaks().length, 1);
    for (const build of ['release', 'small', 'security']) {
      await rejectsWith(() => new Tracker(createHeap({ build })), 'E_UNSUPPORTED', /sends no events; use the debug or validate build/);
    }
  });

  test('heap.track() starts a Tracker on the heap', () => {
    const heap = createHeap({ build: 'debug' });
    const tracker = heap.track({ stackDepth: 1 });
    assert.ok(tracker instanceof Tracker);
    const p = allocateLeakyTable(heap);
    assert.deepEqual(tracker.leaks().map((b) => [b.address, b.stack.split('\n').length]), [[p, 1]]);
    assert.match(tracker.leaks()[0].stack, /^at allocateLeakyTable /);
    tracker.stop();
  });

  test('bad sources and options raise E_BAD_OPTION', async () => {
    await rejectsWith(() => new Tracker({}), 'E_BAD_OPTION', /^Tracker: expected a heap \(an object with onEvent\), such as createHeap\(\{ build: "debug" \}\)$/);
    await rejectsWith(() => new Tracker(null), 'E_BAD_OPTION', /^Tracker: expected a heap/);
    const heap = createHeap({ build: 'debug' });
    await rejectsWith(() => new Tracker(heap, { stackDepth: 0 }), 'E_BAD_OPTION', /^Tracker: option stackDepth must be an integer from 1 to 200, got 0$/);
  });

  test('over a release heap\'s walk, leaks() confirms live objects and blocks, never pages, the table or free slots', () => {
    // Release sends no events: a fake source forwards hand-made ones, and the walk is release's own.
    const heap = warmPages(createHeap({ build: 'release' }), [24]); // (its class is served from a page)
    let send;
    const tracker = new Tracker({ exports: heap.exports, onEvent(listener) { send = listener; return () => {}; } });
    const alloc = (n) => { const p = heap.malloc(n); send({ kind: 'alloc', address: p, size: n, align: 16, serial: 0 }); return p; };
    const small = alloc(24);
    const freed = alloc(24);
    const large = alloc(3000);
    heap.free(freed);
    const walk = heap.walk();
    const page = walk.find((b) => b.kind === 'page');
    const table = walk.find((b) => b.kind === 'table');
    // Records the walk must not confirm: a freed object nobody told the tracker about, a page, the table.
    for (const p of [page.address, table.address]) send({ kind: 'alloc', address: p, size: 16, align: 16, serial: 0 });
    assert.deepEqual(tracker.live().map((b) => b.address), [small, freed, large, page.address, table.address].sort((a, b) => a - b));
    assert.deepEqual(tracker.leaks().map(({ stack, ...b }) => b), [
      { address: small, size: 32, serial: 0 },
      { address: large, size: heap.usableSize(large), serial: 0 },
    ].sort((a, b) => a.address - b.address), 'the walk\'s sizes: a 24-byte request is a 32-byte object');
    assert.deepEqual(tracker.leaks().map((b) => b.address), walkLive(heap));
    assert.deepEqual(heap.leaks().map((b) => b.address), walkLive(heap));
  });

  test('any object with onEvent works; without walk exports, leaks() is live()', () => {
    let send;
    const source = { onEvent(listener) { send = listener; return () => { send = undefined; }; } };
    const tracker = new Tracker(source);
    function allocateThroughAFakeHeap() { send({ kind: 'alloc', address: 4096, size: 24, align: 16, serial: 7 }); }
    allocateThroughAFakeHeap();
    send({ kind: 'alloc', address: 8192, size: 8, align: 16, serial: 8 });
    send({ kind: 'grow', address: 0, bytes: 65536, growCalls: 1 });
    send({ kind: 'free', address: 8192, size: 8, serial: 8 });
    const leaks = tracker.leaks();
    assert.deepEqual(leaks.map(({ stack, ...b }) => b), [{ address: 4096, size: 24, serial: 7 }]);
    assert.match(firstFrame(leaks[0].stack), /^at allocateThroughAFakeHeap /);
    tracker.stop();
    assert.equal(send, undefined, 'stop() unsubscribed');
  });
});

/** Addresses of the heap's live blocks, from the allocator's own walk (ralloc_walk): info's low
 *  bits 0 (in use), 8 (in use, LEAD_DEAD) or, in release, 2 (an object in use); never a free (1),
 *  cached (4) or free object (3), a page (6) or the page table (10). */
function walkLive(heap) {
  const { ralloc_walk: walk, ralloc_block_info: info } = heap.exports;
  const out = [];
  for (let p = walk(0) >>> 0; p !== 0; p = walk(p) >>> 0) if ([0, 2, 8].includes(info(p) & 15)) out.push(p);
  return out.sort((a, b) => a - b);
}

test('a C program: the stacks name the C functions that allocated the leaked blocks', async () => {
  const source = `#include <stdlib.h>
#include <string.h>
__attribute__((noinline)) char *make_name(const char *s) { return strdup(s); }
__attribute__((noinline)) void *make_table(int n) { return calloc(n, sizeof(int)); }
int main(void) {
  char *kept = make_name("kept on purpose");
  void *t = make_table(10);
  free(make_name("freed"));
  free(t);
  make_table(25);
  return kept[0] == 'k' ? 0 : 1;
}`;
  const { wasm } = await compileC({ sources: { 'leaky.c': source } });
  const program = await instantiateProgram(wasm, { build: 'debug', args: ['leaky'] });
  const tracker = new Tracker(program.heap);
  assert.equal(program.run(), 0);
  const leaks = tracker.leaks();
  assert.deepEqual(leaks.map((b) => b.size).sort((a, b) => a - b), [16, 100]);
  const byName = Object.fromEntries(leaks.map((b) => [b.size, b.stack]));
  assert.match(byName[16], /\bmake_name\b.*wasm:\/\//, byName[16]);
  assert.match(byName[100], /^at (\S+\.)?make_table \(wasm:\/\//, byName[100]);
  assert.match(byName[100], /\n.*main/, 'main is further down');
  assert.doesNotMatch(byName[100], /calloc|opAlloc/, 'no allocator or malloc-wrapper frames above the caller');
  assert.match(byName[16], /^at (\S+\.)?strdup \(wasm:\/\/.*\n.*make_name/, 'strdup called malloc for make_name');
});
