// ralloc-wasm/assembly inside someone else's AssemblyScript module: built with asc's own
// generated bindings (--bindings esm) it instantiates with no import of ours, next to each of
// AssemblyScript's runtimes (incremental, minimal, stub), both allocating in one memory without
// overlap; the knobs bring the host hooks back; the allocator module's entry refuses to be built
// as a library.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, mkdirSync, writeFileSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT } from './lib/dist.js';

const asc = createRequire(import.meta.url).resolve('assemblyscript/bin/asc.js');

/** Runs asc in dir; resolves to { code, stderr }. */
function compile(dir, args) {
  return new Promise((resolve) => {
    execFile(process.execPath, [asc, ...args], { cwd: dir }, (err, _stdout, stderr) => resolve({ code: err ? err.code ?? 1 : 0, stderr }));
  });
}

// Allocates from ralloc-wasm and from AssemblyScript's runtime in turns (the runtime's arrays
// after ralloc-wasm's first block, where the stub's bump allocator used to run into it), then
// checks every byte of both: 0, else the number of the first thing found broken.
const MIX = `import { malloc, free, sbrk, check, ralloc_check, ralloc_init } from "ralloc-wasm/assembly";
// Fills n bytes at p with a pattern made from seed.
function fill(p: usize, n: usize, seed: u32): void {
  for (let i: usize = 0; i < n; i++) store<u8>(p + i, <u8>((i * 7 + seed) & 0xff));
}
// Whether n bytes at p still hold the pattern made from seed.
function intact(p: usize, n: usize, seed: u32): bool {
  for (let i: usize = 0; i < n; i++) if (load<u8>(p + i) != <u8>((i * 7 + seed) & 0xff)) return false;
  return true;
}
// Allocates from both sides in turns, checks every byte: 0, else what was found broken. With
// low, it first asks for a heap base inside the runtime's memory, and takes an sbrk region.
export function run(low: bool): u32 {
  let early = new Array<u32>(1000);
  for (let i = 0; i < 1000; i++) early[i] = i * 11;
  let brk: usize = 0;
  if (low) {
    if (ralloc_init(64) != 0) return 10;
    brk = sbrk(4096);
    fill(brk, 4096, 3);
  }
  let p = malloc(100000);
  fill(p, 100000, 1);
  let a = new Array<u8>(70000);
  for (let i = 0; i < 70000; i++) a[i] = <u8>(i * 3);
  let q = malloc(200000);
  fill(q, 200000, 2);
  let s = "";
  for (let i = 0; i < 200; i++) s += i.toString();
  let small: usize[] = [];
  for (let i = 0; i < 1000; i++) { let x = malloc(24 + i % 300); fill(x, 24 + i % 300, i); small.push(x); }
  let c = new Array<u32>(300000);
  for (let i = 0; i < 300000; i++) c[i] = i;
  if (!intact(p, 100000, 1)) return 1;
  if (!intact(q, 200000, 2)) return 2;
  for (let i = 0; i < 70000; i++) if (a[i] != <u8>(i * 3)) return 3;
  for (let i = 0; i < 300000; i++) if (c[i] != <u32>i) return 4;
  for (let i = 0; i < 1000; i++) if (!intact(small[i], 24 + i % 300, i)) return 5;
  if (s.length != 490) return 6;
  for (let i = 0; i < 1000; i++) if (early[i] != <u32>(i * 11)) return 8;
  if (low && !intact(brk, 4096, 3)) return 9;
  if (check() != ralloc_check()) return 7;
  free(p);
  free(q);
  for (let i = 0; i < 1000; i++) free(small[i]);
  return check();
}
// Frees one block twice.
export function twice(): void {
  let p = malloc(24);
  free(p);
  free(p);
}
`;

let dir;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'ralloc-aslib-'));
  mkdirSync(join(dir, 'node_modules'));
  symlinkSync(ROOT, join(dir, 'node_modules', 'ralloc-wasm'), 'dir'); // as npm install would place the package
  writeFileSync(join(dir, 'package.json'), '{ "type": "module" }');
  writeFileSync(join(dir, 'mix.ts'), MIX);
  writeFileSync(join(dir, 'asconfig.json'), '{}');
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** The module's imports, as module.name strings. */
const importsOf = (file) => WebAssembly.Module.imports(new WebAssembly.Module(readFileSync(file))).map((i) => `${i.module}.${i.name}`);

