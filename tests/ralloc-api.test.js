// ralloc's extended API at the C ABI, on every build: OOM handlers, failable and in-place
// allocation, partial and separate deallocation, any alignment, local heaps, safe sbrk, trimming,
// and a knob set at compile time.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import {
  BUILDS, GUARDED_BUILDS, PAGE, EINVAL, SBRK_FAIL, createInstance, fillPattern, findPatternMismatch, hex8, warmPages,
} from './lib/instance.js';

const u = (x) => x >>> 0;

/** Whether malloc(n) hands out p again within as many calls as a page can hold (a freed object
 *  comes back after the objects its page has ready in release, a block at once in the others);
 *  what it got on the way is freed again. */
function mallocUntil(r, n, p) {
  const others = [];
  let found = false;
  for (let i = 0; i < 300 && !found; i++) {
    const q = r.malloc(n);
    if (q === p) found = true;
    else others.push(q);
  }
  for (const q of others) r.free(q); // (the others were only in the way)
  return found;
}

/** Asserts that fn stops with a misuse report carrying exactly `message` (guarded builds). */
function assertStops(fn, message, what) {
  assert.throws(fn, (e) => {
    assert.equal(e?.name, 'MisuseReport', `${what}: expected the misuse report "${message}", got ${e?.stack ?? e}`);
    assert.equal(e.message, message, what);
    return true;
  }, `${what}: expected the misuse report "${message}", but the call returned`);
}

/** An instance whose ralloc_hooks.oom calls `onOom(size)` (default: the no-op that returns undefined = 0). */
function mk(build, opts = {}) {
  const { onOom, ...rest } = opts;
  const hooks = onOom ? { 'ralloc_hooks.oom': onOom } : {};
  return createInstance(build, { heapBase: 1024, ...rest, hooks });
}

