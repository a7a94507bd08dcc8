// A general free list overwritten after a free (a write through a stale pointer), in the builds
// that do not stop on misuse: the links of a free block (next at p, prev at p + 4, block.ts) are
// checked before the heap writes through them (safe unlinking, as dlmalloc does). A bad link
// must never make the heap write outside itself or over a live block, trap, or hand out memory
// twice; ralloc_check names the broken list.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createInstance, hex, MisuseReport } from './lib/instance.js';

const CHECK_LINK = 8;
const N = 3000; // past release's page sizes: blocks of the general path, with headers

/** A live block's bytes, filled with a pattern from its address. */
const fill = (r, p, n) => { const u8 = new Uint8Array(r.memory.buffer, p, n); for (let i = 0; i < n; i++) u8[i] = (p + i * 7) & 255; };
const intact = (r, p, n) => { const u8 = new Uint8Array(r.memory.buffer, p, n); for (let i = 0; i < n; i++) if (u8[i] !== ((p + i * 7) & 255)) return false; return true; };

// Where the program's stray write points a free block's link (given the live blocks a and d).
const WILD = {
  'a live block': (a, d) => d + 32,
  'address 8': () => 8,
  'near 4 GiB': () => 0xFFFFFFF0,
  'the middle of a live block, off the grid': (a) => a + 100,
};

for (const build of ['release', 'small']) {
  describe(`${build}: a general free list overwritten after a free`, () => {
    for (const [word, off] of [['next', 0], ['prev', 4]]) {
      for (const [what, wild] of Object.entries(WILD)) {
        it(`${word} link -> ${what}: no trap, no write outside the heap's free blocks, nothing handed out twice`, () => {
          const r = createInstance(build, { initial: 1, maximum: 256 });
          const a = r.malloc(N), b = r.malloc(N), c = r.malloc(N), d = r.malloc(N), e = r.malloc(N);
          const b2 = r.malloc(N), c2 = r.malloc(N); // a second free block, so b has a neighbour in its list
          for (const p of [a, c, d, e, c2]) fill(r, p, N);
          fill(r, 0, 64); // memory below the heap (the heap starts at the end of the first page)
          r.free(b2);
          r.free(b); // b's list: b, then b2 (LIFO)
          const w = wild(a, d) >>> 0;
          r.view().setUint32(b + off, w, true); // the stray write
          assert.equal(r.check(), CHECK_LINK, `ralloc_check names the list (${word} = ${hex(w)})`);
          // Take b back (unlinking it), and merge around it by freeing c, which follows b.
          const got = [r.malloc(N), r.malloc(N)];
          r.free(c);
          got.push(r.malloc(N), r.malloc(2 * N), r.malloc(100), r.malloc(N));
          for (const p of [a, d, e, c2]) assert.ok(intact(r, p, N), `live block ${hex(p)} unchanged`);
          assert.ok(intact(r, 0, 64), 'memory below the heap unchanged');
          const live = [a, d, e, c2, ...got.filter((p) => p)];
          const spans = live.map((p) => [p, p + r.usableSize(p)]).sort((x, y) => x[0] - y[0]);
          for (let i = 1; i < spans.length; i++) {
            assert.ok(spans[i][0] >= spans[i - 1][1], `blocks ${hex(spans[i - 1][0])} and ${hex(spans[i][0])} do not overlap`);
          }
          for (const p of got) if (p) assert.ok(p + r.usableSize(p) <= r.memory.buffer.byteLength, `${hex(p)} lies inside memory`);
          for (const p of live) r.free(p);
        });
      }
    }
  });
}

