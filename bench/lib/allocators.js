// The allocators under test and how each is built, linked and instantiated.
//
//   dlmalloc   wasi-libc's malloc, inside the program compiled against wasi-libc (baseline)
//   release    ralloc-wasm build/release.wasm          } import-based: the program imports
//   small      ralloc-wasm build/small.wasm            } malloc/free/realloc from env and
//   tiny       ralloc-wasm build/tiny.wasm (C family)  }
//   tlsf       AssemblyScript's TLSF (bench/tlsf/)      } shares one memory with the
//   floor      one LIFO list per size class (bench/floor/) } allocator
//
// Import-based allocators are linked two ways:
//   dyn     two instances; the allocator's exported functions are passed to the program
//           as its imports (no JS in between), so each call crosses instances.
//   static  one module: linkStatic (wasm-merge) from dist/bindings/link.js, the allocator's
//           C exports dropped (a program does not export malloc), then wasm-opt -O3 over
//           the whole, so the fast path can be inlined into the program.
// Every module that runs has its memory.grow instructions rewritten into a counted import
// (toolchain.instrumentGrow), as the last step.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  ROOT_DIR, BENCH_DIR, asc, cached, dataSegments, exportedGlobal, hash, instrumentGrow, keepExports, memoryMinPages, wasmOpt, GROW_IMPORT,
} from './toolchain.js';
import { emccHost, emccWorkload } from './emcc.js';

export const ALLOCATORS = [
  { id: 'dlmalloc', label: 'dlmalloc (wasi-libc)', kind: 'libc' },
  { id: 'release', label: 'ralloc release', kind: 'import', build: 'release', init: 'ralloc_init' },
  { id: 'small', label: 'ralloc small', kind: 'import', build: 'small', init: 'ralloc_init' },
  { id: 'tiny', label: 'ralloc tiny', kind: 'import', build: 'tiny', init: 'ralloc_init' },
  { id: 'tlsf', label: 'AS TLSF', kind: 'import', init: null },
  { id: 'floor', label: 'floor', kind: 'import', init: 'floor_init' },
  // the hardened build: always run, so the report says what it costs against release
  { id: 'security', label: 'ralloc security', kind: 'import', build: 'security', init: 'ralloc_init' },
  // not run unless named with --alloc: the debug build, to run the workloads (and their
  // checksums and ralloc_check) under its checks
  { id: 'debug', label: 'ralloc debug', kind: 'import', build: 'debug', init: 'ralloc_init', optional: true },
];

/**
 * Allocator exports the runner calls besides the program's own: init, heap check, stats, seed
 * (null_init: bench/hotpath.js's null allocator).
 */
const RUNNER_EXPORTS = ['floor_init', 'null_init', 'ralloc_check', 'ralloc_stats', 'ralloc_seed'];
/** The guarded builds' key for every run: fixed, so runs compare (the security build needs one). */
const SEED = [0x5eed1234, 0x0badcafe];

export const TLSF_OPTIONS = ['--runtime', 'incremental', '--importMemory', '--noExportMemory', '-O3', '--noAssert'];
export const FLOOR_OPTIONS = ['--runtime', 'stub', '--importMemory', '--noExportMemory', '-O3', '--noAssert'];

const LINK_JS = path.join(ROOT_DIR, 'dist', 'bindings', 'link.js');
let linkMod;
/** linkStatic from the package's bindings, or null while it does not exist yet. */
export async function linkStaticFn() {
  if (linkMod === undefined) linkMod = fs.existsSync(LINK_JS) ? await import(LINK_JS) : null;
  return linkMod ? linkMod.linkStatic : null;
}

/** The file of a ralloc-wasm build: build/<build>.wasm, or `build` itself when it is a path. */
export function ralloBuildPath(build) {
  return build.endsWith('.wasm') ? build : path.join(ROOT_DIR, 'build', `${build}.wasm`);
}

