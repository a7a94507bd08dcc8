// The misuse suite from C (issue 6, item 3): one small program per misuse in tests/misuse/,
// compiled with @yowasp/clang against bindings/c/ralloc_import.c and run with ralloc-wasm as its
// malloc (instantiateProgram / runProgram).
//
// - debug: the program stops at the misuse: run() throws, and runProgram rejects, with the
//   RallocError E_MISUSE whose message is exactly docs/DEBUGGING.md's (built here from the addresses
//   the program printed, and flushed, before the misuse); nothing the program prints after the
//   misuse appears.
// - release: the program runs to the end and exits 0, printing what the call returned and its
//   own checks (misuse.h: ralloc_check, live blocks intact, a batch of new blocks with no address
//   twice and no overlap). Misuse release cannot detect (a write reaching the next header, a
//   forged header, a use-after-free write into a free list) prints the ralloc_check code that
//   names the broken invariant instead. Release serves requests of at most 1024 bytes as
//   headerless page objects: a double free of one is an exact no-op, a write past one lands in the
//   next object undetected, and a forged header below one is ignored; the header cases use
//   larger blocks so release takes its header path there.
// - small and tiny: the same programs, checked as release is, each with release's output unless
//   the case gives the build's own (`small:`, `tiny:`, a string or a RegExp, with a `notes`
//   entry named in the subtest): they have no pages, so every block has a header. Programs that
//   call the extended API are skipped on tiny, which does not export it; where tiny does not
//   keep release's contract on a corrupted heap (it follows a neighbour's header and a free
//   block's links unchecked), the case is a todo there (tests/misuse.test.js says more).
//
// Programs are compiled once per content (a cache in the OS temp directory, keyed by a hash of
// every input), so reruns take seconds.
// Run: node --test tests/misuse-c.test.js (builds needed: release, small, tiny, debug).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, bindings } from './lib/dist.js';

const { compileC, instantiateProgram, runProgram, RallocError } = bindings;

const DIR = `${ROOT}tests/misuse/`;
const hex8 = (a) => '0x' + (a >>> 0).toString(16).padStart(8, '0');

/** What a program prints after the misuse when release ignores it (misuse.h's after_misuse). */
const AFTER = 'check 0\nlive ok\nbatch ok\ncheck 0\n';

// ralloc_check codes the corrupting release runs print.
const SIZE = 2, BOUNDS = 3, STATE = 7, COUNTERS = 13, PAGE = 18;

/** Builds that run the program through to the end (release's contract). */
const RELEASE_STYLE = ['release', 'small', 'tiny'];
/** Why a program does not run on tiny: it imports what tiny does not export. */
const NO_API = (what) => `tiny exports no ${what}`;
/** Why tiny does not keep release's contract in a case (a todo there). */
const TINY_UNCHECKED = 'tiny merges with a neighbour whose header says FREE, and unlinks free blocks, without checking the header fits the heap or the links link back (core/heap.ts freeBlock and core/bins.ts checkLinks do)';
/** The batch lines after_misuse prints when new blocks overlap a live one, then the final check. */
const overlapsThen = (check) => `(?:batch: 0x[0-9a-f]{8} overlaps (?:live )?0x[0-9a-f]{8}\\n)+check ${check}\\n`;

/**
 * file: the program; message(v): the exact debug message, v = the name=value lines it printed
 * (addresses and numbers); release: what it prints on release after those lines.
 */
