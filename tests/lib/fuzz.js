// The shadow-model fuzzer shared by tests/fuzz.test.js and scripts/soak.js.
//
// fast-check generates a *scenario* (memory shape, heap base, size mix, operation mix, live-set
// target, PRNG seed); runFuzz expands it deterministically (sfc32 seeded with scenario.seed) into a
// long sequence of malloc / calloc / realloc / aligned_alloc / posix_memalign / memalign / free
// calls and checks every result against a shadow model (lib/shadow.js):
//   - no overlap among live blocks (interval map keyed by address), nothing outside memory, nothing
//     below the heap floor, memory below the heap (or the initial memory) never written;
//   - alignment (16, or the requested alignment if larger), malloc_usable_size >= request;
//   - contents kept: each block carries a pattern derived from its tag, verified on free and realloc;
//   - calloc memory reads zero (the fuzzer dirties everything it frees, so reuse is exercised);
//   - requests that cannot be met (near 4 GiB) return 0 without growing memory; a failed realloc
//     keeps p; a failure while memory could still grow by the request plus slack is a false OOM;
//   - every CHECK_EVERY operations: ralloc_check() == 0, stats.bytes_in_use == sum of usable sizes,
//     stats.live_blocks == live count, peak >= current;
//   - bounded footprint, see footprintBound below.
// A failure throws FuzzFailure whose message names the build, the scenario (JSON), the op index and
// the last operations, and the command that replays it.
import fc from 'fast-check';
import { createInstance, Rng, PAGE, hex, patternByte, ENOMEM } from './instance.js';
import { Shadow } from './shadow.js';

export const CHECK_EVERY = 256;
const SENTINEL = 0xdeadbeef;

/**
 * Footprint bound. `need` is the peak over the run of sum(round16(size) + 16 + extra alignment) over
 * live blocks: what an allocator with a 16-byte header per block would need with no fragmentation.
 * Memory may not exceed heapStart + FOOTPRINT_FACTOR * need + FOOTPRINT_SLACK, because
 *   - geometric growth (memory is grown rarely and geometrically) may overshoot the need by the
 *     growth step; growing by at most the heap size again (doubling) gives a factor 2 at most;
 *   - a good-fit allocator fragments random workloads by well under 50% on top of that (dlmalloc and
 *     TLSF measure 5-30% in the literature), and we round up generously to a factor 3 in total;
 *   - the slack covers fixed costs independent of the live set: heap metadata (a root of a few KiB),
 *     per-size-class caches (ralloc-wasm's quick lists are capped at 256 KiB), page rounding and
 *     the first geometric growth steps on a tiny heap; 4 MiB is above all of those together.
 * A leaking allocator (wee_alloc's issue #106) grows with the number of operations instead of the
 * live set and crosses this line within a few thousand operations of churn.
 */
export const FOOTPRINT_FACTOR = 3;
export const FOOTPRINT_SLACK = 4 * 1024 * 1024;
export function footprintBound(heapStart, need) {
  return heapStart + FOOTPRINT_FACTOR * need + FOOTPRINT_SLACK;
}

/** Slack allowed when deciding a failure was a false OOM: metadata, rounding and a span head. */
const OOM_SLACK = 2 * PAGE;

export class FuzzFailure extends Error {}

const OPS = ['malloc', 'calloc', 'realloc', 'aligned_alloc', 'posix_memalign', 'memalign', 'free', 'impossible'];
const SIZE_KINDS = ['tiny', 'small', 'medium', 'large', 'huge', 'pageEdge'];