const buildSnapshots = new Map();
/**
 * The bytes of build/<build>.wasm, read once per process: the builds may be rebuilt while a
 * run goes on, and every figure of one run must come from the same bytes.
 */
export function buildBytes(build) {
  if (!buildSnapshots.has(build)) buildSnapshots.set(build, new Uint8Array(fs.readFileSync(ralloBuildPath(build))));
  return buildSnapshots.get(build);
}

/** Whether the allocator can run now (ralloc builds appear while the lead works). */
export function available(a) {
  if (a.build) return fs.existsSync(ralloBuildPath(a.build));
  return true;
}

/**
 * The allocator module's bytes for a program whose data ends at heapBase.
 * AssemblyScript's TLSF puts its own static data at --memoryBase and starts its heap at its
 * own __heap_base (after that data): compiled with --memoryBase = heapBase rounded up to 16,
 * everything it owns lies above the program's memory. One module per distinct heapBase,
 * cached. Every allocator is then checked to have no data segment below heapBase.
 */
export async function allocatorBytes(a, heapBase) {
  let bytes;
  if (a.build) bytes = buildBytes(a.build);
  else if (a.id === 'tlsf') {
    const base = (heapBase + 15) & ~15;
    bytes = await asc(`tlsf-${base}`, path.join(BENCH_DIR, 'tlsf', 'tlsf.ts'), [...TLSF_OPTIONS, '--memoryBase', String(base)]);
  } else if (a.id === 'floor') {
    bytes = await asc('floor', path.join(BENCH_DIR, 'floor', 'floor.ts'), FLOOR_OPTIONS);
  } else if (a.entry) {
    // another AssemblyScript allocator built like the floor (bench/hotpath.js's null allocator)
    bytes = await asc(a.id, a.entry, FLOOR_OPTIONS);
  } else throw new Error(`no module for ${a.id}`);
  for (const s of dataSegments(bytes)) {
    if (s.offset < heapBase) {
      throw new Error(`${a.label}: data segment at ${s.offset} (+${s.size}) lies below the program's __heap_base ${heapBase}`);
    }
  }
  return bytes;
}

// at most this many wasm-merge processes at once
const POOL = Math.max(2, os.cpus().length);
let running = 0;
const waiting = [];
async function pooled(fn) {
  if (running >= POOL) await new Promise((r) => waiting.push(r));
  running++;
  try { return await fn(); } finally { running--; waiting.shift()?.(); }
}

async function counted(label, bytes) {
  return cached(`${label}.counted`, hash('instrumentGrow-v1', bytes), async () => (await instrumentGrow(bytes)).bytes);
}

/**
 * Everything needed to run one (workload, allocator, linking): compiled WebAssembly.Modules
 * and the numbers the runner needs. `prog` is the output of compileWorkload. For the libc and
 * static linkings, `bytes` is the one module's binary (bench/hotpath.js counts in it).
 */
