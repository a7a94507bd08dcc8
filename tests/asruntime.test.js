// ralloc-wasm as AssemblyScript's memory manager (assembly/runtime/): programs with managed
// objects (tests/asruntime/objects.ts: strings, arrays, Map and Set churn, people who reference
// each other in cycles, heap.alloc/realloc/free) built with `--runtime …/runtime/incremental` and
// `…/minimal` give the checksums AssemblyScript's own runtimes give, round after round of
// collections, with the heap sound after each and its bytes back to where they were once
// everything is dropped. The collector is AssemblyScript's, from the installed compiler; TLSF is
// gone. The debug knobs name a heap.free of a managed object and a write past an object exactly;
// out of memory collects first, then stops with a message; the library's malloc refuses to
// compile in this mode; examples/as/library.ts prints the same lines both ways. Each module is
// compiled once, up front, in parallel.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, mkdirSync, writeFileSync, readFileSync, copyFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, bindings } from './lib/dist.js';

const asc = createRequire(import.meta.url).resolve('assemblyscript/bin/asc.js');
const RUNTIME = './node_modules/ralloc-wasm/assembly/runtime/';

/** Runs asc in dir; resolves to { code, stderr }. */
function compile(dir, args) {
  return new Promise((resolve) => {
    execFile(process.execPath, [asc, ...args], { cwd: dir }, (err, _stdout, stderr) => resolve({ code: err ? err.code ?? 1 : 0, stderr }));
  });
}

// Keeps memory until it runs out, or churns through arrays of which one is live at a time.
const OOM = `let hoarded: Array<Array<i32>> = [];
export function hoard(n: i32): i32 {
  for (let i = 0; i < n; i++) hoarded.push(new Array<i32>(4096));
  return hoarded.length;
}
export function churn(n: i32, len: i32): i32 {
  let h = 0;
  for (let i = 0; i < n; i++) { let a = new Array<i32>(len); a[i % len] = i; h += a.length; }
  return h;
}
`;

// Allocates with the library's malloc, which the runtime's heap cannot share.
const REFUSED = `import { malloc } from "ralloc-wasm/assembly";
export function f(): usize { return malloc(24); }
`;

/** Each build: [file, asc options]. */
const BUILDS = {
  'inc-stock': ['objects.ts', '--runtime', 'incremental', '-O3'],
  'inc-ralloc': ['objects.ts', '--runtime', `${RUNTIME}incremental`, '-O3', '--textFile', 'inc-ralloc.wat'],
  'min-stock': ['objects.ts', '--runtime', 'minimal', '-O3'],
  'min-ralloc': ['objects.ts', '--runtime', `${RUNTIME}minimal`, '-O3', '--textFile', 'min-ralloc.wat'],
  'inc-config': ['objects.ts', '--config', 'runtime.asconfig.json', '-O3'], // docs/ASRUNTIME.md's asconfig line
  'inc-debug': ['objects.ts', '--runtime', `${RUNTIME}incremental`, '--debug', '--use', 'RALLOC_DEBUG=1', '--use', 'RALLOC_HOOKS=1'],
  'oom-stock': ['oom.ts', '--runtime', 'incremental', '-O3', '--maximumMemory', '32'],
  'oom-ralloc': ['oom.ts', '--runtime', `${RUNTIME}incremental`, '-O3', '--maximumMemory', '32'],
  'oom-minimal': ['oom.ts', '--runtime', `${RUNTIME}minimal`, '-O3', '--maximumMemory', '32'],
};

