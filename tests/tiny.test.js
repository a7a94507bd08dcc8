// The tiny build (assembly/entry/tiny.ts): what it has that the C-ABI suites (cabi.test.js,
// fuzz.test.js, which run on it too) do not check (its code-size budget is in codesize.test.js):
// it exports the C ABI and the inspection calls and nothing of the extended
// API; its stats come from a walk of the heap; ralloc_check names a broken footer, link or bit;
// the walk crosses spans; realloc grows the block ending the heap in place, but uses a listed
// block before growing memory; a request finds a fitting block in its own list.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { PAGE, buildPath, createInstance, fillPattern, findPatternMismatch, hex } from './lib/instance.js';

const CHECK_SIZE = 2, CHECK_BOUNDS = 3, CHECK_FOOTER = 6, CHECK_LINK = 8;

describe('tiny build', { skip: !existsSync(buildPath('tiny')) && 'missing build/tiny.wasm' }, () => {
  const mk = (opts = {}) => createInstance('tiny', { initial: 1, maximum: 512, ...opts });
  /** Every block the walk visits, in order: [address, info]. */
  const walk = (r) => {
    const out = [];
    for (let p = r.exports.ralloc_walk(0) >>> 0; p; p = r.exports.ralloc_walk(p) >>> 0) {
      out.push([p, r.exports.ralloc_block_info(p) >>> 0]);
      if (out.length > 1e6) assert.fail('the walk does not end');
    }
    return out;
  };

  it('exports the C ABI and the inspection calls, and no call of the extended API', () => {
    const r = mk();
    const names = WebAssembly.Module.exports(r.module).map((e) => e.name).sort();
    assert.deepEqual(names, ['aligned_alloc', 'calloc', 'free', 'malloc', 'malloc_usable_size', 'memalign', 'posix_memalign',
      'ralloc_block_info', 'ralloc_check', 'ralloc_init', 'ralloc_stats', 'ralloc_walk', 'realloc', 'sbrk'].sort());
    const imports = WebAssembly.Module.imports(r.module).map((i) => `${i.module}.${i.name}`);
    assert.deepEqual(imports, ['env.memory'], 'tiny imports its memory and no hook');
  });

  it('stats come from a walk: bytes in use, live blocks, held bytes as the peak, call counters 0', () => {
    const r = mk();
    const ps = [1, 100, 5000, 70000, 0].map((n) => r.malloc(n));
    const used = ps.reduce((a, p) => a + r.usableSize(p), 0);
    let st = r.stats();
    assert.equal(st.bytesInUse, used);
    assert.equal(st.liveBlocks, 5);
    assert.equal(st.peakBytesHeld, used + 5 * 4, 'held = usable bytes plus a 4-byte header per block');
    assert.equal(st.mallocCalls + st.freeCalls + st.reallocCalls, 0, 'tiny counts no calls');
    assert.ok(st.growCalls >= 1 && st.bytesFromMemory >= used && st.bytesFromMemory <= r.memBytes());
    const gone = r.usableSize(ps[1]) + r.usableSize(ps[3]);
    r.free(ps[1]);
    r.free(ps[3]);
    st = r.stats();
    assert.equal(st.liveBlocks, 3);
    assert.equal(st.bytesInUse, used - gone, 'bytes in use after two frees');
  });

  it('ralloc_check names a broken footer, a broken list link and a lost FREE bit', () => {
    {
      const r = mk();
      const a = r.malloc(200), b = r.malloc(200), fence = r.malloc(16);
      r.free(a);
      assert.equal(r.check(), 0);
      const size = r.readU32(a - 4) & ~15;
      r.writeU32(a + size - 8, a + 16); // the footer must hold the block's own address
      assert.equal(r.check(), CHECK_FOOTER);
      void b; void fence;
    }
    {
      const r = mk();
      const a = r.malloc(200), f1 = r.malloc(16), b = r.malloc(200), f2 = r.malloc(16);
      r.free(a);
      r.free(b); // same list: b is the head, a follows it
      assert.equal(r.check(), 0);
      r.writeU32(a + 4, a); // a's back link must name the word that points to it (b's next link)
      assert.equal(r.check(), CHECK_LINK);
      void f1; void f2;
    }
    {
      const r = mk();
      const a = r.malloc(200), fence = r.malloc(16);
      r.free(a);
      r.writeU32(a - 4, r.readU32(a - 4) & ~1); // a free block that no longer says so
      assert.notEqual(r.check(), 0);
      void fence;
    }
  });

  it('the walk visits every block once, across spans that sbrk separates', () => {
    const r = mk({ maximum: 1024 });
    const first = [r.malloc(100), r.malloc(3000)];
    assert.notEqual(r.sbrk(1000), 0xffffffff); // the break moves: the next claim opens a new span
    const big = r.malloc(4 * PAGE);
    const after = r.malloc(50);
    const blocks = walk(r);
    const live = blocks.filter(([, info]) => !(info & 1)).map(([p]) => p).sort((x, y) => x - y);
    assert.deepEqual(live, [...first, big, after].sort((x, y) => x - y), 'the walk found exactly the live blocks');
    assert.equal(new Set(blocks.map(([p]) => p)).size, blocks.length, 'no block visited twice');
    const sum = blocks.reduce((a, [, info]) => a + (info & ~15), 0);
    assert.ok(sum > 4 * PAGE, `block sizes add up to ${sum}`);
    assert.equal(r.check(), 0);
  });

  it('walk, stats and check stay inside memory and end on a corrupted heap', { timeout: 30000 }, () => {
    { // a block whose size runs past the heap
      const r = mk();
      const a = r.malloc(100), b = r.malloc(100), c = r.malloc(100);
      const before = r.stats();
      r.writeU32(a - 4, 0x7ffffff0 | (r.readU32(a - 4) & 15));
      assert.equal(r.check(), CHECK_SIZE);
      const seen = walk(r).map(([p]) => p);
      assert.ok(seen.includes(a) && !seen.includes(b) && !seen.includes(c), 'the walk stops at the broken block');
      const s = r.stats();
      assert.ok(s.liveBlocks < before.liveBlocks, `stats count no further in that span (${s.liveBlocks} of ${before.liveBlocks} blocks)`);
      assert.equal(r.exports.ralloc_walk(0xfffffff0) >>> 0, 0, 'a pointer past memory is no block');
      assert.equal(r.exports.ralloc_walk(b + 8) >>> 0, 0, 'a misaligned pointer is no block');
    }
    { // a span list that loops back to the newest span
      const r = mk({ maximum: 1024 });
      r.malloc(100);
      assert.notEqual(r.sbrk(1000), 0xffffffff); // the next claim opens a second span
      r.malloc(4 * PAGE);
      const firsts = walk(r).map(([p]) => p);
      const newest = firsts[0], oldest = Math.min(...firsts);
      assert.ok(oldest < newest, 'two spans');
      r.writeU32(oldest - 12, newest); // the oldest span now names the newest as the one below it
      assert.equal(r.check(), CHECK_BOUNDS);
      assert.ok(walk(r).length <= firsts.length, 'the walk ends');
      r.stats(); // and so do stats
    }
  });

  it('realloc grows the block that ends the heap in place, growing memory under it', () => {
    const r = mk({ maximum: 1024 });
    let p = r.malloc(1000);
    fillPattern(r, p, 1000, 3);
    let n = 1000;
    for (; n < 3_000_000; n *= 2) {
      const q = r.realloc(p, n * 2);
      assert.equal(q, p, `realloc to ${n * 2} moved the block at the top (${hex(p)} -> ${hex(q)})`);
    }
    assert.equal(findPatternMismatch(r, p, 1000, 3), -1);
    assert.ok(r.memBytes() >= p + n, 'memory grew under the block');
    assert.equal(r.check(), 0);
  });

  it('realloc of the block at the top moves into a listed block that fits rather than grow memory', () => {
    const r = mk({ maximum: 1024 });
    const hole = r.malloc(60000), fence = r.malloc(16);
    // fill the free block at the top but 400 bytes, so that p ends the heap with little after it
    const topFree = walk(r).filter(([, info]) => info & 1).pop();
    const filler = r.malloc((topFree[1] & ~15) - 400 - 4);
    const p = r.malloc(100);
    assert.ok(p > filler && p > hole, 'p sits at the top of the heap');
    r.free(hole); // a 60 KB free block below p
    const mem = r.memBytes();
    fillPattern(r, p, 100, 9);
    const q = r.realloc(p, 30000);
    assert.notEqual(q, 0);
    assert.equal(r.memBytes(), mem, 'memory grew although a listed block fitted');
    assert.equal(findPatternMismatch(r, q, 100, 9), -1);
    assert.equal(r.check(), 0);
    void fence;
  });

  it('a request finds a fitting block in its own list (not only in lists above it), without growing memory', () => {
    const r = mk({ maximum: 1024 });
    // blocks of 4,096..8,191 bytes are listed in steps of 256: a 4,336-byte block and a request
    // for a 4,112-byte block share a list, which the O(1) search skips
    const a = r.malloc(4336 - 4), fence = r.malloc(16);
    const topFree = walk(r).filter(([, info]) => info & 1).pop();
    const filler = r.malloc((topFree[1] & ~15) - 4); // no larger free block is left
    assert.ok(filler > a);
    r.free(a);
    const mem = r.memBytes();
    const b = r.malloc(4112 - 4);
    assert.equal(b, a, 'the free block of the same list was not reused');
    assert.equal(r.memBytes(), mem);
    assert.equal(r.check(), 0);
    void fence;
  });
});