/** A scenario: everything a run depends on besides the build and the number of operations. */
export const scenarioArb = fc
  .record({
    seed: fc.integer({ min: 0, max: 0xffffffff }),
    initial: fc.constantFrom(0, 1, 2),
    maximum: fc.constantFrom(48, 256, 2048, 16384),
    heapBase: fc.option(fc.integer({ min: 1, max: 8191 }).map((x) => x * 16), { nil: null }),
    sizeWeights: fc.tuple(
      fc.integer({ min: 0, max: 40 }), // tiny 0..32
      fc.integer({ min: 0, max: 40 }), // small 33..1024
      fc.integer({ min: 0, max: 20 }), // medium 1025..16384
      fc.integer({ min: 0, max: 6 }), // large 16385..262144
      fc.integer({ min: 0, max: 2 }), // huge 262145..4194304
      fc.integer({ min: 0, max: 4 }), // pageEdge k*64KiB - d
    ),
    opWeights: fc.tuple(
      fc.integer({ min: 1, max: 20 }), // malloc
      fc.integer({ min: 0, max: 6 }), // calloc
      fc.integer({ min: 0, max: 12 }), // realloc
      fc.integer({ min: 0, max: 5 }), // aligned_alloc
      fc.integer({ min: 0, max: 5 }), // posix_memalign
      fc.integer({ min: 0, max: 3 }), // memalign
      fc.integer({ min: 1, max: 25 }), // free
      fc.integer({ min: 0, max: 1 }), // impossible (near 4 GiB / overflowing calloc)
    ),
    liveTarget: fc.integer({ min: 4, max: 3000 }),
    burstPermille: fc.integer({ min: 0, max: 3 }), // chance per op of freeing a random fraction of all live blocks
  }, { noNullPrototype: true })
  .filter((s) => s.sizeWeights.some((w) => w > 0));

/** The scenario fast-check generates from one seed (what `soak.js --seed S` runs). */
export function scenarioFromSeed(seed) {
  return fc.sample(scenarioArb, { seed: seed | 0, numRuns: 1 })[0];
}

function cumulative(ws) {
  const out = [];
  let t = 0;
  for (const w of ws) out.push((t += w));
  return out;
}
function pickWeighted(rng, cum) {
  const x = rng.below(cum[cum.length - 1]);
  let i = 0;
  while (cum[i] <= x) i++;
  return i;
}

function genSize(rng, kind) {
  switch (kind) {
    case 0: return rng.range(0, 32);
    case 1: return rng.range(33, 1024);
    case 2: return rng.range(1025, 16384);
    case 3: return rng.range(16385, 262144);
    case 4: return rng.range(262145, 4194304);
    default: return Math.max(0, rng.range(1, 8) * PAGE - rng.range(0, 64));
  }
}

// sizes whose rounding to blocks or pages wraps around 2^32 (peer bug 1), plus some that merely cannot fit
const IMPOSSIBLE = [0xffffffff, 0xfffffffe, 0xfffffffd, 0xfffffffc, 0xfffffff9, 0xfffffff0, 0xffffffe1, 0xffffff00, 0xffff0001, 0xffff0000];

/**
 * Run `ops` operations of a scenario on a build. Returns a summary; throws FuzzFailure.
 * opts.replay: the command prefix printed in failure messages.
 */