describe('a module importing ralloc-wasm/assembly, with AssemblyScript\'s generated bindings', () => {
  for (const runtime of ['incremental', 'minimal', 'stub']) {
    test(`--runtime ${runtime}: instantiates with no import of ours; arrays, strings and malloc share memory, every byte intact, check() 0`, async () => {
      const r = await compile(dir, ['mix.ts', '--config', 'asconfig.json', '--bindings', 'esm', '--runtime', runtime, '-O2', '-o', `${runtime}.wasm`]);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(importsOf(join(dir, `${runtime}.wasm`)), ['env.abort'], 'only what AssemblyScript itself imports: no ralloc_hooks');
      const m = await import(pathToFileURL(join(dir, `${runtime}.js`)).href);
      assert.equal(m.run(false), 0);
    });
    test(`--runtime ${runtime}: ralloc_init with a base inside the runtime's memory, then sbrk, place nothing over it`, async () => {
      // another instance of the module built above (a module record of its own: another URL)
      const m = await import(`${pathToFileURL(join(dir, `${runtime}.js`)).href}?low`);
      assert.equal(m.run(true), 0);
    });
  }
});

describe('knobs of the library', () => {
  test('RALLOC_DEBUG=1 without the hooks: a misuse aborts through AssemblyScript\'s abort, saying how to get the exact message', async () => {
    const r = await compile(dir, ['mix.ts', '--config', 'asconfig.json', '--bindings', 'esm', '--runtime', 'stub', '--use', 'RALLOC_DEBUG=1', '-o', 'guarded.wasm']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(importsOf(join(dir, 'guarded.wasm')), ['env.abort']);
    const m = await import(pathToFileURL(join(dir, 'guarded.js')).href);
    assert.equal(m.run(false), 0);
    assert.throws(() => m.twice(), /ralloc-wasm: heap misuse; compile with --use RALLOC_HOOKS=1 and give ralloc_hooks\.report for its exact message/);
  });

  test('RALLOC_HOOKS=1 imports the host hooks again: the report hook hears of the double free', async () => {
    const r = await compile(dir, ['mix.ts', '--config', 'asconfig.json', '--runtime', 'minimal', '--use', 'RALLOC_DEBUG=1', '--use', 'RALLOC_HOOKS=1', '-o', 'hooked.wasm']);
    assert.equal(r.code, 0, r.stderr);
    const imports = importsOf(join(dir, 'hooked.wasm'));
    assert.deepEqual(imports.filter((i) => i.startsWith('ralloc_hooks.')).sort(), ['ralloc_hooks.oom', 'ralloc_hooks.report'], 'the hooks this build calls (no events: RALLOC_LOG is 0)');
    const reports = [];
    const { exports } = new WebAssembly.Instance(new WebAssembly.Module(readFileSync(join(dir, 'hooked.wasm'))), {
      env: { abort: () => { throw new Error('abort'); } },
      ralloc_hooks: { oom: () => 0, event: () => {}, report: (...args) => { reports.push(args.map((x) => x >>> 0)); throw new Error('reported'); } },
    });
    assert.equal(exports.run(false), 0);
    assert.throws(() => exports.twice(), /reported/);
    assert.equal(reports.length, 1);
    assert.equal(reports[0][0], 1, 'report code 1: a double free');
  });

  test('the allocator module\'s entry refuses to build without RALLOC_MODULE=1', async () => {
    const r = await compile(ROOT, ['assembly/entry/module.ts', '--config', join(dir, 'asconfig.json'), '--runtime', 'stub', '--importMemory', '-o', join(dir, 'module.wasm')]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /assembly\/entry\/module\.ts builds an allocator module: compile it with --use RALLOC_MODULE=1 \(asconfig\.json's targets do\)/);
  });
});
