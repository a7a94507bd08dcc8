// The bindings' browser-safe checks: createHeap, the heap walk and stats, the heap map, a misuse
// on the debug build, the tracker and memory growth, written once and run in two places: by Node
// (tests/browser-safe.test.js) and inside the demo page (its "Self-test" button, which
// tests/browser.test.js presses in Chromium). Each check gets the ralloc-wasm module (`rw`) and
// uses nothing but the language and the WebAssembly API, so it runs alike in both.

/** Throws `message` unless `cond` holds. */
function ok(cond, message) {
  if (!cond) throw new Error(message);
}

/** Throws unless `actual` and `expected` are the same value (Object.is). */
function equal(actual, expected, what) {
  if (!Object.is(actual, expected)) throw new Error(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
}

/** The error `fn` throws, or an error saying it threw none. */
function thrown(fn, what) {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error(`${what}: expected an error, none was thrown`);
}

/** The live blocks and objects of a heap's walk. */
function liveOf(rw, heap) {
  return heap.walk().filter((b) => rw.isLive(b));
}

/** The heap map's figures (`<g id="figures">`'s data-* attributes), read back from the SVG text. */
export function mapFigures(svg) {
  const g = /<g id="figures"([^>]*)>/.exec(svg);
  if (!g) throw new Error('the heap map has no <g id="figures">');
  return Object.fromEntries([...g[1].matchAll(/data-([a-z-]+)="([^"]*)"/g)].map(([, k, v]) => [k, Number(v)]));
}

/** The checks, in order: each has a name and an async `run(rw)`. */
export const CHECKS = [
  {
    name: 'loadBuild then createHeap: malloc, HEAPU8, free and the stats',
    async run(rw) {
      await rw.loadBuild('release');
      const heap = rw.createHeap({ build: 'release' });
      const p = heap.malloc(100);
      ok(p !== 0 && p % 16 === 0, `malloc(100) returned a 16-aligned address (${p})`);
      heap.HEAPU8.set([1, 2, 3], p);
      equal(heap.HEAPU8[p + 2], 3, 'HEAPU8 reads back what it wrote');
      equal(heap.stats().liveBlocks, 1, 'live blocks after one malloc');
      heap.free(p);
      equal(heap.stats().liveBlocks, 0, 'live blocks after its free');
      equal(heap.check(), 0, 'heap check');
    },
  },
  {
    name: 'the walk agrees with the stats and the heap map with the walk (debug and release)',
    async run(rw) {
      for (const build of ['debug', 'release']) {
        await rw.loadBuild(build);
        const heap = rw.createHeap({ build });
        const blocks = Array.from({ length: 60 }, (_, i) => heap.malloc(8 + 40 * i));
        blocks.filter((_, i) => i % 3 === 0).forEach((p) => heap.free(p));
        const live = liveOf(rw, heap);
        const walked = heap.walk();
        ok(walked.every((b, i) => i === 0 || b.address > walked[i - 1].address), `${build}: the walk is in address order`);
        equal(live.length, heap.stats().liveBlocks, `${build}: live blocks in the walk and in the stats`);
        const kept = blocks.filter((_, i) => i % 3 !== 0);
        ok(kept.every((p) => live.some((b) => b.address === p)), `${build}: every block not freed is live in the walk`);
        const svg = heap.heapMap({ title: build });
        ok(/^(<\?xml[^>]*>\s*)?<svg[\s>]/.test(svg) && svg.trimEnd().endsWith('</svg>'), `${build}: the heap map is an SVG document`);
        const fig = mapFigures(svg);
        equal(fig['used-blocks'], live.length, `${build}: blocks in use on the map`);
        equal(fig['used-bytes'], live.reduce((s, b) => s + b.size, 0), `${build}: bytes of blocks in use on the map`);
      }
    },
  },
  {
    name: 'a double free on the debug build throws E_MISUSE with the exact message',
    async run(rw) {
      await rw.loadBuild('debug');
      const heap = rw.createHeap({ build: 'debug' });
      const p = heap.malloc(24);
      heap.free(p);
      const e = thrown(() => heap.free(p), 'the second free');
      ok(e instanceof rw.RallocError, `a RallocError (${e})`);
      equal(e.code, 'E_MISUSE', 'code');
      equal(e.message, `ralloc: double free of 0x${p.toString(16).padStart(8, '0')} (24 bytes)`, 'message');
    },
  },
  {
    name: 'the tracker names what is still live',
    async run(rw) {
      await rw.loadBuild('debug');
      const heap = rw.createHeap({ build: 'debug' });
      const tracker = heap.track();
      const ps = [heap.malloc(10), heap.malloc(20), heap.malloc(30)];
      heap.free(ps[1]);
      const leaks = tracker.leaks();
      equal(leaks.length, 2, 'tracked blocks still live');
      ok(leaks.some((b) => b.address === ps[0]) && leaks.some((b) => b.address === ps[2]), 'the two blocks not freed');
      ok(leaks.every((b) => typeof b.stack === 'string'), 'each has its allocation stack');
      tracker.stop();
    },
  },
  {
    name: 'memory grows under a large request and the views follow it',
    async run(rw) {
      await rw.loadBuild('release');
      const heap = rw.createHeap({ build: 'release', initialPages: 1, maximumPages: 64 });
      const before = heap.memory.buffer.byteLength;
      const p = heap.malloc(1 << 20);
      ok(p !== 0 && heap.memory.buffer.byteLength > before, 'memory grew');
      equal(heap.HEAPU8.length, heap.memory.buffer.byteLength, 'HEAPU8 spans the grown memory');
      heap.HEAPU8[p + (1 << 20) - 1] = 9;
      equal(heap.HEAPU8[p + (1 << 20) - 1], 9, 'the last byte of the block');
      ok(heap.stats().growCalls >= 1, 'the stats count the grow');
      equal(heap.malloc(64 << 20), 0, 'a request past maximumPages returns 0');
    },
  },
  {
    name: 'bad input gets a clear error',
    async run(rw) {
      const e = await rw.loadBuild('fast').then(() => null, (x) => x);
      ok(e instanceof rw.RallocError && e.code === 'E_BAD_OPTION' && /unknown build "fast"/.test(e.message), `loadBuild("fast"): ${e}`);
      const missing = await rw.loadBuild('small', { url: 'no-such-build.wasm' }).then(() => null, (x) => x);
      ok(missing instanceof rw.RallocError && missing.code === 'E_NO_BUILD' && /no-such-build\.wasm/.test(missing.message), `a build that cannot be fetched: ${missing}`);
      const heap = rw.createHeap();
      const r = thrown(() => heap.malloc(-1), 'malloc(-1)');
      ok(r instanceof rw.RallocError && r.code === 'E_BAD_OPTION' && /^malloc: size must be an integer from 0 to 4294967295, got -1$/.test(r.message),
        `malloc(-1) throws E_BAD_OPTION saying what it got (${r})`);
    },
  },
];

/** Runs every check; resolves to [{ name, ok, error }] in order, never rejects. */
export async function runChecks(rw) {
  const results = [];
  for (const c of CHECKS) {
    try {
      await c.run(rw);
      results.push({ name: c.name, ok: true, error: '' });
    } catch (e) {
      results.push({ name: c.name, ok: false, error: String(e?.message ?? e) });
    }
  }
  return results;
}
