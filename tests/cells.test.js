// The typed cell allocators (assembly/features/cell.ts and the files beside it) inside a program,
// built from tests/cells/checks.ts in three configurations: release (-O3; the pools keep their
// own cache), RALLOC_PAGES=0 (the pools' heap has quick lists instead) and the debug build
// (RALLOC_DEBUG=1: guarded blocks). In each: fast-check drives the generative runs of
// tests/assembly/cellcheck.ts on every allocator (live cells disjoint, contents kept, zeroed
// cells zero, a pool's memory.size() unchanged and the pool whole again after each run), and
// every misuse must stop the program with exactly its message (docs/CELLS.md lists them). The
// example (examples/as/jail.ts) and the cells code of README.md and docs/CELLS.md run too.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import fc from 'fast-check';
import { compileAS, instantiateAS, Abort } from './lib/ascompile.js';

const PROGRAM = new URL('./cells/checks.ts', import.meta.url).pathname;
const CONFIGS = {
  release: ['-O3', '--noAssert'],
  'quick lists': ['-O3', '--noAssert', '--use', 'RALLOC_PAGES=0'],
  debug: ['-O1', '--debug', '--use', 'RALLOC_DEBUG=1'],
};
const KINDS = ['StackAllocator', 'HeapAlloc', 'HeapAllocUninitialized', 'HeapPrealloc', 'CallocPool', 'GlobalPool'];

/** Each misuse of checks.ts's misuse(n), and the message it must stop with (a function of the
 *  instance when the message names an address). */
const MISUSES = {
  1: 'cell #1 (u8) read at index 2 after it was freed',
  2: 'cell #1 (u8) written at index 0 after it was freed',
  3: 'StackAllocator<u8>.freeCell: cell #1 was freed already (a double free)',
  4: 'cell #1 (u8): index 4 is out of range [0, 4)',
  5: 'cell #1 (u8): index -1 is out of range [0, 4)',
  6: 'StackAllocator<u8>.freeCell: cell #1 is not a cell of this allocator',
  7: 'cell #1 (u8) had its ptr taken after it was freed',
  8: 'a view of cell #1 (u8) read at index 0 after the cell was freed',
  9: 'cell #1 (u8): slice(2, 5) is not inside [0, 4)',
  10: 'HeapPrealloc<u32>.allocCell(100000): out of memory: the pool has no free block of BLOCK bytes',
  11: 'HeapAlloc<f64>.allocCell: length -3 is negative',
  12: (e) => {
    const g = e.misuseGlobal() >>> 0;
    return `GlobalPool<u16>: the buffer [${g + 4096}, ${g + 8192}) overlaps [${g}, ${g + 16384}), bound to a GlobalPool already`;
  },
  13: 'cell #2 (f64): index 9 is out of range [0, 3)',
  14: 'cell #2 (V3): index 2 is out of range [0, 2)',
  15: 'StackAllocator<u8>.allocCell(1): out of memory: all 2 cell records are live',
  16: 'StackAllocator<u8>.freeCell: cell #1 was freed already (a double free)',
  17: /^GlobalPool<u8>: the buffer \[(\d+), (\d+)\) is not static data: it must end at or below __heap_base \((\d+)\)$/,
  // 4096 bytes: 80 of state and record table header, 4 slots (32), 2 records (32): 3952 elements, 4 taken
  19: 'StackAllocator<u8>.allocCell(5000): out of memory: no free piece holds 5000 elements (the largest holds 3948; 0 were dropped)',
  21: 'HeapAlloc<f64>.allocCell: 2147483647 elements are more than a cell holds (268435454)',
  20: /^StackAllocator<u8>: 64 bytes at \d+ cannot hold 4 slots, 4 cell records and one element inside memory \(slots and cells must be 1 or more\)$/,
};
/** Misuses only the guarded builds find. */
const GUARDED_MISUSES = {
  18: 'HeapPrealloc<u8>.freeCell: cell #2 was written outside its elements (its block\'s guard is broken)',
};