const CASES = [
  { file: 'double_free_fresh.c', message: (v) => `ralloc: double free of ${hex8(v.b)} (2000 bytes)`, release: `free returned\n${AFTER}` },
  {
    file: 'double_free_small.c',
    what: 'debug: a block in the quick cache; release: a free page object, an exact no-op',
    message: (v) => `ralloc: double free of ${hex8(v.b)} (32 bytes)`,
    release: `free returned\npage unchanged: 1\n${AFTER}`,
    small: `free returned\n${AFTER}`,
    tiny: `free returned\n${AFTER}`,
    notes: { small: 'a free block of the general lists', tiny: 'a free block of the general lists' },
  },
  {
    file: 'double_free_merged.c',
    message: (v) => `ralloc: double free of ${hex8(v.b)} (2000 bytes)`,
    release: `free returned\nmalloc_usable_size(b) -> 0\n${AFTER}`,
  },
  { file: 'free_outside.c', message: () => 'ralloc: invalid free of 0x40000000 (outside the heap)', release: `free returned\n${AFTER}` },
  { file: 'free_misaligned.c', message: (v) => `ralloc: invalid free of ${hex8(v.x)} (misaligned)`, release: `free returned\n${AFTER}` },
  {
    file: 'free_interior.c',
    message: (v) => `ralloc: invalid free of ${hex8(v.x)} (inside the 100-byte block at ${hex8(v.a)})`,
    release: `free returned\n${AFTER}`,
  },
  {
    file: 'free_static.c',
    message: (v) => `ralloc: invalid free of ${hex8(v.x)} (static data, below the heap)`,
    release: `free returned\ntable static data\n${AFTER}`,
  },
  { file: 'free_never.c', message: (v) => `ralloc: invalid free of ${hex8(v.x)} (never allocated)`, release: `free returned\n${AFTER}` },
  { file: 'realloc_freed.c', message: (v) => `ralloc: realloc of freed ${hex8(v.b)} (100 bytes)`, release: `realloc -> 0\n${AFTER}` },
  {
    file: 'realloc_interior.c',
    message: (v) => `ralloc: invalid realloc of ${hex8(v.x)} (inside the 100-byte block at ${hex8(v.a)})`,
    release: `realloc -> 0\n${AFTER}`,
  },
  {
    file: 'usable_size_freed.c',
    message: (v) => `ralloc: malloc_usable_size of freed ${hex8(v.b)} (100 bytes)`,
    release: `malloc_usable_size -> 0\n${AFTER}`,
  },
  {
    file: 'overflow_1_free.c',
    message: (v) => `ralloc: write past the end of ${hex8(v.a)} (100 bytes), found by free`,
    release: `free returned\n${AFTER}`,
  },
  {
    file: 'overflow_12_free.c',
    what: 'a 1124-byte block; release: not detected, it overwrites the next header; ralloc_check names BOUNDS',
    message: (v) => `ralloc: write past the end of ${hex8(v.a)} (1124 bytes), found by free`,
    release: `free returned\ncheck ${BOUNDS}\n`,
    tiny: `free returned\ncheck ${SIZE}\n`,
    todo: { tiny: TINY_UNCHECKED },
  },
  {
    file: 'overflow_1_realloc.c',
    message: (v) => `ralloc: write past the end of ${hex8(v.a)} (100 bytes), found by realloc`,
    release: `realloc kept the bytes: 1\n${AFTER}`,
  },
  {
    file: 'overflow_1_check.c',
    message: (v) => `ralloc: write past the end of ${hex8(v.a)} (100 bytes), found by ralloc_check`,
    release: AFTER,
  },
  {
    file: 'overflow_12_check.c',
    what: 'a 1124-byte block; release: ralloc_check names BOUNDS',
    message: (v) => `ralloc: write past the end of ${hex8(v.a)} (1124 bytes), found by ralloc_check`,
    release: `check ${BOUNDS}\n`,
    tiny: `check ${SIZE}\n`,
    notes: { tiny: 'its ralloc_check names SIZE' },
  },
  {
    file: 'overflow_into_next_free.c',
    what: 'release: a 96-byte page object; the bytes land in the next object, not detected',
    message: (v) => `ralloc: write past the end of ${hex8(v.a)} (96 bytes), found by free`,
    release: `free returned\nb follows a and starts with AAAA: 1\nrest of b intact: 1\nb usable: 96\n${AFTER}`,
    small: `free returned\nb follows a and starts with AAAA: 0\nrest of b intact: 1\nb usable: 108\n${AFTER}`,
    tiny: `free returned\nb follows a and starts with AAAA: 0\nrest of b intact: 1\nb usable: 108\n${AFTER}`,
    notes: { small: 'a 112-byte block: the bytes land in its own slack', tiny: 'a 112-byte block: the bytes land in its own slack' },
  },
  {
    file: 'overflow_into_next_check.c',
    what: 'release: a 96-byte page object; the bytes land in the next object, ralloc_check 0',
    message: (v) => `ralloc: write past the end of ${hex8(v.a)} (96 bytes), found by ralloc_check`,
    release: `check 0\nb follows a and starts with AAAA: 1\nrest of b intact: 1\n${AFTER}`,
    small: `check 0\nb follows a and starts with AAAA: 0\nrest of b intact: 1\n${AFTER}`,
    tiny: `check 0\nb follows a and starts with AAAA: 0\nrest of b intact: 1\n${AFTER}`,
    notes: { small: 'a 112-byte block: the bytes land in its own slack', tiny: 'a 112-byte block: the bytes land in its own slack' },
  },
  {
    file: 'forged_header.c',
    what: 'a 2000-byte block; release: not detected, the next block is hidden; ralloc_check names COUNTERS',
    message: (v) => `ralloc: corrupted header of ${hex8(v.a)} (${v.size} bytes), found by free`,
    release: `free returned\ncheck ${COUNTERS}\n`,
    tiny: `free returned\ncheck 0\n`,
    notes: { tiny: 'not detected, not even by ralloc_check: tiny keeps no counters' },
  },
  {
    file: 'forged_header_small.c',
    what: 'release: a page object has no header; free frees exactly it',
    message: (v) => `ralloc: corrupted header of ${hex8(v.b)} (${v.size} bytes), found by free`,
    release: `free returned\nb is a free object: 1\nc usable: 112\n${AFTER}`,
    small: new RegExp(`^free returned\\nb is a free object: 0\\nc usable: 108\\ncheck ${COUNTERS}\\nlive ok\\n${overlapsThen(COUNTERS)}$`),
    tiny: new RegExp(`^free returned\\nb is a free object: 0\\nc usable: 108\\ncheck 0\\nlive ok\\n${overlapsThen(0)}$`),
    notes: {
      small: 'b has a header: freeing it hides c, whose bytes are handed out again; ralloc_check names COUNTERS',
      tiny: 'b has a header: freeing it hides c, whose bytes are handed out again; not detected, not even by ralloc_check (no counters)',
    },
  },
  {
    file: 'corrupt_free_list.c',
    what: 'release: b\'s link does not link back, so the heap writes through neither and b leaves its list alone; b is handed out and the heap stays whole',
    message: (v) => `ralloc: corrupted free list at ${hex8(v.b)} (${v.size} bytes), found by malloc`,
    release: `malloc gave b: 1\ncheck 0\n`,
    todo: { tiny: TINY_UNCHECKED },
  },
  {
    file: 'corrupt_free_list_small.c',
    what: 'debug: a quick list; release: a page\'s local list, b waits there and its link is checked before use; ralloc_check names PAGE',
    message: (v) => `ralloc: corrupted free list at ${hex8(v.b)} (${v.size} bytes), found by malloc`,
    release: `malloc gave b: 0\ncheck ${PAGE}\n`,
    small: 'malloc gave b: 1\ncheck 0\n',
    tiny: 'malloc gave b: 1\ncheck 0\n',
    notes: { small: 'a free block: its link does not link back, so the heap stays whole' },
    todo: { tiny: TINY_UNCHECKED },
  },
  {
    file: 'double_dealloc.c',
    message: (v) => `ralloc: ralloc_dealloc of freed ${hex8(v.b)} (2000 bytes)`,
    release: `ralloc_dealloc -> 28\n${AFTER}`,
    skip: { tiny: NO_API('ralloc_dealloc') },
  },
  {
    file: 'heap_free_double.c',
    message: (v) => `ralloc: double free of ${hex8(v.x)} (100 bytes)`,
    release: `ralloc_heap_free -> 28\nheap check 0\n${AFTER}`,
    skip: { tiny: NO_API('local heaps (ralloc_heap_*)') },
  },
  {
    file: 'leak.c',
    message: (v) => `ralloc: 2 blocks leaked (96 bytes)\n  ${hex8(v.a)} 32 bytes #${v.a_serial}\n  ${hex8(v.b)} 64 bytes #${v.b_serial}`,
    release: 'leaked 2\nleaked 0\n',
    skip: { tiny: NO_API('ralloc_assert_no_leak or ralloc_block_serial') },
    check(v, build) {
      if (build === 'debug') assert.ok(v.a_serial > 0 && v.b_serial === v.a_serial + 1, `serials ${v.a_serial}, ${v.b_serial}`);
      else assert.deepEqual([v.a_serial, v.b_serial], [0, 0], `${build} keeps no serials`);
    },
  },
];