export async function prepare(w, prog, a, linking, moduleCache) {
  const compile = (bytes) => {
    const k = hash(bytes);
    if (!moduleCache.has(k)) moduleCache.set(k, new WebAssembly.Module(bytes));
    return moduleCache.get(k);
  };
  if (a.kind === 'emcc') {
    // built by emcc (bench/lib/emcc.js): its own malloc, or none and ralloc-wasm linked statically
    const built = await emccWorkload(w, path.join(BENCH_DIR, 'workloads'), a.malloc, { exportedGlobal, memoryMinPages });
    const programBytes = built.minPages * 65536;
    if (a.malloc === 'none') {
      const p = await prepare(w, { import: built }, { ...a, kind: 'import' }, 'static', moduleCache);
      return p && { ...p, kind: 'emcc', maxPages: built.maxPages, programBytes };
    }
    const bytes = await counted(`${w.id}.${a.id}`, built.bytes);
    return { kind: 'emcc', program: compile(bytes), heapBase: built.heapBase, init: null, minPages: built.minPages, maxPages: built.maxPages, programBytes };
  }
  if (a.kind === 'libc') {
    let bytes = prog.libc.bytes;
    if (linking === 'opt') bytes = await cached(`${w.id}.libc.O3`, hash('O3', bytes), () => wasmOpt(bytes, '-O3'));
    bytes = await counted(`${w.id}.libc${linking === 'opt' ? '.O3' : ''}`, bytes);
    return { kind: 'libc', program: compile(bytes), bytes, heapBase: prog.libc.heapBase, init: null, programBytes: prog.libc.minPages * 65536 };
  }
  const heapBase = prog.import.heapBase;
  const alloc = await allocatorBytes(a, heapBase);
  if (linking === 'dyn') {
    const allocCounted = await counted(`${a.id}${a.id === 'tlsf' ? '-' + heapBase : ''}`, alloc);
    const allocator = compile(allocCounted);
    return {
      kind: 'dyn', program: compile(prog.import.bytes), allocator, heapBase, init: a.init,
      minPages: Math.max(prog.import.minPages, memoryMinPages(allocCounted)), programBytes: prog.import.minPages * 65536,
    };
  }
  if (linking === 'static') {
    const linkStatic = await linkStaticFn();
    if (!linkStatic) return null;
    const linkSrc = fs.readFileSync(LINK_JS, 'utf8');
    // linkStatic = wasm-merge, then binaryen's optimizer at -O3 over the merged module
    // (what `wasm-opt -O3` runs). Each call starts wasm-merge (seconds), hence the pool.
    // AssemblyScript's TLSF module may ask for more initial memory than the program (its
    // shadow stack sits between its data and its heap); the dynamic linking creates the
    // memory at the larger size, and linkStatic raises the merged module's import to match.
    // The runner gives every configuration the memory it counts grows on: importMemory keeps
    // the merged module importing it, instead of defining its own (linkStatic's default).
    const progBytes = prog.import.bytes;
    const merged = await cached(`${w.id}.${a.id}.static`, hash('static-v3', linkSrc, progBytes, alloc), () => staticLink(progBytes, alloc));
    const bytes = await counted(`${w.id}.${a.id}.static`, merged);
    for (const s of dataSegments(bytes)) {
      // the program's own data lies below heapBase; the allocator's may not
      if (s.offset + s.size > heapBase && s.offset < heapBase) throw new Error(`${w.id}+${a.id}: merged data segment straddles __heap_base`);
    }
    // linkStatic adds a start function calling ralloc_init(__heap_base) when the allocator
    // exports ralloc_init; other allocators' init (floor_init) is called by the runner
    const init = a.init === 'ralloc_init' ? null : a.init;
    return { kind: 'static', program: compile(bytes), bytes, heapBase, init, minPages: memoryMinPages(bytes), programBytes: prog.import.minPages * 65536 };
  }
  throw new Error(`unknown linking ${linking}`);
}

/**
 * The static link the benchmark times: linkStatic merges the program and the allocator without
 * optimizing; the exports a C program would not have (the allocator's malloc, free, ...) are
 * then removed, as they would be from a real program, so the optimizer sees the program as
 * their only caller and may inline them, as it does dlmalloc in a wasi-libc program; then
 * wasm-opt -O3 (binaryen's pipeline). Kept: the program's exports and what the runner calls
 * (init, check, stats). `names` keeps the function names (bench/profile.js); the code is the same.
 */
export async function staticLink(progBytes, alloc, { names = false } = {}) {
  const linkStatic = await linkStaticFn();
  const progExports = WebAssembly.Module.exports(new WebAssembly.Module(progBytes)).map((e) => e.name);
  const linked = await pooled(() => linkStatic(progBytes, { allocator: alloc, optimize: 0, importMemory: true, debugInfo: names }));
  return wasmOpt(await keepExports(linked, [...progExports, ...RUNNER_EXPORTS], { names }), '-O3', { names });
}