// The JS bindings over tiny: the family through a Heap, E_UNSUPPORTED for what tiny lacks, and a
// C program run under tiny, linked at instantiation and statically.
describe('tiny build through the JS bindings', { skip: !existsSync(buildPath('tiny')) && 'missing build/tiny.wasm' }, async () => {
  const { bindings } = await import('./lib/dist.js');
  const { createHeap, compileC, runProgram, linkStatic, ALL_BUILD_NAMES } = bindings;
  const SOURCE = `#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 10;
  char **v = NULL; size_t total = 0;
  for (int i = 0; i < n; i++) {
    v = realloc(v, (i + 1) * sizeof *v);
    v[i] = malloc(16 + i % 300);
    snprintf(v[i], 16, "s%d", i);
    total += strlen(v[i]);
  }
  for (int i = 0; i < n; i += 2) { free(v[i]); v[i] = NULL; }
  for (int i = 1; i < n; i += 2) total += strlen(v[i]), free(v[i]);
  free(v);
  printf("%d strings, %zu chars\\n", n, total);
  return 0;
}`;

  it('createHeap({ build: "tiny" }) serves the family and says E_UNSUPPORTED for the extended API', () => {
    assert.ok(ALL_BUILD_NAMES.includes('tiny'));
    const heap = createHeap({ build: 'tiny' });
    const a = heap.malloc(100), b = heap.alignedAlloc(4096, 10);
    assert.ok(a && b % 4096 === 0 && heap.usableSize(a) >= 100);
    heap.free(a);
    assert.equal(heap.check(), 0);
    assert.equal(heap.stats().liveBlocks, 1);
    assert.throws(() => heap.tryAlloc(10, 3), (e) => e.code === 'E_UNSUPPORTED' && /ralloc_try_alloc/.test(e.message));
  });

  it('a C program gives the right output on tiny, linked at instantiation and statically', async () => {
    const program = (await compileC({ sources: { 'p.c': SOURCE } })).wasm;
    let chars = 0; // what the program must print, computed here
    for (let i = 0; i < 3000; i++) chars += `s${i}`.length * (i % 2 ? 2 : 1);
    const want = `3000 strings, ${chars} chars\n`;
    const got = await runProgram(program, { build: 'tiny', args: ['p', '3000'] });
    assert.equal(Buffer.from(got.stdout).toString(), want);
    assert.equal(got.exitCode, 0);
    assert.equal(got.heap.check(), 0);
    const linked = await linkStatic(program, { build: 'tiny' });
    const again = await runProgram(linked, { args: ['p', '3000'] });
    assert.equal(Buffer.from(again.stdout).toString(), want);
  });
});
