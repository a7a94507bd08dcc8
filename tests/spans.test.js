// A span's head overwritten by the program: the 16 bytes below a span's first block hold the
// link to the next span and the span's end (core/span.ts), so an underflow of the first
// allocation in a span reaches them. Every inspection call must then fail cleanly: the walk,
// the leak list and the heap map with E_MISUSE naming the corruption, the stats with figures
// (never a trap), ralloc_check with a code (SPAN or OVERLAP; the guarded builds stop with
// E_MISUSE), and the heap must keep serving allocations.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { bindings } from './lib/dist.js';

const { createHeap, RallocError } = bindings;
const CHECK_SPAN = 1;
const CHECK_OVERLAP = 16;

// What the program writes, and where (bytes below the span's first block).
const WRITES = {
  'next link -> near 4 GiB': [16, 0xfffffff0],
  'next link -> past memory': [16, 0x7ffff0],
  'next link -> low memory': [16, 0x30],
  'next link -> odd': [16, 1],
  'end -> near 4 GiB': [12, 0xfffffff0],
  'end -> below the span': [12, 0x30],
};

/** Runs f and says how it ended: 'ok', or the RallocError's code (anything else fails the test). */
function outcome(f) {
  try {
    f();
    return 'ok';
  } catch (e) {
    assert.ok(e instanceof RallocError, `expected a RallocError, got ${e?.stack ?? e}`);
    return e.code;
  }
}

for (const build of ['release', 'small', 'debug', 'security']) {
  describe(`${build}: a span head overwritten below the first block`, () => {
    for (const [what, [below, value]] of Object.entries(WRITES)) {
      it(`${what}: walk, leaks and heap map say E_MISUSE; stats and check do not trap; malloc goes on`, () => {
        const heap = createHeap({ build });
        const first = heap.malloc(2000);
        const second = heap.malloc(50);
        heap.HEAPU32[(first - below) >>> 2] = value;
        for (const call of ['walk', 'leaks', 'heapMap']) {
          assert.equal(outcome(() => heap[call]()), 'E_MISUSE', call);
        }
        assert.throws(() => heap.walk(), /the heap is corrupted/);
        assert.equal(outcome(() => heap.stats()), 'ok');
        if (build === 'debug' || build === 'security') {
          assert.equal(outcome(() => heap.check()), 'E_MISUSE');
        } else {
          assert.ok([CHECK_SPAN, CHECK_OVERLAP].includes(heap.check()), 'ralloc_check names the span');
        }
        heap.free(second);
        const big = heap.malloc(1 << 20);
        assert.notEqual(big, 0);
        heap.HEAPU8.fill(7, big, big + (1 << 20));
        assert.notEqual(heap.malloc(3000), 0);
      });
    }
  });
}

describe('a local heap whose span link was overwritten', () => {
  for (const build of ['release', 'debug']) {
    it(`${build}: destroy gives back what it can reach, without a trap, and the global heap stays sound`, () => {
      const heap = createHeap({ build });
      const local = heap.newLocalHeap(4096);
      const a = local.alloc(100000);
      const b = local.alloc(100000);
      heap.HEAPU32[(a - 16) >>> 2] = 0xfffffff0;
      heap.HEAPU32[(b - 16) >>> 2] = 0xfffffff0;
      assert.equal(outcome(() => local.stats()), 'ok');
      local.destroy();
      assert.equal(heap.check(), 0);
    });
  }
});