for (const [config, options] of Object.entries(CONFIGS)) {
  describe(`cells, ${config} configuration`, () => {
    let binary;
    before(async () => {
      binary = await compileAS(PROGRAM, [...options, '--runtime', 'incremental', '--exportRuntime']);
    });

    it('every allocator through 20,000 steps, cells of 1..300 u32, zeroing or not', () => {
      const { exports, string } = instantiateAS(binary);
      for (let kind = 0; kind < KINDS.length; kind++) {
        for (const leave of [false, true]) {
          const code = exports.run(kind, leave, 12345 + kind, 20000, 300, 200);
          assert.equal(code, 0, `${KINDS[kind]} ${leave ? 'LEAVE' : 'ZERO'}: ${string(exports.lastFailure())}`);
        }
      }
      // the pools (256 KiB, 200 cells of up to 1200 bytes) filled up at times
      assert.ok(exports.run(3, false, 5, 5000, 2000, 250) === 0 && exports.lastRefused() > 0);
    });

    it('fast-check: any allocator, seed, length and live count; the same allocators run after run', () => {
      const { exports, string } = instantiateAS(binary);
      fc.assert(fc.property(
        fc.integer({ min: 0, max: KINDS.length - 1 }), fc.boolean(), fc.integer({ min: 1, max: 0x7fffffff }),
        fc.integer({ min: 1, max: 3000 }), fc.integer({ min: 1, max: 2000 }), fc.integer({ min: 1, max: 256 }),
        (kind, leave, seed, ops, maxLen, maxLive) => {
          const code = exports.run(kind, leave, seed, ops, maxLen, maxLive);
          assert.equal(code, 0, `${KINDS[kind]}: ${code ? string(exports.lastFailure()) : ''}`);
        },
      ), { numRuns: 60, seed: 18 });
    });

    const misuses = config === 'debug' ? { ...MISUSES, ...GUARDED_MISUSES } : MISUSES;
    for (const [n, expected] of Object.entries(misuses)) {
      it(`misuse ${n} stops with its message`, () => {
        const { exports } = instantiateAS(binary);
        let message;
        try {
          exports.misuse(Number(n));
        } catch (e) {
          assert.ok(e instanceof Abort, `expected an abort, got ${e.stack}`);
          message = e.message;
        }
        assert.ok(message !== undefined, 'the program went on');
        if (expected instanceof RegExp) {
          const m = expected.exec(message);
          assert.ok(m, message);
          if (n === '17') {
            const [start, end, heapBase] = m.slice(1).map(Number);
            assert.equal(end - start, 16384);
            assert.ok(end > heapBase);
          }
        } else if (typeof expected === 'function') {
          assert.equal(message, expected(exports));
        } else {
          // a pool's block for 400,000 bytes: the header, rounding, and in the guarded builds the guard
          const block = config === 'debug' ? 400032 : 400016;
          assert.equal(message, expected.replace('BLOCK', String(block)));
        }
      });
    }

    it('a pool\'s heap is sound for ralloc_heap_check after cells came and went', () => {
      assert.equal(instantiateAS(binary).exports.poolHeapCheck(), 0);
    });
  });
}

describe('examples/as: the jail example', () => {
  it('builds, runs its task, and shows that memory never grew', async () => {
    const { runJail } = await import('../examples/as/run.js');
    const lines = await runJail();
    assert.equal(lines.length, 5, lines.join('\n'));
    const pages = /^pool ready: memory is (\d+) pages of 64 KiB$/.exec(lines[0])?.[1];
    assert.ok(pages, lines[0]);
    assert.equal(lines[1], '4000 cells made, 3900 freed; 100 polygons live');
    assert.equal(lines[2], 'checksum 185530.81820445459');
    assert.equal(lines[3], 'memory grew by 0 pages');
    assert.equal(lines[4], `a cell of 2^20 points: refused (null), memory still ${pages} pages`);
  });
});

describe('the cells code in the docs runs as written', () => {
  const ROOT = new URL('..', import.meta.url).pathname;
  /** The ```ts blocks of a Markdown file that import from ralloc-wasm/assembly and use cells. */
  const blocks = (file) => [...readFileSync(`${ROOT}${file}`, 'utf8').matchAll(/```ts\n([\s\S]*?)```/g)]
    .map((m) => m[1]).filter((b) => /allocCell/.test(b));
  for (const file of ['README.md', 'docs/CELLS.md']) {
    it(`${file}: every block that allocates cells compiles and runs`, async () => {
      const found = blocks(file);
      assert.ok(found.length > 0, `no cells code in ${file}`);
      const dir = mkdtempSync(join(tmpdir(), 'cells-doc-'));
      try {
        for (const [i, code] of found.entries()) {
          const entry = join(dir, `block${i}.ts`);
          // asc resolves a relative path; one from the package's name would need it installed
          writeFileSync(entry, code.replaceAll('"ralloc-wasm/assembly"', JSON.stringify(relative(dir, `${ROOT}assembly/index`))));
          instantiateAS(await compileAS(entry, ['--runtime', 'incremental'])); // its top level runs
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