const ARGS = ['misuse'];
const HEADER = readFileSync(`${DIR}misuse.h`, 'utf8');
const FLAGS = ['-Wall', '-Werror'];
const CACHE = join(tmpdir(), 'ralloc-wasm-misuse-cache');
const compiled = new Map();
let work;

/** Compiles a case (or takes it from the cache: the key hashes every input of the compile). */
async function compile(file) {
  const source = readFileSync(DIR + file, 'utf8');
  const hash = createHash('sha256');
  for (const part of [source, HEADER, readFileSync(`${ROOT}bindings/c/ralloc_import.c`), readFileSync(`${ROOT}bindings/c/ralloc.h`),
    JSON.stringify(FLAGS), readFileSync(`${ROOT}node_modules/@yowasp/clang/package.json`)]) hash.update(part).update('\0');
  const cached = join(CACHE, `${file}.${hash.digest('hex').slice(0, 24)}.wasm`);
  if (existsSync(cached)) return new Uint8Array(readFileSync(cached));
  const { wasm } = await compileC({ sources: { [file]: source, 'misuse.h': HEADER }, flags: FLAGS });
  mkdirSync(CACHE, { recursive: true });
  writeFileSync(cached, wasm);
  return wasm;
}

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'ralloc-misuse-c-'));
  for (const c of CASES) compiled.set(c.file, await compile(c.file));
});
after(() => rmSync(work, { recursive: true, force: true }));

