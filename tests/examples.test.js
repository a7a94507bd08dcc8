// The example C programs on ralloc-wasm, dynamically (instantiateProgram, every build) and statically
// (linkStatic), must print byte for byte what the same program prints on wasi-libc's dlmalloc; a
// program compiled with ralloc_import.c must contain none of dlmalloc; the JS host example runs.
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WASI } from 'node:wasi';

import { ROOT, bindings, wasmBinary } from './lib/dist.js';
import { EXAMPLES } from './lib/examples.js';

const { compileC, runProgram, linkStatic, BUILD_NAMES } = bindings;
const { readModuleInfo } = wasmBinary;

/** Runs a plain WASI module (its own memory, its own malloc) and captures its output. */
function runPlain(wasm, { args, input }) {
  const dir = mkdtempSync(join(tmpdir(), 'ralloc-examples-'));
  try {
    writeFileSync(join(dir, 'in'), input);
    const fds = [openSync(join(dir, 'in'), 'r'), openSync(join(dir, 'out'), 'w'), openSync(join(dir, 'err'), 'w')];
    const wasi = new WASI({ version: 'preview1', args, env: {}, stdin: fds[0], stdout: fds[1], stderr: fds[2], returnOnExit: true });
    const mod = new WebAssembly.Module(wasm);
    const imports = { wasi_snapshot_preview1: wasi.wasiImport };
    const memImport = WebAssembly.Module.imports(mod).find((i) => i.kind === 'memory');
    let memory;
    if (memImport) {
      memory = new WebAssembly.Memory({ initial: readModuleInfo(wasm).imports.find((i) => i.kind === 'memory').limits.min });
      imports[memImport.module] = { [memImport.name]: memory };
    }
    const instance = new WebAssembly.Instance(mod, imports);
    const exitCode = wasi.start(memory ? { exports: { _start: instance.exports._start, memory } } : instance);
    for (const fd of fds) closeSync(fd);
    return { exitCode, stdout: readFileSync(join(dir, 'out')), stderr: readFileSync(join(dir, 'err')) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const compiled = new Map(); // name -> { baseline, program, baselineWhy, programWhy }

before(async () => {
  for (const { name } of EXAMPLES) {
    const sources = { [`${name}.c`]: readFileSync(`${ROOT}examples/c/${name}.c`, 'utf8') };
    const baseline = await compileC({ sources, mode: 'dlmalloc', flags: ['-Wall', '-Werror'] });
    const program = await compileC({ sources, mode: 'import', flags: ['-Wall', '-Werror'] });
    compiled.set(name, { baseline, program });
  }
});

describe('example C programs print exactly what they print on dlmalloc', () => {
  for (const { name, runs } of EXAMPLES) {
    test(`${name}: dynamic linking (every build) and static linking`, async () => {
      const { baseline, program } = compiled.get(name);
      const linked = await linkStatic(program.wasm, { build: 'release' });
      for (const run of runs) {
        const want = runPlain(baseline.wasm, run);
        assert.ok(want.stdout.length > 0, 'the baseline prints something');
        for (const build of BUILD_NAMES) {
          const got = await runProgram(program.wasm, { ...run, build });
          const what = `${name} ${run.args.join(' ')} (${run.input.length} bytes in) on the ${build} build`;
          assert.equal(got.exitCode, want.exitCode, `${what}: exit code`);
          assert.ok(Buffer.from(got.stdout).equals(want.stdout), `${what}: stdout differs from dlmalloc's`);
          assert.ok(Buffer.from(got.stderr).equals(want.stderr), `${what}: stderr differs from dlmalloc's`);
          assert.equal(got.heap.check(), 0, `${what}: heap check`);
          assert.ok(got.stats.mallocCalls > 0, `${what}: ralloc-wasm served the program's mallocs`);
        }
        const stat = runPlain(linked, run);
        assert.equal(stat.exitCode, want.exitCode, `${name} linked: exit code`);
        assert.ok(stat.stdout.equals(want.stdout), `${name} linked: stdout differs from dlmalloc's`);
        assert.ok(stat.stderr.equals(want.stderr), `${name} linked: stderr differs from dlmalloc's`);
      }
    });
  }
});

// dlmalloc.c.obj is the libc.a member holding wasi-libc's malloc; these are functions only it defines.
const DLMALLOC_ONLY = ['dlmalloc', 'dlfree', 'dispose_chunk', 'prepend_alloc', 'internal_memalign'];

describe('a program compiled with ralloc_import.c contains none of dlmalloc', () => {
  for (const { name } of EXAMPLES) {
    test(`${name}: the linker extracts no dlmalloc (or sbrk) object, and no dlmalloc function is in the binary`, () => {
      const { baseline, program } = compiled.get(name);
      // wasm-ld --why-extract lists every archive member the link pulled in. The baseline shows
      // the check can fail: without ralloc_import.c, malloc pulls dlmalloc.c.obj in.
      assert.ok(baseline.whyExtract.some((l) => l.includes('libc.a(dlmalloc.c.obj)')), 'the baseline links dlmalloc');
      const extracted = program.whyExtract.filter((l) => /libc\.a\((dlmalloc|sbrk)\.c\.obj\)/.test(l));
      assert.deepEqual(extracted, [], 'ralloc_import.c defines every symbol of dlmalloc.c.obj, so nothing pulls it in');
      assert.ok(program.whyExtract.length > 5, 'the report lists the members that were extracted');
      // The binary's name section (clang keeps it) has none of dlmalloc's functions; the baseline's has.
      const names = (wasm) => new Set(readModuleInfo(wasm).functionNames.values());
      const baseNames = names(baseline.wasm);
      const progNames = names(program.wasm);
      assert.ok(DLMALLOC_ONLY.some((f) => baseNames.has(f)), 'the baseline binary holds dlmalloc');
      assert.deepEqual(DLMALLOC_ONLY.filter((f) => progNames.has(f)), []);
      const imported = readModuleInfo(program.wasm).imports.filter((i) => i.module === 'ralloc').map((i) => i.name);
      assert.ok(imported.includes('malloc') && imported.includes('free'), `malloc and free are imported from ralloc (${imported})`);
      assert.ok(!readModuleInfo(program.wasm).imports.some((i) => i.module === 'env' && i.kind === 'function'), 'nothing else is left undefined');
    });
  }
});

test('examples/js/heap-host.js runs on a Heap and frees everything', () => {
  const out = execFileSync(process.execPath, [`${ROOT}examples/js/heap-host.js`, '3000'], { encoding: 'utf8', cwd: ROOT });
  const lines = out.trim().split('\n');
  assert.match(lines[0], /^interned 3000 strings; memory grew from 1 to \d+ pages$/);
  assert.match(lines[1], /^first: entry \d{5}  last: entry \d{5}$/);
  assert.match(lines[2], /^after freeing half: 1501 live blocks, \d+ bytes in use \(peak \d+\)$/);
  assert.match(lines[3], /^allocator calls: 3001 malloc, \d+ realloc, 1500 free; memory\.grow \d+x$/);
  assert.equal(lines[4], 'heap check: ok');
  assert.equal(lines[5], 'after freeing everything: 0 live blocks');
});

test('npm run demo: runs an example on a build; an unknown build or argument is one line naming what exists, before anything is built', () => {
  const demo = (...args) => spawnSync(process.execPath, [`${ROOT}scripts/demo.js`, ...args], { encoding: 'utf8', cwd: ROOT });
  const ok = demo('records', '--build', 'small');
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /Run it with ralloc-wasm's small build as its allocator/);
  assert.match(ok.stdout, /heap check {5}ok: every block and free list is consistent/);
  const builds = 'release, small, debug, security, validate, tiny';
  for (const [args, first] of [
    [['--build', 'nope'], `demo: unknown build "nope"; the builds are ${builds}`],
    [['--build=fast'], `demo: unknown build "fast"; the builds are ${builds}`],
    [['--build'], `demo: --build needs a name: ${builds}`],
    [['wordcount'], 'demo: unknown argument "wordcount"'],
  ]) {
    const r = demo(...args);
    assert.equal(r.status, 2, `demo ${args.join(' ')}`);
    assert.equal(r.stdout, '', 'nothing was built or run');
    assert.deepEqual(r.stderr.split('\n'), [first, `usage: npm run demo [-- wordfreq|exprtree|records] [--build ${builds.replaceAll(', ', '|')}]`, '']);
  }
});
