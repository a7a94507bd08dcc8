// linkStatic: one module from a C program and the allocator (wasm-merge + wasm-opt), with one shared
// memory, the heap at the program's __heap_base, no allocator imports left; and its bad-input errors.
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';

import { spawnSync } from 'node:child_process';
import { mkdtempSync, openSync, closeSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WASI } from 'node:wasi';
import { ROOT, bindings, wasmBinary, wat, rejectsWith } from './lib/dist.js';

const { linkStatic, compileC, instantiateProgram, readBuild, RallocError, BUILD_NAMES, LINKED_SECTION } = bindings;
const { readModuleInfo: readInfo } = wasmBinary;

/**
 * Runs a linked WASI module the plain way (no bindings), with node:wasi: over the memory it
 * defines, or (importMemory) over an env.memory made here of the size it asks for.
 */
function runLinked(wasm, { args = ['prog'], input = '' } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'ralloc-link-test-'));
  try {
    writeFileSync(join(dir, 'in'), input);
    const fds = [openSync(join(dir, 'in'), 'r'), openSync(join(dir, 'out'), 'w'), openSync(join(dir, 'err'), 'w')];
    const mod = new WebAssembly.Module(wasm);
    const memImport = WebAssembly.Module.imports(mod).filter((i) => i.kind === 'memory');
    const info = readInfo(wasm);
    assert.equal(memImport.length + info.definedMemories.length, 1, 'exactly one memory');
    const given = memImport.length === 1 ? new WebAssembly.Memory({ initial: info.imports.find((i) => i.kind === 'memory').limits.min }) : undefined;
    if (given) assert.deepEqual(memImport.map((i) => `${i.module}.${i.name}`), ['env.memory'], 'the program\'s env.memory');
    const wasi = new WASI({ version: 'preview1', args, env: {}, stdin: fds[0], stdout: fds[1], stderr: fds[2], returnOnExit: true });
    const instance = new WebAssembly.Instance(mod, { ...(given ? { env: { memory: given } } : {}), wasi_snapshot_preview1: wasi.wasiImport });
    const memory = given ?? instance.exports.memory;
    const exitCode = wasi.start(instance);
    for (const fd of fds) closeSync(fd);
    return { exitCode, stdout: readFileSync(join(dir, 'out'), 'utf8'), stderr: readFileSync(join(dir, 'err'), 'utf8'), instance, memory };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Reads the stats struct of a linked module through its exported ralloc_stats. */
function linkedStats(instance, memory) {
  const at = 16; // below __heap_base in every C program
  const saved = new Uint8Array(memory.buffer, at, 64).slice();
  instance.exports.ralloc_stats(at);
  const dv = new DataView(memory.buffer, at, 64);
  const s = { mallocCalls: Number(dv.getBigUint64(24, true)), freeCalls: Number(dv.getBigUint64(32, true)), liveBlocks: dv.getUint32(48, true), heapBase: dv.getUint32(56, true) };
  new Uint8Array(memory.buffer, at, 64).set(saved);
  return s;
}

const PROGRAM = `#include <stdio.h>
#include <stdlib.h>
#include <string.h>
/* Builds a linked list of n strings, joins them, frees everything. */
struct item { char *text; struct item *next; };
int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 10;
  struct item *head = NULL;
  for (int i = 0; i < n; i++) {
    struct item *it = malloc(sizeof *it);
    char buf[32];
    snprintf(buf, sizeof buf, "item-%d", i);
    it->text = strdup(buf);
    it->next = head;
    head = it;
  }
  size_t len = 1;
  for (struct item *it = head; it; it = it->next) len += strlen(it->text) + 1;
  char *all = calloc(len, 1);
  for (struct item *it = head; it; it = it->next) { strcat(all, it->text); strcat(all, ","); }
  printf("%zu %s\\n", strlen(all), all + strlen(all) - 8);
  while (head) { struct item *next = head->next; free(head->text); free(head); head = next; }
  free(all);
  return n % 7;
}`;
// strlen(all): items 0-9 are 6 chars, 10-99 are 7 chars, 100-999 are 8; plus a comma each.
const expected = (n) => {
  let len = 0;
  for (let i = 0; i < n; i++) len += `item-${i}`.length + 1;
  return `${len} ${'item-1,item-0,'.slice(-8)}\n`;
};

let importProgram; // ralloc_import.c: malloc from module "ralloc"
let envProgram;    // -nostdlib: malloc from module "env", no libc
let dlmallocProgram; // wasi-libc's dlmalloc, memory imported

before(async () => {
  importProgram = (await compileC({ sources: { 'list.c': PROGRAM } })).wasm;
  envProgram = (await compileC({
    sources: { 'sum.c': `typedef __SIZE_TYPE__ size_t; void *malloc(size_t); void free(void *);
int sum(int n) { int *volatile a = malloc(n * sizeof(int)); int s = 0; for (int i = 0; i < n; i++) a[i] = i; for (int i = 0; i < n; i++) s += a[i]; free(a); return s; }` },
    mode: 'env', exports: ['sum'],
  })).wasm;
  dlmallocProgram = (await compileC({ sources: { 'list.c': PROGRAM }, mode: 'dlmalloc', flags: ['-Wl,--import-memory'] })).wasm;
});

describe('linkStatic', () => {
  for (const build of BUILD_NAMES) {
    test(`${build}: a wasi-libc program with ralloc_import.c links into one module and runs`, async () => {
      const linked = await linkStatic(importProgram, { build });
      const info = readInfo(linked);
      const modules = [...new Set(info.imports.map((i) => i.module))].sort();
      assert.deepEqual(modules, ['wasi_snapshot_preview1'], 'no allocator imports are left, and no memory import');
      const programMemory = readInfo(importProgram).imports.find((i) => i.kind === 'memory').limits;
      assert.deepEqual(info.definedMemories.map((m) => [m.min, m.max]), [[programMemory.min, programMemory.max]], 'its own memory, sized as the program\'s');
      assert.ok(info.exports.some((e) => e.name === 'memory' && e.kind === 'memory'), 'the result exports its memory');
      assert.ok(info.customSections.includes(LINKED_SECTION));
      const allocatorExports = new Set(readInfo(readBuild(build)).exports.map((e) => e.name));
      const programExports = new Set(readInfo(importProgram).exports.map((e) => e.name));
      assert.deepEqual(info.exports.map((e) => e.name).filter((n) => !allocatorExports.has(n) && !programExports.has(n)), ['memory'],
        'the result exports what the program and the allocator export, and its memory: nothing of the merge machinery');
      const r = runLinked(linked, { args: ['list', '150'] });
      assert.equal(r.stdout, expected(150));
      assert.equal(r.exitCode, 150 % 7);
      const s = linkedStats(r.instance, r.memory);
      const heapBase = r.instance.exports.__heap_base.value;
      assert.equal(s.heapBase, heapBase, 'the heap starts at the program\'s __heap_base');
      assert.ok(s.mallocCalls >= 301, `every malloc went to ralloc-wasm (${s.mallocCalls})`);
      assert.equal(r.instance.exports.ralloc_check(), 0);
    });
  }

  test('a -nostdlib program importing malloc from env links; the start function sets the heap base', async () => {
    const linked = await linkStatic(envProgram);
    const info = readInfo(linked);
    assert.deepEqual(info.imports.map((i) => `${i.module}.${i.name}`), [], 'it imports nothing: not even its memory');
    assert.notEqual(info.start, undefined, 'a start function calls ralloc_init(__heap_base)');
    const { exports } = new WebAssembly.Instance(new WebAssembly.Module(linked), {});
    const memory = exports.memory;
    assert.equal(exports.sum(1000), 499500);
    const s = linkedStats({ exports }, memory);
    assert.equal(s.heapBase, exports.__heap_base.value);
    assert.equal(s.mallocCalls, 1);
    assert.equal(s.freeCalls, 1);
  });

  test('options: optimize 0 and "z", exportAllocator: false, debugInfo', async () => {
    const plain = await linkStatic(envProgram, { optimize: 0, debugInfo: true });
    const small = await linkStatic(envProgram, { optimize: 'z', exportAllocator: false });
    const pi = readInfo(plain);
    const si = readInfo(small);
    assert.ok(pi.exports.some((e) => e.name === 'malloc'));
    assert.ok([...pi.functionNames.values()].includes('sum'), 'debugInfo keeps the name section');
    assert.deepEqual(si.exports.map((e) => e.name).sort(), ['__heap_base', 'memory', 'sum']);
    assert.equal(si.functionNames.size, 0);
    assert.ok(small.length < plain.length, `-Oz (${small.length} B) is smaller than -O0 (${plain.length} B)`);
    for (const wasm of [plain, small]) {
      const { exports } = new WebAssembly.Instance(new WebAssembly.Module(wasm), {});
      assert.equal(exports.sum(10), 45);
    }
  });

  test('importMemory: true keeps the program\'s env.memory import, for a host that shares its memory', async () => {
    const linked = await linkStatic(envProgram, { importMemory: true });
    const info = readInfo(linked);
    assert.deepEqual(info.imports.map((i) => `${i.module}.${i.name}`), ['env.memory']);
    assert.equal(info.definedMemories.length, 0);
    const memory = new WebAssembly.Memory({ initial: info.imports[0].limits.min });
    const { exports } = new WebAssembly.Instance(new WebAssembly.Module(linked), { env: { memory } });
    assert.equal(exports.memory, memory, 'it exports the memory it was given');
    assert.equal(exports.sum(100000), 704982704);
    assert.ok(memory.buffer.byteLength > info.imports[0].limits.min * 65536, 'the heap grew the host\'s memory');
    await rejectsWith(() => linkStatic(envProgram, { importMemory: 'yes' }), 'E_BAD_OPTION', /option importMemory must be true or false, got "yes"/);
  });

  test('a linked WASI program runs in a bare node:wasi host: another process that loads no ralloc-wasm code', async () => {
    const linked = await linkStatic(importProgram, { build: 'release' });
    const dir = mkdtempSync(join(tmpdir(), 'ralloc-link-test-'));
    try {
      writeFileSync(join(dir, 'list.wasm'), linked);
      // The host: node:wasi's own import object, nothing else (what any WASI runtime gives).
      const host = `import { readFileSync } from 'node:fs';
        import { WASI } from 'node:wasi';
        const wasi = new WASI({ version: 'preview1', args: process.argv.slice(1), returnOnExit: true });
        const { instance } = await WebAssembly.instantiate(readFileSync('list.wasm'), wasi.getImportObject());
        process.exitCode = wasi.start(instance);`;
      const r = spawnSync(process.execPath, ['--no-warnings', '--input-type=module', '-e', host, 'list', '40'], { cwd: dir, encoding: 'utf8' });
      assert.equal(r.stderr, '');
      assert.equal(r.stdout, expected(40));
      assert.equal(r.status, 40 % 7);
      const imported = await linkStatic(importProgram, { build: 'release', importMemory: true });
      writeFileSync(join(dir, 'list.wasm'), imported);
      const refused = spawnSync(process.execPath, ['--no-warnings', '--input-type=module', '-e', host, 'list'], { cwd: dir, encoding: 'utf8' });
      assert.notEqual(refused.status, 0, 'the importMemory variant needs a host that gives it env.memory');
      assert.match(refused.stderr, /module="env"/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a linked module runs through instantiateProgram, its own exports serving as the heap', async () => {
    const linked = await linkStatic(importProgram, { build: 'debug' });
    const dir = mkdtempSync(join(tmpdir(), 'ralloc-link-test-'));
    const out = openSync(join(dir, 'out'), 'w');
    try {
      const p = await instantiateProgram(linked, { args: ['list', '20'], stdout: out });
      assert.equal(p.run(), 20 % 7);
      closeSync(out);
      assert.equal(readFileSync(join(dir, 'out'), 'utf8'), expected(20));
      assert.equal(p.heap.exports.malloc, p.instance.exports.malloc);
      assert.equal(p.heap.stats().heapBase, p.instance.exports.__heap_base.value);
      assert.equal(p.heap.check(), 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    await rejectsWith(() => instantiateProgram(linked, { build: 'small' }), 'E_BAD_OPTION', /already contains its allocator/);
    await rejectsWith(() => instantiateProgram(linked, { memory: new WebAssembly.Memory({ initial: 1 }) }), 'E_BAD_OPTION',
      /was made by linkStatic with a memory of its own; options memory, initialPages and maximumPages do not apply \(link it with importMemory: true to give it a memory\)/);
    const shared = await linkStatic(importProgram, { build: 'debug', importMemory: true });
    const memory = new WebAssembly.Memory({ initial: readInfo(shared).imports.find((i) => i.kind === 'memory').limits.min });
    const q = await instantiateProgram(shared, { memory, args: ['list', '3'], stdout: openSync('/dev/null', 'w') });
    assert.equal(q.run(), 3);
    assert.equal(q.heap.memory, memory, 'a module linked with importMemory runs over the memory given to it');
  });

  test('a custom allocator links the same way (no ralloc_init: a stub stands in; hooks get no-ops)', async () => {
    const bump = wat(`(module
      (import "env" "memory" (memory 0))
      (import "ralloc_hooks" "on_grow" (func $on_grow (param i32)))
      (global $top (mut i32) (i32.const 0))
      (func (export "malloc") (param $n i32) (result i32)
        (local $p i32)
        (if (i32.eqz (global.get $top)) (then (global.set $top (i32.mul (memory.size) (i32.const 65536)))))
        (local.set $p (global.get $top))
        (global.set $top (i32.and (i32.add (i32.add (local.get $p) (local.get $n)) (i32.const 31)) (i32.const -16)))
        (if (i32.gt_u (global.get $top) (i32.mul (memory.size) (i32.const 65536)))
          (then (call $on_grow (i32.const 1))
                (drop (memory.grow (i32.add (i32.shr_u (i32.sub (global.get $top) (i32.mul (memory.size) (i32.const 65536))) (i32.const 16)) (i32.const 1))))))
        (local.get $p))
      (func (export "free") (param i32))
      (func (export "calloc") (param i32 i32) (result i32) (i32.const 0))
      (func (export "realloc") (param i32 i32) (result i32) (i32.const 0))
      (func (export "aligned_alloc") (param i32 i32) (result i32) (i32.const 0))
      (func (export "posix_memalign") (param i32 i32 i32) (result i32) (i32.const 48))
      (func (export "memalign") (param i32 i32) (result i32) (i32.const 0))
      (func (export "malloc_usable_size") (param i32) (result i32) (i32.const 0))
      (func (export "sbrk") (param i32) (result i32) (i32.const -1)))`);
    const linked = await linkStatic(envProgram, { allocator: bump, importMemory: true });
    const memory = new WebAssembly.Memory({ initial: 1 });
    const { exports } = new WebAssembly.Instance(new WebAssembly.Module(linked), { env: { memory } });
    assert.equal(exports.sum(100000), 704982704, 'sum of 0..99999 mod 2^32 as i32');
    assert.ok(memory.buffer.byteLength > 65536, 'the bump allocator grew the shared memory');
    const linked2 = await linkStatic(importProgram, { allocator: bump });
    assert.ok(!readInfo(linked2).imports.some((i) => i.module !== 'env' && i.module !== 'wasi_snapshot_preview1'));
  });

  test('an allocator needing more initial memory than the program: the merged module asks for it; maximums that cannot agree are refused', async () => {
    // a bump allocator over its last of 40 pages (as AssemblyScript's TLSF module
    // asks for the pages its data and shadow stack need)
    const bumpAbove = (limits) => wat(`(module
      (import "env" "memory" (memory ${limits}))
      (global $top (mut i32) (i32.const 2555904))
      (func (export "malloc") (param $n i32) (result i32)
        (local $p i32)
        (local.set $p (global.get $top))
        (global.set $top (i32.and (i32.add (i32.add (local.get $p) (local.get $n)) (i32.const 31)) (i32.const -16)))
        (local.get $p))
      (func (export "free") (param i32)))`);
    const programMin = readInfo(envProgram).imports.find((i) => i.kind === 'memory').limits.min;
    assert.ok(programMin < 40, `the program asks for ${programMin} pages`);
    const own = await linkStatic(envProgram, { allocator: bumpAbove('40') });
    assert.equal(readInfo(own).definedMemories[0].min, 40, 'the merged module\'s memory has the allocator\'s 40 pages');
    assert.equal(new WebAssembly.Instance(new WebAssembly.Module(own), {}).exports.sum(1000), 499500);
    const linked = await linkStatic(envProgram, { allocator: bumpAbove('40'), importMemory: true });
    const limits = readInfo(linked).imports.find((i) => i.kind === 'memory').limits;
    assert.equal(limits.min, 40, 'the merged module asks for the allocator\'s 40 pages');
    const memory = new WebAssembly.Memory({ initial: limits.min });
    const { exports } = new WebAssembly.Instance(new WebAssembly.Module(linked), { env: { memory } });
    assert.equal(exports.sum(1000), 499500, 'and runs, its blocks above page 40');
    await rejectsWith(() => linkStatic(envProgram, { allocator: bumpAbove('40 64') }), 'E_BAD_OPTION',
      /the custom allocator accepts a memory of at most 64 pages, but the program's memory may grow to 4 GiB \(it declares no maximum\)/);
    // the same allocator importing a shared memory: its limits' flags byte says so (1 max | 2 shared)
    const shared = new Uint8Array(bumpAbove('40 65536'));
    const at = Buffer.from(shared).indexOf(Buffer.from([6, ...Buffer.from('memory'), 2, 1]));
    assert.ok(at > 0, 'found the memory import');
    shared[at + 8] = 3;
    await rejectsWith(() => linkStatic(envProgram, { allocator: shared }), 'E_BAD_OPTION',
      /the custom allocator imports a shared memory, but the program's is not shared/);
  });

  test('bad input: each case says what is wrong and what to do', async () => {
    await rejectsWith(() => linkStatic(new TextEncoder().encode('#!/bin/sh\n')), 'E_NOT_WASM', /linkStatic: the program is not a WebAssembly module/);
    await rejectsWith(() => linkStatic(new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 2, 50, 1])), 'E_WASM_MALFORMED', /section 2 runs past the end of the file/);
    await rejectsWith(() => linkStatic(wat('(module (import "env" "malloc" (func (param i32) (result i32))) (memory 1))')),
      'E_MEMORY_NOT_IMPORTED', /defines its own memory; recompile it with -Wl,--import-memory/);
    await rejectsWith(() => linkStatic(dlmallocProgram), 'E_HAS_MALLOC', /already contains a malloc \(it defines dlmalloc, wasi-libc's allocator\)/, /compile bindings\/c\/ralloc_import\.c into it/);
    await rejectsWith(() => linkStatic(wat('(module (import "env" "memory" (memory 1)) (import "ralloc" "ralloc_set_oom_handler" (func (param i32) (result i32))))')),
      'E_MISSING_IMPORT', /imports ralloc\.ralloc_set_oom_handler, which ralloc-wasm's release build does not export/);
    await rejectsWith(() => linkStatic(wat('(module (import "env" "memory" (memory 1)) (import "env" "free" (func (param i32) (result i32))))')),
      'E_SIGNATURE', /imports env\.free as \(func \(param i32\) \(result i32\)\), but ralloc-wasm's release build exports it as \(func \(param i32\)\)/);
    await rejectsWith(() => linkStatic(envProgram, { optimize: 5 }), 'E_BAD_OPTION', /option optimize must be 0, 1, 2, 3, 4, "s" or "z", got 5/);
    await rejectsWith(() => linkStatic(envProgram, { build: 'huge' }), 'E_BAD_OPTION', /unknown build "huge"/);
    const withData = wat('(module (import "env" "memory" (memory 0)) (data (i32.const 65536) "oops") (func (export "malloc") (param i32) (result i32) (i32.const 0)) (func (export "free") (param i32)))');
    await rejectsWith(() => linkStatic(importProgram, { allocator: withData }), 'E_BAD_OPTION', /writes data at \[65536, 65540\), over the program's data at \[65536, /);
  });
});