/**
 * Builds the import object for `mod`, from its own import list: the shared memory, the
 * counted memory.grow, the malloc family (dyn), no-ops for ralloc's optional hooks, and a
 * throwing function for anything else (so an unexpected call is loud, not silent).
 */
function importsFor(mod, ctx) {
  const obj = {};
  for (const imp of WebAssembly.Module.imports(mod)) {
    let v;
    if (imp.kind === 'memory') v = ctx.memory;
    else if (imp.module === GROW_IMPORT.module && imp.name === GROW_IMPORT.name) v = ctx.grow;
    else if (imp.kind === 'function' && imp.module === 'env' && ctx.funcs && ctx.funcs[imp.name]) v = ctx.funcs[imp.name];
    else if (imp.kind === 'function' && imp.module === 'ralloc_hooks') v = () => 0;
    else if (imp.kind === 'function' && imp.module === 'env' && imp.name === 'abort') {
      v = (msg, file, line, col) => { throw new Error(`allocator called abort (line ${line}, column ${col})`); };
    } else if (imp.kind === 'function') {
      v = () => { throw new Error(`unexpected call to import ${imp.module}.${imp.name}`); };
    } else throw new Error(`cannot satisfy import ${imp.module}.${imp.name} (${imp.kind})`);
    (obj[imp.module] ??= {})[imp.name] = v;
  }
  return obj;
}

/**
 * A fresh instance (and a fresh memory) of a prepared configuration. Returns
 * { run, ops, peakLive, memory, growCalls(), initialBytes, alloc } where alloc holds the
 * allocator's exports when reachable (for ralloc_check / ralloc_stats).
 */
export function instantiate(p) {
  const ctx = { memory: null, growCalls: 0, funcs: null };
  ctx.grow = (delta) => {
    ctx.growCalls++;
    try { return ctx.memory.grow(delta >>> 0); } catch { return -1; }
  };
  let prog, alloc = null;
  if (p.kind === 'libc') {
    prog = new WebAssembly.Instance(p.program, importsFor(p.program, ctx)).exports;
    ctx.memory = prog.memory;
    prog._initialize();
    alloc = prog;
  } else {
    ctx.memory = new WebAssembly.Memory({ initial: p.minPages, ...(p.maxPages ? { maximum: p.maxPages } : {}) });
    if (p.kind === 'emcc') ctx.funcs = emccHost(ctx);
    if (p.kind === 'dyn') {
      alloc = new WebAssembly.Instance(p.allocator, importsFor(p.allocator, ctx)).exports;
      ctx.funcs = { malloc: alloc.malloc, free: alloc.free, realloc: alloc.realloc, calloc: alloc.calloc };
      prog = new WebAssembly.Instance(p.program, importsFor(p.program, ctx)).exports;
    } else {
      prog = new WebAssembly.Instance(p.program, importsFor(p.program, ctx)).exports;
      alloc = prog;
    }
    if (typeof prog.__wasm_call_ctors === 'function') prog.__wasm_call_ctors(); // what emcc's glue runs first
    // before anything is allocated (a static link's start function only places the heap)
    if (typeof alloc.ralloc_seed === 'function' && alloc.ralloc_seed(...SEED) !== 0) throw new Error('ralloc_seed refused the key');
    if (p.init) {
      if (typeof alloc[p.init] !== 'function') throw new Error(`the allocator does not export ${p.init}`);
      const rc = alloc[p.init](p.heapBase);
      if (rc !== 0) throw new Error(`${p.init}(${p.heapBase}) returned ${rc}`);
    }
  }
  const initialBytes = ctx.memory.buffer.byteLength;
  return {
    run: prog.run, ops: prog.ops, peakLive: prog.peak_live, memory: ctx.memory,
    growCalls: () => ctx.growCalls, initialBytes, alloc,
  };
}
