// Emscripten programs on ralloc-wasm (docs/EMSCRIPTEN.md): the example C programs and a C++
// program built with emcc -sMALLOC=none must print byte for byte what they print on emcc's own
// dlmalloc, linked to ralloc-wasm at instantiation (the package's --pre-js) and statically
// (linkEmscripten, then the glue as emcc wrote it); Module._malloc, HEAPU8 and ccall work on
// ralloc-wasm's heap, also after it grew memory; a double free on the debug build reaches the
// glue's caller with the exact message; a -pthread program's threads allocate at once from the
// threads build. Skipped, saying why, where emcc is not installed.
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

import { ROOT, bindings, rejectsWith, wasmBinary, wat } from './lib/dist.js';
import { EXAMPLES } from './lib/examples.js';
import { EMCC_DIR, emcc, emccVersion } from '../bench/lib/emcc.js';

const { linkEmscripten, readLinkedNote, LINKED_SECTION } = bindings;
const { readModuleInfo } = wasmBinary;
const require = createRequire(import.meta.url);

const PRE_JS = `${ROOT}bindings/emscripten/pre.js`;
const TEST_PRE_JS = `${ROOT}tests/emscripten/test-pre.js`;
/** The recipe of docs/EMSCRIPTEN.md: malloc left to ralloc-wasm, the memory made by the glue. */
const RALLOC_FLAGS = ['-sMALLOC=none', '-sIMPORTED_MEMORY', '-sERROR_ON_UNDEFINED_SYMBOLS=0', '-Wl,--export=__heap_base'];
const WITH_PRE_JS = { flags: ['--pre-js', PRE_JS, '--pre-js', TEST_PRE_JS], deps: [PRE_JS, TEST_PRE_JS] };