for (const build of ['release', 'small']) {
  describe(`${build}: a stray link to a block that has left its list`, () => {
    it('is not followed, though the block still holds links from its free days: nothing is handed out inside a live block', () => {
      const r = createInstance(build, { initial: 1, maximum: 256 });
      const a = r.malloc(N), p = r.malloc(N), x = r.malloc(N), B = r.malloc(N), y = r.malloc(N), C = r.malloc(N), z = r.malloc(N);
      r.free(C); r.free(B); r.free(p); // one list: p -> B -> C
      const size = (q) => r.view().getUint32(q - 4, true) & ~15;
      const want = size(x) + size(B) - 4;
      assert.equal(r.realloc(x, want), x, 'x grows in place over B, which leaves its list');
      // x's new bytes are not written yet: they still hold what B held as a free block
      const snapshot = () => Array.from(new Uint8Array(r.memory.buffer, x, want));
      const before = snapshot();
      const same = () => snapshot().every((v, i) => v === before[i]);
      r.view().setUint32(p, B, true); // the stray write: p's next names B again
      r.free(a); // merges a with p, unlinking p
      assert.ok(same(), 'x, which now holds B, is unchanged');
      const got = [2900, 2500, 3000, 2000, 2040].map((n) => [r.malloc(n), n]);
      for (const [q, n] of got) {
        assert.ok(q + n <= x || q >= x + want, `malloc(${n}) = ${hex(q)} lies outside live x [${hex(x)}, ${hex(x + want)})`);
      }
      assert.ok(same(), 'x still unchanged');
      for (const q of [y, z]) assert.ok(q);
    });
  });
}

for (const build of ['debug', 'security']) {
  describe(`${build}: a cached block's link overwritten after a free`, () => {
    for (const wild of [0xFFFFFFF0, 0x40]) {
      it(`${hex(wild)}: the flush that merges cached blocks reports it, without a trap or a write below the heap`, () => {
        const r = createInstance(build, { initial: 1, maximum: 256 });
        const a = r.malloc(100), b = r.malloc(100), c = r.malloc(100);
        r.free(b); // b sits in a quick list
        fill(r, 0, 64);
        r.view().setUint32(b, wild, true);
        assert.throws(() => r.malloc(200000), (e) => e instanceof MisuseReport && /corrupted free list at/.test(e.message));
        assert.ok(intact(r, 0, 64), 'memory below the heap unchanged');
        assert.ok(a && c);
      });
    }
  });
}

// A program that writes 4 bytes past its block forges the size of the free block after it.
for (const build of ['release', 'small', 'debug', 'security']) {
  describe(`${build}: a free block's size forged by a write past its live neighbour`, () => {
    it('the forged block is never handed out: no address twice, no overlap, no trap (the guarded builds report it)', () => {
      const r = createInstance(build, { initial: 1, maximum: 16 });
      const neighbour = r.malloc(200);
      const size = r.view().getUint32(neighbour - 4, true) & ~15;
      r.view().setUint32(neighbour - 4 + size, 16, true); // the free remainder's header now says 16 bytes
      const got = [];
      let report = null;
      try {
        for (const n of [4096, 1024, 160]) {
          for (let q = r.alignedAlloc(32, n); q; q = r.alignedAlloc(32, n)) {
            got.push([q, n]);
            assert.ok(got.length < 2000, `aligned_alloc(32, ${n}) keeps succeeding: ${hex(q)} handed out again?`);
          }
        }
      } catch (e) {
        if (!(e instanceof MisuseReport)) throw e;
        report = e;
      }
      if (build === 'debug' || build === 'security') {
        assert.match(report?.message ?? '', /^ralloc: corrupted free list at 0x[0-9a-f]{8} \(16 bytes\), found by aligned_alloc/);
      } else {
        assert.equal(report, null);
        assert.ok(got.length > 100, `the rest of memory stays usable (${got.length} blocks)`);
      }
      got.push([neighbour, 200]);
      got.sort((a, b) => a[0] - b[0]);
      for (let i = 1; i < got.length; i++) {
        const [p, n] = got[i - 1];
        assert.ok(p + n <= got[i][0], `[${hex(p)}, +${n}) overlaps ${hex(got[i][0])}`);
      }
    });
  });
}