export function runFuzz(build, sc, ops, opts = {}) {
  const replay = opts.replay ?? 'node scripts/soak.js';
  const ring = new Array(32); // last operations, as strings built lazily from tuples
  let ringAt = 0;
  const note = (op, a, b, res) => { ring[ringAt++ & 31] = [op, a, b, res]; };
  let i = -1;
  let r;
  try {
    const heapBase = sc.heapBase ?? undefined;
    r = createInstance(build, { initial: sc.initial, maximum: sc.maximum, heapBase, scratch: null });
    const maxBytes = sc.maximum * PAGE;
    // memory the heap must never write: below the heap base, or all initial memory without ralloc_init
    const lowEnd = Math.min(heapBase ?? sc.initial * PAGE, r.memBytes());
    const lowTag = 0x5eed;
    for (let k = 0; k < lowEnd; k++) r.bytes()[k] = patternByte(lowTag, k);
    const checkLow = () => {
      const u8 = r.bytes();
      for (let k = 0; k < lowEnd; k++)
        if (u8[k] !== patternByte(lowTag, k)) throw new FuzzFailure(`byte ${hex(k)} below the heap (${hex(lowEnd)}) was overwritten`);
    };
    const floor = Math.max(1, heapBase ?? sc.initial * PAGE);
    const sh = new Shadow(r, { floor });
    const rng = new Rng(sc.seed);
    const sizeCum = cumulative(sc.sizeWeights);
    const opCum = cumulative(sc.opWeights);
    // a block the fuzzer keeps for posix_memalign's out-pointer (memory it owns anywhere in the heap)
    const outBlock = sh.add(r.malloc(16), 16, 16, { what: 'malloc(out)', pattern: false });
    const out = outBlock.ptr;
    // and one for ralloc_stats to write into
    const statsBlock = sh.add(r.malloc(64), 64, 16, { what: 'malloc(stats)', pattern: false });
    const heapStart = r.stats(statsBlock.ptr).heapBase;
    const cost = (size, align) => ((size + 15) & ~15) + 16 + (align > 16 ? align - 16 : 0);
    let need = cost(16, 16) + cost(64, 16); // current sum of costs of live blocks
    let peakNeed = need;
    let maxMem = r.memBytes();
    let allocs = 0, frees = 0, reallocs = 0, oomFails = 0;

    const fail = (msg) => { throw new FuzzFailure(msg); };
    const afterGrowth = () => {
      const m = r.memBytes();
      if (m > maxMem) {
        maxMem = m;
        const bound = footprintBound(heapStart, peakNeed);
        if (m > bound)
          fail(`footprint: memory is ${m} bytes, above the bound ${bound} = heapStart ${heapStart} + ${FOOTPRINT_FACTOR} x peak need ${peakNeed} + ${FOOTPRINT_SLACK}`);
      }
    };
    const falseOom = (what, n, align) => {
      const room = maxBytes - r.memBytes();
      if (room >= n + align + OOM_SLACK)
        fail(`${what} returned 0 (out of memory) with memory at ${r.memBytes()} of a ${maxBytes}-byte maximum: ${room} bytes could still be grown`);
      oomFails++;
    };
    const track = (b, align) => {
      b.cost = cost(b.size, align);
      need += b.cost;
      if (need > peakNeed) peakNeed = need;
    };
    const untrack = (b) => { need -= b.cost; };
    const dirty = (b) => { r.fill(b.ptr, Math.min(b.usable, 4096), 0xa5); }; // freed memory is dirty for calloc
    const freeBlock = (b) => {
      sh.remove(b.ptr);
      untrack(b);
      dirty(b);
      note('free', b.ptr, 0, 0);
      r.free(b.ptr);
      frees++;
    };
    const pickVictim = () => {
      // never the fuzzer's own out/stats blocks
      for (;;) {
        const b = sh.randomLive(rng);
        if (b !== outBlock && b !== statsBlock) return b;
      }
    };

    for (i = 0; i < ops; i++) {
      const live = sh.count - 2;
      if (sc.burstPermille && live > 0 && rng.below(1000) < sc.burstPermille) {
        const keep = rng.u32() / 4294967296;
        for (const p of [...sh.sorted]) {
          const b = sh.blocks.get(p);
          if (b !== outBlock && b !== statsBlock && rng.u32() / 4294967296 >= keep) freeBlock(b);
        }
        continue;
      }
      let op = pickWeighted(rng, opCum);
      if (live === 0 && (op === 2 || op === 6)) op = 0;
      else if (live >= sc.liveTarget && op !== 7 && rng.below(2) === 0) op = 6;
      else if (live > 2 * sc.liveTarget) op = 6;
      const size = genSize(rng, pickWeighted(rng, sizeCum));
      switch (op) {
        case 0: { // malloc
          const p = r.malloc(size);
          note('malloc', size, 0, p);
          if (p === 0) { falseOom(`malloc(${size})`, size, 16); break; }
          track(sh.add(p, size, 16, { what: 'malloc' }), 16);
          allocs++;
          afterGrowth();
          break;
        }
        case 1: { // calloc, split into n * m
          const m = size > 0 && rng.below(2) ? [1, 2, 4, 8, 12, 16][rng.below(6)] : 1;
          const n = Math.floor(size / m);
          const p = r.calloc(n, m);
          note('calloc', n, m, p);
          if (p === 0) { falseOom(`calloc(${n}, ${m})`, n * m, 16); break; }
          track(sh.add(p, n * m, 16, { what: 'calloc', zeroed: true }), 16);
          allocs++;
          afterGrowth();
          break;
        }
        case 2: { // realloc
          if (rng.below(16) === 0) { // realloc(0, n)
            const p = r.realloc(0, size);
            note('realloc', 0, size, p);
            if (p === 0) { falseOom(`realloc(0, ${size})`, size, 16); break; }
            track(sh.add(p, size, 16, { what: 'realloc(0, n)' }), 16);
            reallocs++;
            afterGrowth();
            break;
          }
          const b = pickVictim();
          // grow, shrink, or keep, relative to the old size
          const k = rng.below(8);
          const n = k === 0 ? 0 : k === 1 ? b.size : k < 5 ? size : Math.min(0x7fffffff, b.size + rng.range(1, Math.max(16, b.size)));
          sh.verify(b, 'before realloc');
          const q = r.realloc(b.ptr, n);
          note('realloc', b.ptr, n, q);
          reallocs++;
          if (n === 0) {
            if (q !== 0) fail(`realloc(${hex(b.ptr)}, 0) returned ${hex(q)}, expected 0 (p freed)`);
            sh.forget(b.ptr); // its pattern was verified before the call; the memory is the allocator's now
            untrack(b);
            break;
          }
          if (q === 0) {
            sh.verify(b, `failed realloc(${hex(b.ptr)}, ${n}) must keep p`);
            if (r.usableSize(b.ptr) !== b.usable) fail(`failed realloc(${hex(b.ptr)}, ${n}) changed the usable size of p`);
            falseOom(`realloc(${hex(b.ptr)}, ${n})`, n, 16);
            break;
          }
          untrack(b);
          track(sh.moved(b, q, n), 16);
          afterGrowth();
          break;
        }
        case 3: case 4: case 5: { // aligned_alloc / posix_memalign / memalign
          const align = 2 ** (rng.below(4) === 0 ? rng.range(5, 16) : rng.range(0, 7));
          let p;
          if (op === 3) {
            p = r.alignedAlloc(align, size);
            note('aligned_alloc', align, size, p);
          } else if (op === 4) {
            const a = Math.max(4, align);
            r.writeU32(out, SENTINEL);
            const rc = r.posixMemalign(out, a, size);
            note('posix_memalign', a, size, rc);
            if (rc === 0) {
              p = r.readU32(out);
              if (p === SENTINEL) fail(`posix_memalign(out, ${a}, ${size}) returned 0 without writing *out`);
              if (p === 0 && size !== 0) fail(`posix_memalign(out, ${a}, ${size}) returned 0 with a null *out`);
            } else {
              if (rc !== ENOMEM) fail(`posix_memalign(out, ${a}, ${size}) returned ${rc}, expected 0 or ENOMEM`);
              if (r.readU32(out) !== SENTINEL) fail(`posix_memalign(out, ${a}, ${size}) failed but wrote *out`);
              p = 0;
            }
          } else {
            p = r.memalign(align, size);
            note('memalign', align, size, p);
          }
          if (p === 0) { falseOom(`${OPS[op]}(${align}, ${size})`, size, align); break; }
          track(sh.add(p, size, align, { what: OPS[op] }), align);
          allocs++;
          afterGrowth();
          break;
        }
        case 6: { // free
          if (live > 0) freeBlock(pickVictim());
          else { note('free', 0, 0, 0); r.free(0); }
          break;
        }
        case 7: { // requests that can never be met
          const n = IMPOSSIBLE[rng.below(IMPOSSIBLE.length)];
          const before = r.memBytes();
          const k = rng.below(3);
          const p = k === 0 ? r.malloc(n) : k === 1 ? r.calloc(0x10000 + rng.below(0x1000), 0x10001) : r.alignedAlloc(64, n);
          note(k === 0 ? 'malloc' : k === 1 ? 'calloc-overflow' : 'aligned_alloc(64)', n, 0, p);
          if (p !== 0) fail(`an impossible request (${k === 1 ? 'overflowing calloc' : hex(n)}) returned ${hex(p)}`);
          if (r.memBytes() !== before) fail(`an impossible request (${hex(n)}) grew memory from ${before} to ${r.memBytes()}`);
          break;
        }
      }
      if ((i & (CHECK_EVERY - 1)) === CHECK_EVERY - 1) {
        const code = r.check();
        if (code !== 0) fail(`ralloc_check() returned ${code}`);
        const st = r.stats(statsBlock.ptr);
        if (st.bytesInUse !== sh.usableSum) fail(`stats.bytes_in_use ${st.bytesInUse} != sum of usable sizes ${sh.usableSum}`);
        if (st.liveBlocks !== sh.count) fail(`stats.live_blocks ${st.liveBlocks} != live blocks ${sh.count}`);
        if (st.peakBytesHeld < st.bytesInUse) fail(`stats.peak ${st.peakBytesHeld} < bytes_in_use ${st.bytesInUse}`);
        if ((i & 4095) === 4095) checkLow();
      }
    }
    i = ops;
    sh.verifyAll('end of run');
    checkLow();
    // free everything: the heap must check clean and report nothing in use
    for (const p of [...sh.sorted]) {
      if (p === statsBlock.ptr) continue;
      sh.remove(p);
      note('free', p, 0, 0);
      r.free(p);
    }
    const code = r.check();
    if (code !== 0) fail(`ralloc_check() returned ${code} after freeing everything`);
    const st = r.stats(statsBlock.ptr);
    if (st.liveBlocks !== 1 || st.bytesInUse !== statsBlock.usable)
      fail(`after freeing all but one block, stats show ${st.liveBlocks} live blocks and ${st.bytesInUse} bytes in use`);
    return { ops, allocs, frees, reallocs, oomFails, peakNeed, maxMem, heapStart, ratio: (maxMem - heapStart) / peakNeed };
  } catch (e) {
    if (e instanceof FuzzFailure && e.fuzzReported) throw e;
    const last = [];
    for (let k = ringAt - 32; k < ringAt; k++) {
      if (k < 0) continue;
      last.push('  ' + formatOp(...ring[k & 31]));
    }
    const json = JSON.stringify(sc);
    const msg = [
      `fuzz failure on build '${build}' at op ${i} of ${ops}: ${e.message}`,
      `scenario: ${json}`,
      `replay: ${replay} --build ${build} --ops ${Math.min(ops, i + 1)} --scenario '${json}'`,
      `last operations (oldest first):`,
      ...last,
    ].join('\n');
    const err = new FuzzFailure(msg);
    err.fuzzReported = true;
    err.cause = e;
    throw err;
  }
}

function formatOp(op, a, b, res) {
  switch (op) {
    case 'free': return `free(${hex(a)})`;
    case 'malloc': return `malloc(${a}) -> ${hex(res)}`;
    case 'calloc': return `calloc(${a}, ${b}) -> ${hex(res)}`;
    case 'calloc-overflow': return `calloc(overflowing) -> ${hex(res)}`;
    case 'realloc': return `realloc(${hex(a)}, ${b}) -> ${hex(res)}`;
    case 'posix_memalign': return `posix_memalign(out, ${a}, ${b}) -> ${res}`;
    default: return `${op}(${a}, ${b}) -> ${hex(res)}`;
  }
}