for (const build of BUILDS) {
  describe(`ralloc API: ${build}`, () => {
    describe('OOM handlers', () => {
      it('the default handler lets malloc return 0', () => {
        const r = mk(build, { initial: 1, maximum: 2 });
        assert.equal(r.malloc(3 * PAGE), 0);
        assert.equal(r.check(), 0);
      });

      it('the handler is called with the size, and a retry after it frees memory succeeds', () => {
        let reserve = 0;
        const sizes = [];
        const r = mk(build, {
          initial: 1, maximum: 2,
          onOom: (size) => { sizes.push(size >>> 0); if (!reserve) return 0; r.free(reserve); reserve = 0; return 1; },
        });
        reserve = r.malloc(100000);
        assert.notEqual(reserve, 0);
        const p = r.malloc(90000);
        assert.notEqual(p, 0, 'the retry after the handler freed the reserve');
        assert.deepEqual(sizes, [90000]);
        assert.equal(r.check(), 0);
      });

      it('a handler that raises nothing is called once and the request fails cleanly', () => {
        let calls = 0;
        const r = mk(build, { initial: 1, maximum: 2, onOom: () => { calls++; return 1; } });
        assert.equal(r.malloc(5 * PAGE), 0);
        assert.equal(calls, 1, 'retried exactly once');
        assert.equal(r.check(), 0);
      });

      it('calloc, realloc and ralloc_alloc call the handler too; raising the limit (memory.grow by the host) is retried', () => {
        for (const call of ['calloc', 'realloc', 'ralloc_alloc']) {
          let calls = 0;
          const r = mk(build, { initial: 1, maximum: 4, onOom: () => { calls++; return 0; } });
          const keep = r.malloc(100);
          const p = call === 'calloc' ? r.calloc(1, 5 * PAGE)
            : call === 'realloc' ? r.realloc(keep, 5 * PAGE)
            : u(r.exports.ralloc_alloc(5 * PAGE, 64));
          assert.equal(p, 0, call);
          assert.equal(calls, 1, `${call} asked the handler`);
          assert.equal(r.check(), 0);
        }
      });
    });

    describe('failable allocation', () => {
      it('ralloc_try_alloc returns 0 and never calls the handler', () => {
        let calls = 0;
        const r = mk(build, { initial: 1, maximum: 2, onOom: () => { calls++; return 1; } });
        assert.equal(u(r.exports.ralloc_try_alloc(3 * PAGE, 16)), 0);
        assert.equal(calls, 0);
        const p = u(r.exports.ralloc_try_alloc(100, 16));
        assert.notEqual(p, 0);
        r.free(p);
        assert.equal(r.check(), 0);
      });
    });

    describe('in-place reallocation', () => {
      it('grows into a free successor without moving, and fails with 0 leaving the block as it was', () => {
        const r = mk(build);
        const a = r.malloc(2000), b = r.malloc(2000), c = r.malloc(2000);
        fillPattern(r, a, 2000, 1);
        r.free(b);
        assert.equal(u(r.exports.ralloc_inplace_realloc(a, 3500)), a);
        assert.ok(r.usableSize(a) >= 3500);
        assert.equal(findPatternMismatch(r, a, 2000, 1), -1);
        const before = r.usableSize(a);
        assert.equal(u(r.exports.ralloc_inplace_realloc(a, 50000)), 0, 'c is in the way');
        assert.equal(r.usableSize(a), before, 'a unchanged after a failed in-place grow');
        assert.equal(findPatternMismatch(r, a, 2000, 1), -1);
        assert.equal(r.check(), 0);
        r.free(c);
      });

      it('shrinking in place always succeeds and gives the tail back', () => {
        const r = mk(build);
        const a = r.malloc(10000), guard = r.malloc(16);
        assert.equal(u(r.exports.ralloc_inplace_realloc(a, 100)), a);
        assert.ok(r.usableSize(a) < 200);
        const b = r.malloc(5000);
        assert.ok(b > a && b < guard, 'the freed tail is reused');
        assert.equal(r.check(), 0);
      });

      it('a block at the top of the heap grows in place by growing memory', () => {
        const r = mk(build, { initial: 1, maximum: 64 });
        const filler = r.malloc(PAGE - 4096);
        const top = r.malloc(2000);
        assert.equal(u(r.exports.ralloc_inplace_realloc(top, 5 * PAGE)), top);
        assert.ok(r.usableSize(top) >= 5 * PAGE);
        assert.equal(r.check(), 0);
        r.free(filler);
      });

      if (!GUARDED_BUILDS.includes(build)) {
        it('refuses a pointer that is not a live block', () => {
          const r = mk(build);
          const a = r.malloc(100);
          r.free(a);
          assert.equal(u(r.exports.ralloc_inplace_realloc(a, 50)), 0);
          assert.equal(u(r.exports.ralloc_inplace_realloc(12345, 50)), 0);
          assert.equal(r.check(), 0);
        });
      } else {
        it('stops on a pointer that is not a live block, with the exact message', () => {
          const r = mk(build);
          const a = r.malloc(100);
          r.free(a);
          assertStops(() => r.exports.ralloc_inplace_realloc(a, 50), `ralloc: ralloc_inplace_realloc of freed ${hex8(a)} (100 bytes)`, 'a freed block');
          const r2 = mk(build);
          r2.malloc(100);
          assertStops(() => r2.exports.ralloc_inplace_realloc(12345, 50), 'ralloc: invalid ralloc_inplace_realloc of 0x00003039 (misaligned)', 'a stray pointer');
        });
      }
    });

    describe('partial deallocation', () => {
      it("ralloc's example: 200 bytes freed as two 100-byte halves leaves bytes in use where they were, and the memory is reused", () => {
        const r = mk(build);
        const base = r.stats().bytesInUse;
        const p = r.malloc(200);
        assert.equal(r.exports.ralloc_dealloc(p, 100), 0);
        assert.equal(r.check(), 0);
        assert.equal(r.exports.ralloc_dealloc(p + 100, 100), 0);
        assert.equal(r.check(), 0);
        const s = r.stats();
        assert.equal(s.bytesInUse, base, 'bytes in use back to where they were');
        assert.equal(s.liveBlocks, 0);
        assert.ok(mallocUntil(r, 200, p), 'the same memory is handed out again');
      });

      it('frees a prefix, a suffix and a middle; the rest stays intact and is freed later', () => {
        const r = mk(build);
        const base = r.stats().bytesInUse;
        const n = 4000;
        const p = r.malloc(n);
        fillPattern(r, p, n, 9);
        const kept = [[1000, 1500], [3000, 4000]].map(([from, to]) => [from, to, r.readBytes(p + from, to - from)]);
        assert.equal(r.exports.ralloc_dealloc(p + 1500, 1500), 0, 'middle');
        assert.equal(r.exports.ralloc_dealloc(p, 1000), 0, 'prefix');
        assert.equal(r.check(), 0);
        const inUse = r.stats().bytesInUse - base;
        assert.ok(inUse >= 1500 && inUse < 1500 + 64, `only the kept 1500 bytes (and rounding) stay in use: ${inUse}`);
        const reused = r.malloc(1400);
        assert.ok(reused >= p - 16 && reused < p + 3000, 'freed middle or prefix memory is reused');
        fillPattern(r, reused, 1400, 2);
        for (const [from, to, bytes] of kept) assert.deepEqual(r.readBytes(p + from, to - from), bytes, `kept [${from}, ${to}) intact`);
        r.free(reused);
        assert.equal(r.exports.ralloc_dealloc(p + 3000, 1000), 0, 'the suffix piece');
        assert.equal(r.exports.ralloc_dealloc(p + 1000, 500), 0, 'the last kept piece');
        assert.equal(r.check(), 0);
        assert.equal(r.stats().bytesInUse, base, 'every byte came back');
        assert.equal(r.stats().liveBlocks, 0);
      });

      it('keeps the contents of the kept pieces', () => {
        const r = mk(build);
        const p = r.malloc(3000);
        fillPattern(r, p, 3000, 4);
        const keep = r.readBytes(p + 1000, 1000);
        const keepTail = r.readBytes(p + 2500, 500);
        assert.equal(r.exports.ralloc_dealloc(p, 1000), 0);
        assert.equal(r.exports.ralloc_dealloc(p + 2000, 500), 0);
        const a = r.malloc(900), b = r.malloc(400);
        fillPattern(r, a, 900, 5);
        fillPattern(r, b, 400, 6);
        assert.deepEqual(r.readBytes(p + 1000, 1000), keep);
        assert.deepEqual(r.readBytes(p + 2500, 500), keepTail);
        assert.equal(r.check(), 0);
      });

      if (GUARDED_BUILDS.includes(build)) {
        // Each range release refuses is a misuse here: it stops, naming the range; one instance each.
        it('stops on ranges not inside one live block, with the exact message', () => {
          const cases = [
            ['runs into the next block', (a) => [a + 100, 400], (a) => `ralloc: invalid ralloc_dealloc of ${hex8(a + 100)} (400 bytes: not inside one live block)`],
            ['empty range', (a) => [a, 0], (a) => `ralloc: invalid ralloc_dealloc of ${hex8(a)} (0 bytes: not inside one live block)`],
            ['outside the heap (below its base)', () => [16, 10], () => 'ralloc: invalid ralloc_dealloc of 0x00000010 (static data, below the heap)'],
            ['a freed block (the size named is the range\'s)', (a, b) => [b, 100], (a, b) => `ralloc: ralloc_dealloc of freed ${hex8(b)} (100 bytes)`],
            ['inside a freed block', (a, b) => [b + 20, 10], (a, b) => `ralloc: ralloc_dealloc of freed ${hex8(b + 20)} (10 bytes)`],
            ['inside the piece freed just before: a double free', (a) => [a + 55, 5], (a) => `ralloc: ralloc_dealloc of freed ${hex8(a + 55)} (5 bytes)`],
          ];
          for (const [what, range, message] of cases) {
            const r = mk(build);
            const a = r.malloc(200), b = r.malloc(200);
            r.free(b);
            assert.equal(r.exports.ralloc_dealloc(a + 50, 20), 0, 'a small middle piece');
            const [x, n] = range(a, b);
            assertStops(() => r.exports.ralloc_dealloc(x, n), message(a, b), what);
          }
        });
      } else it('refuses ranges not inside one live block and changes nothing', () => {
        const r = mk(build);
        const a = r.malloc(200), b = r.malloc(200);
        const before = r.stats();
        assert.equal(r.exports.ralloc_dealloc(a + 100, 400), EINVAL, 'runs into the next block');
        assert.equal(r.exports.ralloc_dealloc(a, 0), EINVAL, 'empty range');
        assert.equal(r.exports.ralloc_dealloc(16, 10), EINVAL, 'outside the heap');
        r.free(b);
        assert.equal(r.exports.ralloc_dealloc(b, 100), EINVAL, 'a freed block');
        assert.equal(r.exports.ralloc_dealloc(b + 20, 10), EINVAL, 'inside a freed block');
        assert.equal(r.exports.ralloc_dealloc(a + 50, 20), 0, 'a small middle piece');
        assert.equal(r.exports.ralloc_dealloc(a + 55, 5), EINVAL, 'inside the piece freed just before: a double free');
        assert.equal(r.check(), 0);
        assert.ok(r.usableSize(a) >= 200, 'a is still live');
        assert.equal(r.stats().liveBlocks, before.liveBlocks - 1, 'only b was freed');
      });

      it('a small middle piece comes back with its neighbours', () => {
        const r = mk(build);
        const base = r.stats().bytesInUse;
        const p = r.malloc(300);
        assert.equal(r.exports.ralloc_dealloc(p + 100, 18), 0, 'too small to stand alone');
        assert.equal(r.check(), 0);
        assert.equal(r.exports.ralloc_dealloc(p, 100), 0);
        assert.equal(r.exports.ralloc_dealloc(p + 118, 182), 0);
        assert.equal(r.check(), 0);
        assert.equal(r.stats().bytesInUse, base, 'the 18 bytes came back too');
      });

      it('random partial frees keep the heap sound and give every byte back', () => {
        const r = mk(build, { maximum: 4096 });
        const base = r.stats().bytesInUse;
        let seed = 7;
        const rnd = (n) => { seed = (seed * 1103515245 + 12345) >>> 0; return (seed >>> 8) % n; };
        for (let round = 0; round < 200; round++) {
          const n = 64 + rnd(6000);
          const p = r.malloc(n);
          assert.notEqual(p, 0);
          // cut [0, n) into random pieces of >= 16 bytes and free them in random order
          const cuts = [0];
          while (cuts[cuts.length - 1] < n) cuts.push(Math.min(n, cuts[cuts.length - 1] + 16 + rnd(400)));
          if (n - cuts[cuts.length - 2] < 16 && cuts.length > 2) cuts.splice(cuts.length - 2, 1);
          const pieces = cuts.slice(1).map((end, i) => [cuts[i], end]);
          for (let i = pieces.length - 1; i > 0; i--) { const j = rnd(i + 1); [pieces[i], pieces[j]] = [pieces[j], pieces[i]]; }
          for (const [from, to] of pieces) {
            assert.equal(r.exports.ralloc_dealloc(p + from, to - from), 0, `round ${round}: [${from}, ${to}) of ${n}`);
          }
          const code = r.check();
          assert.equal(code, 0, `round ${round}: check ${code}`);
          assert.equal(r.stats().bytesInUse, base, `round ${round}: all ${n} bytes back`);
        }
      });
    });

    if (build === 'release') {
      // Release serves requests of at most 1024 bytes (align <= 16) as headerless objects of
      // size-class pages (page.ts): 16·c bytes for class c = ceil(n / 16). An object cannot be cut,
      // so each piece freed inside it holds a slot of the root's 63-slot dead-piece table until the
      // pieces cover the object, which is then freed. The instances are warmed (warmPages): a
      // class's first requests would be blocks with a header.
      describe('page objects (release)', () => {
        const KIND_OBJECT = 2, KIND_OBJECT_FREE = 3;
        const kind = (r, p) => r.exports.ralloc_block_info(p) & 15;
        const classSize = (n) => Math.max(16, (n + 15) & ~15);
        /** Asserts ralloc_dealloc(a, n) is refused with EINVAL and changes no byte of memory. */
        const assertRefused = (r, a, n, what) => {
          const before = r.bytes().slice();
          assert.equal(r.exports.ralloc_dealloc(a, n), EINVAL, what);
          const at = r.bytes().findIndex((x, i) => x !== before[i]);
          assert.equal(at, -1, `${what}: the refused call changed memory at ${hex8(at)}`);
        };

        it('malloc_usable_size of an object is its class size', () => {
          const r = warmPages(mk(build));
          for (const n of [0, 1, 15, 16, 17, 100, 112, 1000, 1023, 1024]) {
            for (const [how, p] of [['malloc', r.malloc(n)], ['ralloc_alloc(n, 16)', u(r.exports.ralloc_alloc(n, 16))], ['ralloc_alloc(n, 8)', u(r.exports.ralloc_alloc(n, 8))]]) {
              assert.equal(kind(r, p), KIND_OBJECT, `${how} of ${n} bytes is a page object`);
              assert.equal(r.usableSize(p), classSize(n), `${how} of ${n} bytes`);
              assert.equal(r.exports.ralloc_block_info(p) & ~15, classSize(n), `${how} of ${n} bytes: ralloc_block_info's size`);
            }
          }
          for (const [how, p] of [['malloc(1025)', r.malloc(1025)], ['ralloc_alloc(100, 32)', u(r.exports.ralloc_alloc(100, 32))]]) {
            assert.equal(kind(r, p), 0, `${how} is a block with a header, in use`);
            assert.ok(r.usableSize(p) >= (how === 'malloc(1025)' ? 1025 : 100), how);
          }
          assert.equal(r.check(), 0);
        });

        for (const [order, halves] of [['front half first', [[0, 56], [56, 56]]], ['back half first', [[56, 56], [0, 56]]]]) {
          it(`partial dealloc of a 112-byte object in two halves (${order}) frees it`, () => {
            const r = warmPages(mk(build));
            const base = r.stats();
            const p = r.malloc(100);
            assert.equal(r.usableSize(p), 112);
            const [[a1, n1], [a2, n2]] = halves;
            assert.equal(r.exports.ralloc_dealloc(p + a1, n1), 0, 'the first half');
            assert.equal(r.check(), 0);
            assert.equal(r.usableSize(p), 112, 'the object stays whole while a half is live');
            assert.equal(kind(r, p), KIND_OBJECT);
            assert.equal(r.stats().bytesInUse, base.bytesInUse + 112, 'it is counted whole');
            assert.equal(r.stats().liveBlocks, base.liveBlocks + 1);
            assert.equal(r.exports.ralloc_dealloc(p + a2, n2), 0, 'the second half');
            assert.equal(r.check(), 0);
            assert.equal(r.usableSize(p), 0, 'the object is free');
            assert.equal(kind(r, p), KIND_OBJECT_FREE);
            assert.equal(r.stats().bytesInUse, base.bytesInUse, 'bytes in use back to where they were');
            assert.equal(r.stats().liveBlocks, base.liveBlocks);
            assert.ok(mallocUntil(r, 100, p), 'the object is handed out again');
          });
        }

        it('the last 15 bytes or fewer are slack: a 100-byte prefix of a 112-byte object frees it', () => {
          const r = warmPages(mk(build));
          const base = r.stats().bytesInUse;
          const p = r.malloc(100);
          assert.equal(r.exports.ralloc_dealloc(p, 100), 0);
          assert.equal(r.usableSize(p), 0, 'freed: the 12 bytes left are rounding slack');
          assert.equal(r.stats().bytesInUse, base);
          assert.ok(mallocUntil(r, 100, p), 'the object is handed out again');
          const q = p;
          assert.equal(r.exports.ralloc_dealloc(q, 96), 0, '16 bytes left: live');
          assert.equal(r.usableSize(q), 112);
          assert.equal(r.exports.ralloc_dealloc(q + 96, 16), 0);
          assert.equal(r.usableSize(q), 0);
          assert.equal(r.check(), 0);
        });

        it('a repeated or overlapping piece is refused and changes nothing', () => {
          const r = warmPages(mk(build));
          const base = r.stats().bytesInUse;
          const p = r.malloc(100);
          fillPattern(r, p, 112, 3);
          assert.equal(r.exports.ralloc_dealloc(p + 16, 32), 0);
          assertRefused(r, p + 16, 32, 'the same piece again');
          assertRefused(r, p + 32, 8, 'a range inside the piece');
          assertRefused(r, p + 40, 16, 'a range overlapping its end');
          assertRefused(r, p, 20, 'a range overlapping its start');
          assertRefused(r, p + 100, 20, 'a range past the object');
          assertRefused(r, p + 8, 0, 'an empty range');
          assert.equal(r.usableSize(p), 112, 'still live');
          assert.equal(findPatternMismatch(r, p, 16, 3), -1, 'the live bytes before the piece are intact');
          assert.equal(r.check(), 0);
          assert.equal(r.exports.ralloc_dealloc(p, 16), 0, 'the bytes before it');
          assert.equal(r.exports.ralloc_dealloc(p + 48, 64), 0, 'the bytes after it: the object is covered');
          assert.equal(r.usableSize(p), 0);
          assertRefused(r, p, 16, 'a piece of the freed object');
          assert.equal(r.stats().bytesInUse, base);
          assert.equal(r.check(), 0);
        });

        it('free after partial pieces frees the object and forgets its pieces', () => {
          const r = warmPages(mk(build));
          const base = r.stats().bytesInUse;
          const p = r.malloc(100);
          assert.equal(r.exports.ralloc_dealloc(p + 16, 16), 0);
          assert.equal(r.exports.ralloc_dealloc(p + 64, 16), 0);
          r.free(p);
          assert.equal(r.usableSize(p), 0);
          assert.equal(r.stats().bytesInUse, base);
          assert.equal(r.check(), 0);
          assert.ok(mallocUntil(r, 100, p), 'the same object again');
          const q = p;
          assert.equal(r.exports.ralloc_dealloc(q + 16, 16), 0, 'its old pieces were forgotten');
          assert.equal(r.exports.ralloc_dealloc(q + 64, 16), 0);
          r.free(q);
          assert.equal(r.stats().bytesInUse, base);
          assert.equal(r.check(), 0);
        });

        it('a full dead-piece table refuses a new piece, still takes one that merges or frees an object, and has room again after a free', () => {
          const r = warmPages(mk(build));
          const base = r.stats().bytesInUse;
          const os = [];
          for (let i = 0; i < 66; i++) os.push(r.malloc(64));
          for (let i = 0; i < 63; i++) assert.equal(r.exports.ralloc_dealloc(os[i] + 16, 16), 0, `piece ${i}`);
          assert.equal(r.check(), 0);
          assertRefused(r, os[63] + 16, 16, 'a 64th piece');
          assert.equal(r.exports.ralloc_dealloc(os[0] + 32, 8), 0, 'a piece touching a recorded one merges with it');
          assert.equal(r.exports.ralloc_dealloc(os[0], 16), 0, 'and again, from the other side');
          assert.equal(r.exports.ralloc_dealloc(os[63], 64), 0, 'a whole object needs no slot');
          assert.equal(r.usableSize(os[63]), 0);
          assert.equal(r.exports.ralloc_dealloc(os[0] + 40, 24), 0, 'the rest of object 0: it is freed, its slot too');
          assert.equal(r.usableSize(os[0]), 0);
          assert.equal(r.exports.ralloc_dealloc(os[64] + 16, 16), 0, 'a new piece fits again');
          assertRefused(r, os[65] + 16, 16, 'full again');
          r.free(os[1]); // forgets its piece
          assert.equal(r.exports.ralloc_dealloc(os[65] + 16, 16), 0, 'a free made room');
          assert.equal(r.check(), 0);
          for (const o of os.slice(2, 63).concat([os[64], os[65]])) r.free(o);
          assert.equal(r.stats().bytesInUse, base);
          assert.equal(r.check(), 0);
        });

        it('pieces of adjacent objects stay apart: a piece ending where the next object starts is not merged with that object\'s piece', () => {
          for (const first of ['the next object', 'this object']) {
            const r = warmPages(mk(build));
            const base = r.stats().bytesInUse;
            const p = r.malloc(64), q = r.malloc(64);
            assert.equal(q, p + 64, 'q follows p');
            const steps = [[q, 16, 'a piece at the start of q'], [p + 32, 32, 'a piece at the end of p']];
            if (first === 'this object') steps.reverse();
            for (const [a, n, what] of steps) assert.equal(r.exports.ralloc_dealloc(a, n), 0, `${what} (${first} first)`);
            assert.equal(r.usableSize(p), 64);
            assert.equal(r.usableSize(q), 64);
            assert.equal(r.check(), 0);
            assert.equal(r.exports.ralloc_dealloc(p, 32), 0, 'the rest of p');
            assert.equal(r.usableSize(p), 0, 'p is freed');
            assert.equal(r.usableSize(q), 64, 'q is not');
            assert.equal(r.exports.ralloc_dealloc(q + 16, 48), 0, 'the rest of q');
            assert.equal(r.usableSize(q), 0);
            assert.equal(r.stats().bytesInUse, base);
            assert.equal(r.check(), 0);
          }
        });

        it('ralloc_inplace_realloc of an object: itself up to its size, else 0 and unchanged', () => {
          const r = warmPages(mk(build));
          const p = r.malloc(100);
          fillPattern(r, p, 100, 8);
          assert.equal(u(r.exports.ralloc_inplace_realloc(p, 112)), p);
          assert.equal(u(r.exports.ralloc_inplace_realloc(p, 10)), p);
          assert.equal(u(r.exports.ralloc_inplace_realloc(p, 113)), 0);
          assert.ok(r.usableSize(p) >= 10);
          assert.equal(findPatternMismatch(r, p, 10, 8), -1);
          assert.equal(r.check(), 0);
        });
      });
    }

    describe('separate deallocation (donate)', () => {
      it('donated static memory serves allocations', () => {
        const r = createInstance(build, { heapBase: 32768, initial: 1, maximum: 1 });
        // [4096, 20480) lies below the heap: "static data" nobody allocated
        assert.equal(r.exports.ralloc_donate(4096, 16384), 0);
        const got = [];
        for (let i = 0; i < 40; i++) { const p = r.malloc(300); if (p) got.push(p); }
        assert.ok(got.some((p) => p >= 4096 && p < 20480), 'some blocks come from the donated buffer');
        assert.equal(r.check(), 0);
      });

      it('refuses overlap with the heap, a live block, or memory nobody was given', () => {
        const r = mk(build, { initial: 4 });
        const p = r.malloc(1000);
        assert.equal(r.exports.ralloc_donate(p, 500), EINVAL, 'a live block');
        assert.equal(r.exports.ralloc_donate(p - 2000, 4000), EINVAL, 'overlaps the heap');
        assert.equal(r.exports.ralloc_donate(0, 512), EINVAL, 'null');
        assert.equal(r.exports.ralloc_donate(4 * PAGE - 100, 1000), EINVAL, 'past the end of memory');
        assert.equal(r.exports.ralloc_donate(256, 8), EINVAL, 'too small to hold a block');
        assert.equal(r.check(), 0);
      });

      it('an sbrk region can be donated and is then used', () => {
        const r = mk(build, { initial: 1, maximum: 64 });
        r.malloc(100);
        const region = r.sbrk(8192);
        assert.notEqual(region, SBRK_FAIL);
        assert.equal(r.exports.ralloc_donate(region, 8192), 0);
        let hit = false;
        for (let i = 0; i < 200 && !hit; i++) { const q = r.malloc(500); if (q >= region && q < region + 8192) hit = true; }
        assert.ok(hit);
        assert.equal(r.check(), 0);
      });
    });

    describe('any alignment', () => {
      for (const align of [1, 2, 3, 8, 12, 24, 100, 1000, 4096, 65536, 48, 7, 640]) {
        it(`ralloc_alloc honours alignment ${align}, and free accepts the result`, () => {
          const r = mk(build, { maximum: 2048 });
          const ps = [];
          for (const n of [1, 10, 100, 1000, 10000]) {
            const p = u(r.exports.ralloc_alloc(n, align));
            assert.notEqual(p, 0);
            assert.equal(p % align, 0, `${p} % ${align}`);
            assert.equal(p % 16, 0, 'still 16-aligned');
            assert.ok(r.usableSize(p) >= n);
            ps.push(p);
          }
          assert.equal(r.check(), 0);
          for (const p of ps) r.free(p);
          assert.equal(r.check(), 0);
          assert.equal(r.stats().liveBlocks, 0);
        });
      }
      it('alignment 0 and alignments too large to ever fit return 0', () => {
        const r = mk(build);
        assert.equal(u(r.exports.ralloc_alloc(100, 0)), 0);
        assert.equal(u(r.exports.ralloc_alloc(100, 0xFFFFFFF0)), 0);
        assert.equal(r.check(), 0);
      });
    });

    describe('local heaps', () => {
      it('a heap over a buffer is independent of the global heap and is released at once', () => {
        const r = mk(build);
        const buf = r.malloc(64 * 1024);
        const before = r.stats();
        const h = u(r.exports.ralloc_heap_over(buf, 64 * 1024));
        assert.notEqual(h, 0);
        const ps = [];
        for (let i = 0; i < 50; i++) { const p = u(r.exports.ralloc_heap_alloc(h, 500, 16)); assert.ok(p >= buf && p < buf + 65536); ps.push(p); }
        assert.equal(u(r.exports.ralloc_heap_check(h)), 0);
        for (const p of ps.slice(0, 25)) assert.equal(r.exports.ralloc_heap_free(h, p), 0);
        if (GUARDED_BUILDS.includes(build)) {
          // a misuse that stops: checked on an instance of its own, so this one goes on
          const r2 = mk(build);
          const h2 = u(r2.exports.ralloc_heap_over(r2.malloc(64 * 1024), 64 * 1024));
          const x = u(r2.exports.ralloc_heap_alloc(h2, 500, 16));
          assert.equal(r2.exports.ralloc_heap_free(h2, x), 0);
          assertStops(() => r2.exports.ralloc_heap_free(h2, x), `ralloc: double free of ${hex8(x)} (500 bytes)`, 'double free in a local heap');
        } else {
          assert.equal(r.exports.ralloc_heap_free(h, ps[0]), EINVAL, 'double free in a local heap is refused');
        }
        assert.equal(r.stats().bytesInUse, before.bytesInUse, 'the global heap did not move');
        assert.equal(r.exports.ralloc_heap_destroy(h), 0);
        assert.equal(u(r.exports.ralloc_heap_alloc(h, 10, 16)), 0, 'a destroyed heap refuses work');
        assert.equal(r.exports.ralloc_heap_destroy(h), EINVAL);
        assert.equal(r.check(), 0);
      });

      it('a heap grown from the pool gives every chunk back on destroy', () => {
        const r = mk(build, { maximum: 4096 });
        const keep = r.malloc(100);
        const before = r.stats();
        const h = u(r.exports.ralloc_heap_new(4096));
        assert.notEqual(h, 0);
        let total = 0;
        for (let i = 0; i < 300; i++) {
          const n = 100 + (i * 37) % 3000;
          const p = u(r.exports.ralloc_heap_alloc(h, n, 16));
          assert.notEqual(p, 0);
          total += n;
        }
        assert.ok(total > 400000);
        assert.equal(u(r.exports.ralloc_heap_check(h)), 0);
        assert.equal(r.check(), 0);
        assert.ok(r.stats().bytesInUse > before.bytesInUse + 400000, 'chunks are live blocks of the global heap');
        assert.equal(r.exports.ralloc_heap_destroy(h), 0);
        const after = r.stats();
        assert.equal(after.bytesInUse, before.bytesInUse, 'every chunk came back');
        assert.equal(after.liveBlocks, before.liveBlocks);
        assert.equal(r.check(), 0);
        r.free(keep);
      });

      it('bad handles are refused', () => {
        const r = mk(build);
        const p = r.malloc(100);
        assert.equal(u(r.exports.ralloc_heap_alloc(p, 10, 16)), 0);
        assert.equal(r.exports.ralloc_heap_destroy(p), EINVAL);
        assert.equal(u(r.exports.ralloc_heap_over(p, 100)), 0, 'too small for a heap');
        assert.equal(r.check(), 0);
      });
    });

    describe('safe sbrk and trimming', () => {
      it('sbrk interleaved with malloc: no overlap, and the heap keeps working', () => {
        const r = mk(build, { initial: 1, maximum: 256 });
        const regions = [];
        const blocks = [];
        for (let i = 0; i < 60; i++) {
          blocks.push([r.malloc(1000 + i * 100), 1000 + i * 100]);
          const s = r.sbrk(3000);
          assert.notEqual(s, SBRK_FAIL);
          fillPattern(r, s, 3000, i);
          regions.push(s);
        }
        for (const [p, n] of blocks) for (const s of regions) assert.ok(p + n <= s || s + 3000 <= p, 'malloc block overlaps an sbrk region');
        for (const [p] of blocks) r.free(p);
        for (let i = 0; i < 60; i++) { const q = r.malloc(2000); assert.notEqual(q, 0); }
        regions.forEach((s, i) => assert.equal(findPatternMismatch(r, s, 3000, i), -1, `sbrk region ${i} overwritten`));
        assert.equal(r.check(), 0);
      });

      it('trim gives free memory at the top back to the break, where sbrk takes it without growing', () => {
        const r = mk(build, { initial: 1, maximum: 256 });
        const a = r.malloc(100);
        const big = r.malloc(20 * PAGE);
        r.free(big);
        const pages = r.pages();
        const given = u(r.exports.ralloc_trim());
        assert.ok(given >= 19 * PAGE, `trim gave back ${given} bytes`);
        assert.equal(r.check(), 0);
        const brk = r.sbrk(0);
        const s = r.sbrk(18 * PAGE);
        assert.equal(s, brk);
        assert.ok(s > a);
        assert.equal(r.pages(), pages, 'sbrk used the trimmed memory without growing');
        assert.equal(u(r.exports.ralloc_trim()), 0, 'nothing left to trim');
        const q = r.malloc(1000);
        assert.notEqual(q, 0);
        assert.ok(q + 1000 <= s || q >= s + 18 * PAGE);
        assert.equal(r.check(), 0);
      });
    });
  });
}