describe('instantiateEmscripten refuses what it cannot serve, saying what to change (no emcc needed)', () => {
  const glue = (memory) => ({ env: { memory, malloc: () => 0, free: () => {} } });
  test('a program that defines its own memory: build with -sIMPORTED_MEMORY', async () => {
    const wasm = wat('(module (import "env" "malloc" (func (param i32) (result i32))) (memory (export "memory") 1))');
    await rejectsWith(() => bindings.instantiateEmscripten(wasm, glue(undefined)), 'E_MEMORY_NOT_IMPORTED', /-sIMPORTED_MEMORY/);
  });
  test('a program without __heap_base: build with -Wl,--export=__heap_base', async () => {
    const wasm = wat('(module (import "env" "memory" (memory 1)) (import "env" "malloc" (func (param i32) (result i32))))');
    await rejectsWith(() => bindings.instantiateEmscripten(wasm, glue(new WebAssembly.Memory({ initial: 1 }))), 'E_BAD_OPTION', /__heap_base/, /-Wl,--export=__heap_base/);
  });
  test('imports without the glue\'s memory', async () => {
    const wasm = wat('(module (import "env" "memory" (memory 1)) (global (export "__heap_base") i32 (i32.const 1024)))');
    await rejectsWith(() => bindings.instantiateEmscripten(wasm, glue({})), 'E_BAD_OPTION', /imports\.env\.memory must be the glue's WebAssembly\.Memory/);
  });
  test('bytes that are not wasm', async () => {
    await rejectsWith(() => bindings.instantiateEmscripten(new Uint8Array([1, 2, 3, 4]), glue(undefined)), 'E_NOT_WASM');
  });
});

const version = emccVersion();
if (!version) {
  const why = 'emcc is not installed (apt-get install emscripten node-acorn; .ci/run installs them)';
  console.log(`# skipping tests/emscripten.test.js: ${why}`);
  test('Emscripten programs on ralloc-wasm', { skip: why }, () => {});
} else {
  runSuite();
}

/** Runs an emcc glue file with Node, args after it and input on stdin; environment `env` added. */
function runGlue(js, { args, input }, env = {}) {
  const r = spawnSync(process.execPath, ['--no-experimental-fetch', js, ...args.slice(1)], {
    input, env: { ...process.env, ...env }, maxBuffer: 64 << 20,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A copy of the glue `js` beside the module `wasm` under the name the glue loads, in a directory of its own. */
function gluedWith(js, wasm, name, dirName) {
  const dir = join(EMCC_DIR, dirName);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  copyFileSync(js, join(dir, `${name}.cjs`));
  writeFileSync(join(dir, `${name}.wasm`), wasm);
  return join(dir, `${name}.cjs`);
}

/** The suite itself, defined only where emcc is installed. */
function runSuite() {
  // The C++ program reads what wordfreq reads.
  const programs = [
    ...EXAMPLES.map((e) => ({ name: e.name, file: `${ROOT}examples/c/${e.name}.c`, cpp: false, runs: e.runs })),
    { name: 'wordindex', file: `${ROOT}examples/cpp/wordindex.cpp`, cpp: true,
      runs: EXAMPLES.find((e) => e.name === 'wordfreq').runs.map((r) => ({ args: ['wordindex', r.args[1] ?? '10'], input: r.input })) },
  ];
  const built = new Map();
  let reportDir;

  before(async () => {
    reportDir = join(EMCC_DIR, `reports-${process.pid}`);
    mkdirSync(reportDir, { recursive: true });
    await Promise.all(programs.map(async (p) => {
      const common = { inputs: [p.file], cpp: p.cpp };
      const [baseline, dynamic, plain] = await Promise.all([
        emcc(`${p.name}-dlmalloc`, { ...common, flags: ['-O2', '-Wall', '-Werror'] }),
        emcc(`${p.name}-ralloc`, { ...common, flags: ['-O2', '-Wall', '-Werror', ...RALLOC_FLAGS, ...WITH_PRE_JS.flags], deps: WITH_PRE_JS.deps }),
        emcc(`${p.name}-plain`, { ...common, flags: ['-O2', '-Wall', '-Werror', ...RALLOC_FLAGS] }),
      ]);
      const merged = await linkEmscripten(readFileSync(plain.wasm), { build: 'release' });
      built.set(p.name, { baseline, dynamic, plain, merged, linkedJs: gluedWith(plain.js, merged, `${p.name}-plain`, `${p.name}-linked-${process.pid}`) });
    }));
  });

  describe('emcc programs print exactly what they print on emcc\'s dlmalloc', () => {
    for (const p of programs) {
      test(`${p.name}${p.cpp ? ' (C++: std::string, std::vector, std::map, new/delete)' : ''}: at instantiation (pre-js, release and debug) and statically linked (plain glue)`, () => {
        const { baseline, dynamic, merged, linkedJs } = built.get(p.name);
        const info = readModuleInfo(merged);
        assert.ok(info.customSections.includes(LINKED_SECTION), 'the linked module carries ralloc-wasm');
        assert.deepEqual(info.imports.filter((i) => i.module === 'env' && /malloc|free|calloc|realloc|memalign/.test(i.name)).map((i) => i.name), [],
          'the linked module imports none of the malloc family');
        for (const [i, run] of p.runs.entries()) {
          const what = `${p.name} ${run.args.slice(1).join(' ')} (input ${i}, ${run.input.length} bytes)`;
          const want = runGlue(baseline.js, run);
          assert.ok(want.stdout.length > 0, `${what}: the baseline prints something`);
          for (const build of ['release', 'debug']) {
            const report = join(reportDir, `${p.name}-${i}-${build}.json`);
            const got = runGlue(dynamic.js, run, { RALLOC_BUILD: build, RALLOC_REPORT: report });
            assert.equal(got.status, want.status, `${what} on ${build}: exit status (${got.stderr})`);
            assert.ok(got.stdout.equals(want.stdout), `${what} on ${build}: stdout differs from dlmalloc's`);
            assert.ok(got.stderr.equals(want.stderr), `${what} on ${build}: stderr differs from dlmalloc's`);
            const seen = JSON.parse(readFileSync(report, 'utf8'));
            assert.equal(seen.label, `ralloc-wasm's ${build} build`);
            assert.ok(seen.mallocCalls > 10 && seen.freeCalls > 10, `${what} on ${build}: ralloc-wasm served the program (${JSON.stringify(seen)})`);
            assert.equal(seen.check, 0, `${what} on ${build}: heap check`);
          }
          const stat = runGlue(linkedJs, run);
          assert.equal(stat.status, want.status, `${what} linked: exit status (${stat.stderr})`);
          assert.ok(stat.stdout.equals(want.stdout), `${what} linked: stdout differs from dlmalloc's`);
          assert.ok(stat.stderr.equals(want.stderr), `${what} linked: stderr differs from dlmalloc's`);
        }
      });
    }
  });

  describe('the glue\'s Module on ralloc-wasm\'s heap', () => {
    // MODULARIZE: the glue is a factory, so a test can load it twice and pass Module options.
    const API_FLAGS = ['-O2', ...RALLOC_FLAGS, ...WITH_PRE_JS.flags, '-sMODULARIZE=1', '-sEXPORT_NAME=createApi',
      '-sNODEJS_CATCH_EXIT=0', '-sNODEJS_CATCH_REJECTION=0', '-sALLOW_MEMORY_GROWTH=1',
      '-sEXPORTED_FUNCTIONS=_greet,_sum_bytes,_churn,_malloc,_free', '-sEXPORTED_RUNTIME_METHODS=ccall,UTF8ToString'];
    let api;
    before(async () => {
      api = await emcc('api', { inputs: [`${ROOT}tests/emscripten/api.c`], flags: API_FLAGS, deps: WITH_PRE_JS.deps });
    });

    for (const linking of ['dynamic', 'static']) {
      test(`Module._malloc, HEAPU8 and ccall (${linking}), before and after ralloc-wasm grows memory`, async () => {
        const createApi = require(api.js);
        const wasmBinary = linking === 'static' ? await linkEmscripten(readFileSync(api.wasm), { build: 'release' }) : undefined;
        const Module = await createApi({ ralloc: { bindings }, ...(wasmBinary ? { wasmBinary } : {}) });
        const heap = Module.rallocHeap;
        assert.ok(heap instanceof bindings.Heap, 'Module.rallocHeap is the Heap');
        if (linking === 'static') assert.equal(readLinkedNote(new WebAssembly.Module(wasmBinary))?.build, 'release');
        else assert.equal(heap.label, "ralloc-wasm's release build");
        const live = () => new Set(heap.walk().filter((b) => bindings.isLive(b)).map((b) => b.address));

        const p = Module._malloc(64);
        assert.ok(p >= heap.heapBase && live().has(p), `Module._malloc returned a live block of ralloc-wasm's heap (${p})`);
        Module.HEAPU8.set(Array.from({ length: 64 }, (_, i) => i + 1), p);
        assert.equal(Module.ccall('sum_bytes', 'number', ['number', 'number'], [p, 64]), 64 * 65 / 2, 'C reads what JS wrote through HEAPU8');
        Module._free(p);
        assert.ok(!live().has(p), 'Module._free freed it');

        const q = Module.ccall('greet', 'number', ['string'], ['wasm']);
        assert.ok(live().has(q), 'C\'s malloc, called through ccall, allocated from the same heap');
        assert.equal(Module.UTF8ToString(q), 'hello, wasm');
        Module._free(q);

        const before = Module.HEAPU8.length;
        assert.equal(Module.ccall('churn', 'number', ['number', 'number'], [320, 65536]), 320, 'C allocated 20 MiB');
        assert.ok(heap.memory.buffer.byteLength > before, 'ralloc-wasm grew the memory');
        assert.equal(Module.HEAPU8.length, heap.memory.buffer.byteLength, 'the glue\'s HEAPU8 covers the grown memory');
        // JS asks for more than memory holds now: ralloc-wasm grows it again, inside Module._malloc
        const grown = Module.HEAPU8.length;
        const size = grown;
        const big = Module._malloc(size);
        assert.ok(big !== 0 && big + size > grown, 'a block reaching above the memory JS saw');
        assert.equal(Module.HEAPU8.length, heap.memory.buffer.byteLength, 'HEAPU8 covers it on return');
        Module.HEAPU8.fill(3, big + size - 1000, big + size);
        assert.equal(Module.ccall('sum_bytes', 'number', ['number', 'number'], [big + size - 1000, 1000]), 3000, 'JS writes at its end reach C');
        Module._free(big);
        assert.equal(heap.check(), 0);
      });
    }
  });

  describe('a -pthread program: its threads allocate at once from the threads build', () => {
    let pthreads;
    before(async () => {
      // 32 MiB: 4 pthread stacks of 2 MiB (emcc 3.1.6's default) and 4 thread heaps above the program's 5 MiB stack
      pthreads = await emcc('pthreads', {
        inputs: [`${ROOT}tests/emscripten/pthreads.c`],
        flags: ['-O2', '-Wall', '-Werror', '-pthread', '-sPTHREAD_POOL_SIZE=4', '-sEXIT_RUNTIME=1', '-sINITIAL_MEMORY=32MB', ...RALLOC_FLAGS, ...WITH_PRE_JS.flags],
        deps: WITH_PRE_JS.deps,
      });
      // as in a user's project: the glue and its worker script are CommonJS (this package is an ES
      // module one), and the worker finds ralloc-wasm's threads build in node_modules
      const dir = dirname(pthreads.js);
      writeFileSync(join(dir, 'package.json'), '{ "type": "commonjs" }\n');
      mkdirSync(join(dir, 'node_modules'), { recursive: true });
      if (!existsSync(join(dir, 'node_modules', 'ralloc-wasm'))) symlinkSync(ROOT, join(dir, 'node_modules', 'ralloc-wasm'), 'dir');
    });

    test('4 pthreads, 8,000 blocks each freed by another thread: every block intact, the heap sound', () => {
      const report = join(reportDir, 'pthreads.json');
      const r = runGlue(pthreads.js, { args: ['pthreads'], input: '' }, { RALLOC_BUILD: 'threads', RALLOC_REPORT: report });
      assert.equal(r.status, 0, r.stderr.toString());
      assert.equal(r.stdout.toString(), '4 threads: 8000 blocks, each freed by another thread; 0 bad\n');
      const seen = JSON.parse(readFileSync(report, 'utf8'));
      assert.match(seen.label, /threads/, 'the main thread\'s allocator is the threads build');
      assert.equal(seen.check, 0);
      const imports = WebAssembly.Module.imports(new WebAssembly.Module(readFileSync(pthreads.wasm)));
      assert.ok(imports.some((i) => i.kind === 'memory' && i.name === 'memory'), 'the program imports its (shared) memory');
    });
  });

  describe('a misuse on the debug build, through the glue', () => {
    let misuse;
    before(async () => {
      misuse = await emcc('double_free', { inputs: [`${ROOT}tests/emscripten/double_free.c`], flags: ['-O2', ...RALLOC_FLAGS, ...WITH_PRE_JS.flags], deps: WITH_PRE_JS.deps });
    });

    /** Runs the program and checks it stopped at the second free with docs/DEBUGGING.md's message. */
    function expectDoubleFree(js, env) {
      const r = runGlue(js, { args: ['double_free'], input: '' }, env);
      const stderr = r.stderr.toString();
      const block = /^block 0x([0-9a-f]+)$/m.exec(stderr);
      assert.ok(block, `the program printed its block first:\n${stderr}`);
      const message = `ralloc: double free of 0x${block[1].padStart(8, '0')} (24 bytes)`;
      assert.ok(stderr.split('\n').includes(`RallocError: ${message}`), `stderr holds "RallocError: ${message}":\n${stderr.slice(0, 2000)}`);
      assert.ok(!r.stdout.toString().includes('the second free returned'), 'the program stopped at the misuse');
      assert.notEqual(r.status, 0, 'the process fails');
    }

    test('at instantiation (pre-js, RALLOC_BUILD=debug)', () => expectDoubleFree(misuse.js, { RALLOC_BUILD: 'debug' }));

    test('statically linked (linkEmscripten with the debug build, through the pre-js)', async () => {
      const merged = await linkEmscripten(readFileSync(misuse.wasm), { build: 'debug' });
      expectDoubleFree(gluedWith(misuse.js, merged, 'double_free', `double_free-linked-${process.pid}`), {});
    });

    test('the release build lets the program go on (no message)', () => {
      const r = runGlue(misuse.js, { args: ['double_free'], input: '' }, { RALLOC_BUILD: 'release' });
      assert.equal(r.status, 0, r.stderr.toString());
      assert.match(r.stdout.toString(), /the second free returned/);
    });
  });

  test('cleanup', () => {
    for (const p of programs) rmSync(join(EMCC_DIR, `${p.name}-linked-${process.pid}`), { recursive: true, force: true });
    rmSync(join(EMCC_DIR, `double_free-linked-${process.pid}`), { recursive: true, force: true });
    rmSync(reportDir, { recursive: true, force: true });
  });
}