/** The name=value lines a program printed before its misuse: hex values as numbers, decimal too. */
function values(stdout) {
  const v = {};
  const rest = [];
  for (const line of stdout.split('\n')) {
    const m = /^([a-z_]+)=(0x[0-9a-f]{8}|\d+)$/.exec(line);
    if (m) v[m[1]] = Number(m[2]);
    else rest.push(line);
  }
  return { v, rest: rest.join('\n') };
}

/** Runs the program on build with stdout to a file; returns { error, exitCode, stdout }. */
async function runToFile(wasm, build, name) {
  const out = join(work, `${name}.${build}.out`);
  const fd = openSync(out, 'w');
  let error, exitCode;
  try {
    const program = await instantiateProgram(wasm, { build, args: ARGS, stdout: fd });
    exitCode = program.run();
  } catch (e) {
    error = e;
  } finally {
    closeSync(fd);
  }
  return { error, exitCode, stdout: readFileSync(out, 'utf8') };
}

function assertMisuse(error, message, what) {
  assert.ok(error !== undefined, `${what}: expected RallocError E_MISUSE "${message}", but the program ran on`);
  assert.ok(error instanceof RallocError, `${what}: expected RallocError E_MISUSE "${message}", got ${error?.stack ?? error}`);
  assert.equal(error.code, 'E_MISUSE', `${what}: error code for: ${error.message}`);
  assert.equal(error.message, message, what);
}

for (const c of CASES) {
  const name = c.file.replace(/\.c$/, '');
  test(`${name}${c.what ? ` (${c.what})` : ''}`, async (t) => {
    const wasm = compiled.get(c.file);
    await t.test('debug: stops with the exact message', async () => {
      const run = await runToFile(wasm, 'debug', name);
      const { v, rest } = values(run.stdout);
      assert.equal(rest.includes('precondition failed'), false, run.stdout);
      assertMisuse(run.error, c.message(v), 'run()');
      assert.equal(rest, '', 'nothing is printed after the misuse');
      c.check?.(v, 'debug');
      // runProgram (same arguments, so the same addresses) rejects with the same error.
      let rejected;
      await runProgram(wasm, { build: 'debug', args: ARGS }).catch((e) => { rejected = e; });
      assertMisuse(rejected, c.message(v), 'runProgram');
    });
    for (const build of RELEASE_STYLE) {
      const skip = c.skip?.[build], todo = c.todo?.[build];
      const why = skip ? `skipped: ${skip}` : todo ? 'todo: tiny checks no neighbour\'s header and no free block\'s links' : c.notes?.[build];
      await t.test(`${build}: runs on, exit 0, its own checks pass${why ? ` (${why})` : ''}`, { skip: skip ?? false, todo: todo ?? false }, async () => {
        const run = await runProgram(wasm, { build, args: ARGS });
        const stdout = Buffer.from(run.stdout).toString('utf8');
        const { v, rest } = values(stdout);
        const expected = c[build] ?? c.release;
        if (expected instanceof RegExp) assert.match(rest, expected, 'what the program printed after the misuse');
        else assert.equal(rest, expected, 'what the program printed after the misuse');
        assert.equal(run.exitCode, 0);
        assert.equal(Buffer.from(run.stderr).toString('utf8'), '');
        c.check?.(v, build);
      });
    }
  });
}

test('every program in tests/misuse/ is a case of this suite, and there are at least 20', () => {
  const files = readdirSync(DIR).filter((f) => f.endsWith('.c')).sort();
  assert.deepEqual(files, CASES.map((c) => c.file).sort());
  assert.ok(CASES.length >= 20, `${CASES.length} cases`);
});

test('the CLI: `ralloc-wasm run --build debug` prints the message to stderr and exits 134', () => {
  const file = join(work, 'double_free_fresh.wasm');
  writeFileSync(file, compiled.get('double_free_fresh.c'));
  const r = spawnSync(process.execPath, [`${ROOT}bin/ralloc-wasm.js`, 'run', '--build', 'debug', file, ...ARGS.slice(1)], { encoding: 'utf8' });
  const { v } = values(r.stdout);
  assert.equal(r.status, 134, r.stderr);
  assert.ok(r.stderr.includes(`ralloc: double free of ${hex8(v.b)} (2000 bytes)`), `stderr: ${r.stderr}`);
  const release = spawnSync(process.execPath, [`${ROOT}bin/ralloc-wasm.js`, 'run', '--build', 'release', file], { encoding: 'utf8' });
  assert.equal(release.status, 0, release.stderr);
});