let dir;
const built = {};
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ralloc-asrt-'));
  mkdirSync(join(dir, 'node_modules'));
  symlinkSync(ROOT, join(dir, 'node_modules', 'ralloc-wasm'), 'dir'); // as npm install places the package
  writeFileSync(join(dir, 'asconfig.json'), '{}');
  copyFileSync(join(ROOT, 'tests', 'asruntime', 'objects.ts'), join(dir, 'objects.ts'));
  writeFileSync(join(dir, 'oom.ts'), OOM);
  writeFileSync(join(dir, 'refused.ts'), REFUSED);
  const line = /^<!-- not run: an asconfig\.json line.*\n```\n(.+)\n```$/m.exec(readFileSync(join(ROOT, 'docs', 'ASRUNTIME.md'), 'utf8'));
  writeFileSync(join(dir, 'runtime.asconfig.json'), line ? line[1] : '{}');
  await Promise.all(Object.entries(BUILDS).map(async ([name, [file, ...options]]) => {
    const config = options.includes('--config') ? [] : ['--config', 'asconfig.json'];
    const r = await compile(dir, [file, ...config, '--exportRuntime', ...options, '-o', `${name}.wasm`]);
    built[name] = r.code === 0 ? new WebAssembly.Module(readFileSync(join(dir, `${name}.wasm`))) : r.stderr;
    if (r.code === 0) built[`${name}.bytes`] = readFileSync(join(dir, `${name}.wasm`));
  }));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** The compiled module `name` (failing the test with asc's message when it did not build). */
function moduleOf(name) {
  assert.ok(built[name] instanceof WebAssembly.Module, `${name} did not build: ${built[name]}`);
  return built[name];
}

/** A fresh instance of build `name`: abort throws its message; the report hook (debug) throws
 *  the bindings' exact misuse message. */
function instance(name) {
  let memory;
  const text = (p) => Buffer.from(memory.buffer, p, new Uint32Array(memory.buffer)[(p - 4) >>> 2]).toString('utf16le');
  const { exports } = new WebAssembly.Instance(moduleOf(name), {
    env: { abort: (msg) => { throw new Error(msg ? text(msg) : 'abort'); } },
    ralloc_hooks: { oom: () => 0, report: (...args) => { throw new Error(bindings.reportMessage(...args.map((x) => x >>> 0))); } },
  });
  memory = exports.memory;
  return exports;
}

const hex8 = (x) => `0x${(x >>> 0).toString(16).padStart(8, '0')}`;
const WORKLOADS = [['strings', 3000], ['arrays', 200], ['maps', 2000], ['people', 300], ['raw', 100]];
const ROUNDS = 8; // (growing by a quarter of the heap, memory reaches its size in round 4 here)

/**
 * Runs every workload once, then ROUNDS times more on build `name`, collecting after each and
 * dropping what they kept after each round. Returns the checksums, and, where the global heap is
 * the runtime's (`ralloc`), checks it after each collection, that a collection after a workload
 * frees blocks, that dropping everything brings the heap's live blocks and bytes back to where
 * they were after the first run, and that memory stopped growing (the last 3 rounds took none).
 */
function rounds(name, ralloc) {
  const e = instance(name);
  // The baseline: what the program holds with nothing kept, once every size it uses has been
  // asked for (a class's first requests are general blocks, larger than its page objects; the
  // globals' first values are static data, what drop() makes is on the heap).
  const sums = WORKLOADS.map(([w, n]) => `${w}:${e[w](n)}`);
  e.drop();
  e.__collect();
  const base = [e.liveBlocks(), e.bytesInUse()];
  const memory = [];
  for (let round = 0; round < ROUNDS; round++) {
    for (const [w, n] of WORKLOADS) {
      sums.push(`${w}:${e[w](n)}`);
      if (!ralloc) { e.__collect(); continue; }
      const live = e.liveBlocks();
      e.__collect();
      assert.equal(e.heapCheck(), 0, `ralloc_check after ${w}, round ${round}`);
      if (w !== 'raw') assert.ok(e.liveBlocks() < live, `the collection after ${w} freed blocks through ralloc-wasm (${live} -> ${e.liveBlocks()})`);
    }
    e.drop();
    e.__collect();
    if (ralloc) {
      assert.equal(e.heapCheck(), 0);
      assert.deepEqual([e.liveBlocks(), e.bytesInUse()], base, `round ${round}: live blocks and bytes in use back to the baseline`);
    }
    memory.push(e.memory.buffer.byteLength);
  }
  if (ralloc) assert.equal(memory[ROUNDS - 1], memory[ROUNDS - 4], `memory stopped growing: what is freed is reused (${memory})`);
  return sums;
}

describe('ralloc-wasm as the memory manager of AssemblyScript\'s runtime', () => {
  test('the runtime files bring the compiler\'s own collectors and no TLSF; the modules import nothing of ralloc-wasm\'s', () => {
    const inc = readFileSync(join(dir, 'inc-ralloc.wat'), 'utf8');
    const min = readFileSync(join(dir, 'min-ralloc.wat'), 'utf8');
    assert.match(inc, /\$~lib\/rt\/itcms\/__new/);
    assert.match(min, /\$~lib\/rt\/tcms\/__new/);
    for (const wat of [inc, min]) {
      assert.doesNotMatch(wat, /tlsf/);
      assert.match(wat, /\$~lib\/ralloc-wasm\/assembly\/small\/page\//, 'the manager runs on ralloc-wasm\'s pages');
      assert.doesNotMatch(wat, /\$node_modules\//, 'one copy of the allocator: the program\'s ralloc-wasm/assembly is the runtime\'s');
    }
    for (const name of ['inc-ralloc', 'min-ralloc']) {
      assert.deepEqual(WebAssembly.Module.imports(moduleOf(name)).map((i) => `${i.module}.${i.name}`), ['env.abort']);
    }
  });

  test('docs/ASRUNTIME.md\'s asconfig.json line builds the same module as the flag', () => {
    moduleOf('inc-config');
    assert.ok(built['inc-config.bytes'].equals(built['inc-ralloc.bytes']));
  });

  test('incremental: the same checksums as AssemblyScript\'s TLSF; the heap sound after every collection and back to its baseline', () => {
    assert.deepEqual(rounds('inc-ralloc', true), rounds('inc-stock', false));
  });

  test('minimal: the same checksums as AssemblyScript\'s minimal runtime, with the host collecting', () => {
    assert.deepEqual(rounds('min-ralloc', true), rounds('min-stock', false));
  });

  test('debug knobs: the same checksums, every collection checked by the guarded heap', () => {
    assert.deepEqual(rounds('inc-debug', true), rounds('inc-stock', false));
  });

  test('the incremental collector runs on its own: churning 80 MB of strings keeps memory within 1 MiB of TLSF\'s', () => {
    const sizes = {};
    for (const name of ['inc-stock', 'inc-ralloc']) {
      const e = instance(name);
      for (let i = 0; i < 10; i++) { e.strings(40000); e.drop(); }
      sizes[name] = e.memory.buffer.byteLength;
    }
    assert.ok(sizes['inc-ralloc'] <= sizes['inc-stock'] + (1 << 20), JSON.stringify(sizes));
  });

  test('heap.free of a managed object: the debug knobs name it exactly; release ignores it and the object stays intact', () => {
    const d = instance('inc-debug');
    const at = d.victimAddress(20);
    // the string's runtime pointer is 16 below its address, and the ralloc-wasm block 16 below
    // that; it asked for 16 + 280 bytes of object and 16 more for the manager
    assert.throws(() => d.freeManaged(), { message: `ralloc: invalid free of ${hex8(at - 16)} (inside the 312-byte block at ${hex8(at - 32)})` });

    const r = instance('inc-ralloc');
    for (const times of [20, 200]) { // an object of a page; a general block (2.8 KB)
      r.victimAddress(times);
      r.dropVictim();
      r.__collect(); // the size asked for once before, so the baseline has its pages
      const base = [r.liveBlocks(), r.bytesInUse()];
      r.victimAddress(times);
      assert.equal(r.freeManaged(), times * 7);
      r.__collect();
      assert.equal(r.victimLength(), times * 7, 'still the string it was');
      assert.equal(r.heapCheck(), 0);
      r.dropVictim();
      r.__collect();
      assert.deepEqual([r.liveBlocks(), r.bytesInUse()], base, 'the collector freed it once, at the end');
    }
  });

  test('a write past the end of an object: the debug knobs find it when the collector frees the object', () => {
    const d = instance('inc-debug');
    const buffer = d.overrun();
    // the array's buffer: 16 bytes of object header and 32 of data, 16 more for the manager
    assert.throws(() => d.__collect(), { message: `ralloc: write past the end of ${hex8(buffer - 32)} (64 bytes), found by free` });
  });

  test('out of memory: a full collection first (where TLSF traps), then a message, not a trap', () => {
    assert.equal(instance('oom-ralloc').churn(20, 200000), 4000000, 'one 800 KB array live at a time under a 2 MiB maximum');
    assert.throws(() => instance('oom-stock').churn(20, 200000), (e) => e instanceof WebAssembly.RuntimeError, 'AssemblyScript\'s TLSF traps there');
    for (const name of ['oom-ralloc', 'oom-minimal']) {
      assert.throws(() => instance(name).hoard(1000), { message: 'ralloc-wasm: out of memory' });
    }
  });

  test('a LocalHeap grown from the runtime\'s heap works beside managed objects, and destroying it leaves the heap sound', () => {
    const expected = instance('inc-stock').localHeap(2000);
    const e = instance('inc-ralloc');
    e.drop();
    e.__collect();
    const base = [e.liveBlocks(), e.bytesInUse()];
    assert.equal(e.localHeap(2000), expected);
    e.__collect();
    assert.equal(e.heapCheck(), 0);
    assert.deepEqual([e.liveBlocks(), e.bytesInUse()], base, 'the local heap\'s chunks and the strings gone');
  });

  test('examples/as/runtime.js: library.ts prints the same lines on both runtimes; TLSF only in the stock build', async () => {
    const { runBoth } = await import('../examples/as/runtime.js');
    const [stock, ralloc] = await runBoth(60);
    assert.ok(stock.lines.length >= 2, stock.lines.join('\n'));
    assert.deepEqual(ralloc.lines, stock.lines);
    const tlsf = Buffer.from('~lib/rt/tlsf.ts', 'utf16le'); // in the assertions' messages (the example keeps them)
    assert.ok(Buffer.from(stock.binary).includes(tlsf));
    assert.ok(!Buffer.from(ralloc.binary).includes(tlsf));
  });

  test('the library\'s malloc family refuses to compile when ralloc-wasm is the runtime', async () => {
    const r = await compile(dir, ['refused.ts', '--config', 'asconfig.json', '--runtime', `${RUNTIME}incremental`, '-o', 'refused.wasm']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /ralloc-wasm is this module's runtime \(--runtime …\/ralloc-wasm\/assembly\/runtime\/…\): allocate with heap\.alloc, heap\.realloc and heap\.free, or a LocalHeap/);
  });
});