describe('knobs', () => {
  // One variant compiled with non-default knobs, the way a user would (asc --use NAME=value).
  const require = createRequire(import.meta.url);
  const asc = require.resolve('assemblyscript/bin/asc.js');
  const dir = mkdtempSync(join(tmpdir(), 'ralloc-knob-'));
  const out = join(dir, 'knob.wasm');
  // An empty config: otherwise asc reads the repo's asconfig.json and its release target would
  // write this variant's text over build/release.wat.
  const config = join(dir, 'asconfig.json');
  writeFileSync(config, '{}');
  execFileSync(process.execPath, [asc, 'assembly/entry/module.ts', '--config', config, '-o', out, '-O3', '--noAssert', '--runtime', 'stub',
    '--importMemory', '--noExportMemory', '--initialMemory', '0', '--use', 'abort=', '--use', 'RALLOC_MODULE=1',
    '--use', 'RALLOC_GROW_MIN_PAGES=16', '--use', 'RALLOC_MEMTRIM_LIMIT=131072'],
    { cwd: new URL('..', import.meta.url).pathname, stdio: 'pipe' });
  const variant = new WebAssembly.Module(readFileSync(out));
  const standard = new WebAssembly.Module(readFileSync(new URL('../build/release.wasm', import.meta.url)));
  const start = (mod) => {
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 1024 });
    const x = new WebAssembly.Instance(mod, { env: { memory }, ralloc_hooks: { oom: () => 0 } }).exports;
    x.ralloc_init(1024);
    return { x, memory };
  };

  it('RALLOC_GROW_MIN_PAGES=16 makes every memory.grow add at least 16 pages', () => {
    const grown = (mod) => { const { x, memory } = start(mod); assert.notEqual(x.malloc(70000), 0); return memory.buffer.byteLength / PAGE; };
    const custom = grown(variant), plain = grown(standard);
    assert.ok(plain < 5, `default growth added ${plain - 1} pages`);
    assert.ok(custom >= 17, `GROW_MIN_PAGES=16 should add at least 16 pages, memory has ${custom}`);
  });

  it('RALLOC_MEMTRIM_LIMIT=131072 gives a large free top back to the break on its own; the default does not', () => {
    const trimmedBy = (mod) => {
      const { x } = start(mod);
      const keep = x.malloc(100);
      const big = x.malloc(20 * PAGE);
      const brk = x.sbrk(0) >>> 0;
      x.free(big);
      assert.equal(x.ralloc_check(), 0);
      assert.notEqual(keep, 0);
      return brk - (x.sbrk(0) >>> 0);
    };
    assert.ok(trimmedBy(variant) >= 19 * PAGE, 'the variant trimmed the freed top');
    assert.equal(trimmedBy(standard), 0, 'the default build keeps it');
  });
});
