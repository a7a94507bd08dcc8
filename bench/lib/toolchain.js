// Compilers and wasm tools for the benchmark, with a content-addressed cache in bench/out/.
// Everything here runs offline: @yowasp/clang (clang + wasi-libc in wasm), the installed
// AssemblyScript compiler, binaryen's wasm-opt and binaryen.js.
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const BENCH_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const ROOT_DIR = path.resolve(BENCH_DIR, '..');
export const OUT_DIR = path.join(BENCH_DIR, 'out');
const BIN = path.join(ROOT_DIR, 'node_modules', '.bin');

fs.mkdirSync(OUT_DIR, { recursive: true });

export function hash(...parts) {
  const h = createHash('sha256');
  for (const p of parts) {
    h.update(typeof p === 'string' ? p : Buffer.from(p.buffer ?? p, p.byteOffset ?? 0, p.byteLength ?? p.length));
    h.update('\0');
  }
  return h.digest('hex').slice(0, 16);
}

function pkgVersion(name) {
  return JSON.parse(fs.readFileSync(path.join(ROOT_DIR, 'node_modules', name, 'package.json'), 'utf8')).version;
}

/** Runs async jobs one at a time (the in-process compilers are not known to be reentrant). */
function serial() {
  let tail = Promise.resolve();
  return (fn) => {
    const run = tail.then(fn);
    tail = run.catch(() => {});
    return run;
  };
}
const clangLock = serial();
const ascLock = serial();

const inflight = new Map(); // file -> promise, so concurrent requests build an artifact once

/** Returns the cached artifact `name` keyed by `key`, building it with `make()` on a miss. */
export function cached(name, key, make) {
  const file = path.join(OUT_DIR, `${name}.${key}.wasm`);
  if (!inflight.has(file)) {
    const p = build(name, key, make);
    inflight.set(file, p);
    p.catch(() => inflight.delete(file));
  }
  return inflight.get(file);
}

async function build(name, key, make) {
  const file = path.join(OUT_DIR, `${name}.${key}.wasm`);
  if (fs.existsSync(file)) return new Uint8Array(fs.readFileSync(file));
  const started = Date.now();
  const bytes = await make();
  if (process.env.BENCH_TRACE) process.stderr.write(`built ${name} in ${Date.now() - started} ms\n`);
  fs.writeFileSync(file + '.tmp', bytes);
  fs.renameSync(file + '.tmp', file); // atomic: a killed run leaves no half-written artifact
  // drop older versions of the same artifact (e.g. links of a previous allocator build)
  const stale = new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.[0-9a-f]{16}\\.wasm$`);
  for (const f of fs.readdirSync(OUT_DIR)) {
    if (stale.test(f) && f !== path.basename(file)) fs.rmSync(path.join(OUT_DIR, f), { force: true });
  }
  return bytes;
}

// ---- clang -------------------------------------------------------------------------------

let clangMod;
async function runClang(args, files) {
  if (!clangMod) {
    clangMod = await import('@yowasp/clang');
    // load the toolchain once up front, silently: runClang's first internal step does not
    // pass fetchProgress on and would print "yowasp-llvm: fetched N%" lines
    await clangMod.runLLVM(null, {}, { fetchProgress: () => {} });
  }
  let stderr = '';
  const dec = new TextDecoder();
  try {
    return await clangMod.runClang(args, files, {
      stdout: null,
      stderr: (b) => { if (b) stderr += dec.decode(b, { stream: true }); },
    });
  } catch (e) {
    throw new Error(`clang failed: ${e.message}\n${stderr}`);
  }
}

export const CLANG_BASE = ['clang', '--target=wasm32-wasip1', '-O2', '-Wall', '-Werror'];
/** against wasi-libc: its malloc is dlmalloc. Reactor model, so `run` can be called. */
export const CLANG_LIBC = ['-mexec-model=reactor', '-Wl,--export=__heap_base'];
/** the malloc family imported from `env`, memory imported, no libc at all */
export const CLANG_IMPORT = ['-nostdlib', '-Wl,--no-entry', '-Wl,--allow-undefined', '-Wl,--import-memory',
  '-Wl,--export=run', '-Wl,--export=__heap_base'];

/** Compiles C `files` (name -> text) with `main` as the translation unit. */
export async function clang(label, files, main, flags) {
  const key = hash(pkgVersion('@yowasp/clang'), JSON.stringify(flags), main,
    ...Object.keys(files).sort().flatMap((k) => [k, files[k]]));
  return cached(label, key, () => clangLock(async () => {
    const out = await runClang([...CLANG_BASE, ...flags, main, '-o', 'out.wasm'], files);
    if (!out || !out['out.wasm']) throw new Error(`clang failed for ${label}`);
    return out['out.wasm'];
  }));
}

// ---- AssemblyScript ----------------------------------------------------------------------

let ascMod;
/** Compiles an AssemblyScript entry file (absolute path) with the given asc options; `inputs`
 *  (texts) join the cache key: the files the entry imports, when they can change. */
export async function asc(label, entry, options, inputs = []) {
  const src = fs.readFileSync(entry, 'utf8');
  const config = path.join(BENCH_DIR, 'asconfig.json');
  const key = hash(pkgVersion('assemblyscript'), src, JSON.stringify(options), fs.readFileSync(config, 'utf8'), ...inputs);
  return cached(label, key, () => ascLock(async () => {
    ascMod ??= (await import('assemblyscript/asc')).default;
    const outFile = path.join(OUT_DIR, `${label}.${key}.asc.wasm`);
    let stderr = '';
    const { error } = await ascMod.main([entry, '--config', config, '--outFile', outFile, ...options], {
      stdout: { write() {} },
      stderr: { write(s) { stderr += s; } },
    });
    if (error) throw new Error(`asc failed for ${label}: ${error.message}\n${stderr}`);
    const bytes = new Uint8Array(fs.readFileSync(outFile));
    fs.rmSync(outFile);
    return bytes;
  }));
}

// ---- binaryen ----------------------------------------------------------------------------

/**
 * `wasm-opt <level>` over `bytes`, in-process with binaryen.js (the same binaryen release as
 * the CLI; the CLI costs ~5 s of start-up per call here). Its default pipeline at the same
 * optimize/shrink levels matches the CLI to within a few bytes per module. `names` keeps the
 * function names (the name section); the code is the same either way.
 */
export async function wasmOpt(bytes, level, { names = false } = {}) {
  const levels = { '-O2': [2, 0], '-O3': [3, 0], '-O4': [4, 0], '-Os': [2, 1], '-Oz': [2, 2] };
  if (!levels[level]) throw new Error(`wasmOpt: unsupported level ${level}`);
  const b = await binaryen();
  const m = b.readBinary(bytes);
  try {
    m.setFeatures(b.Features.All);
    b.setOptimizeLevel(levels[level][0]);
    b.setShrinkLevel(levels[level][1]);
    b.setDebugInfo(names);
    m.optimize();
    if (!m.validate()) throw new Error('wasmOpt: output does not validate');
    return m.emitBinary();
  } finally {
    m.dispose();
  }
}

/** The wasm-opt CLI itself (node_modules/.bin/wasm-opt), for the code-size figures. */
export function wasmOptCli(bytes, args) {
  const key = hash(JSON.stringify(args), bytes, String(Math.random()));
  const inFile = path.join(OUT_DIR, `opt-in.${key}.wasm`);
  const outFile = path.join(OUT_DIR, `opt-out.${key}.wasm`);
  fs.writeFileSync(inFile, bytes);
  return new Promise((resolve, reject) => {
    execFile(path.join(BIN, 'wasm-opt'), [inFile, '--all-features', ...args, '-o', outFile], (err, _out, stderr) => {
      try {
        if (err) reject(new Error(`wasm-opt ${args.join(' ')} failed: ${stderr || err.message}`));
        else resolve(new Uint8Array(fs.readFileSync(outFile)));
      } finally {
        fs.rmSync(inFile, { force: true });
        fs.rmSync(outFile, { force: true });
      }
    });
  });
}

let binaryenMod;
async function binaryen() {
  binaryenMod ??= (await import('binaryen')).default;
  return binaryenMod;
}

/** The names of the functions a module defines (imports left out), in their order; a function
 *  without one in the name section gets binaryen's (its index). */
export async function functionNames(bytes) {
  const b = await binaryen();
  const m = b.readBinary(bytes);
  try {
    const names = [];
    for (let i = 0; i < m.getNumFunctions(); i++) {
      const f = b.getFunctionInfo(m.getFunctionByIndex(i));
      if (!f.module) names.push(f.name);
    }
    return names;
  } finally {
    m.dispose();
  }
}

export const GROW_IMPORT = { module: 'bench', name: 'memory_grow' };

/**
 * Counting memory.grow: every `memory.grow` instruction of the module is rewritten into a
 * call to the import bench.memory_grow (i32 pages -> i32 old size or -1), which the runner
 * implements with `memory.grow` on the same WebAssembly.Memory and counts. The rewrite is
 * done on binaryen's text form (round trip through binaryen IR), after any optimisation, so
 * it is the last change made to a module and is applied alike to every allocator,
 * dlmalloc's sbrk included. A call to JS costs far less than the grow it wraps (0.1 ms+).
 * Returns { bytes, sites } where sites is the number of memory.grow instructions rewritten.
 */
export async function instrumentGrow(bytes) {
  const b = await binaryen();
  const m = b.readBinary(bytes);
  m.setFeatures(b.Features.All);
  const text = m.emitText();
  m.dispose();
  let sites = 0;
  const target = `$${GROW_IMPORT.module}_${GROW_IMPORT.name}__counted`;
  let out = text.replace(/\(memory\.grow(?: \$[^\s()]+)?(?=[\s)])/g, () => { sites++; return `(call ${target}`; });
  if (!/^\(module[^\n]*\n/.test(out)) throw new Error('instrumentGrow: unexpected text form');
  out = out.replace(/^\(module[^\n]*\n/, (head) =>
    `${head} (import "${GROW_IMPORT.module}" "${GROW_IMPORT.name}" (func ${target} (param i32) (result i32)))\n`);
  const m2 = b.parseText(out);
  m2.setFeatures(b.Features.All);
  if (!m2.validate()) throw new Error('instrumentGrow: rewritten module does not validate');
  const res = m2.emitBinary();
  m2.dispose();
  return { bytes: res, sites };
}

/** Removes every export except `keep` (names), so -Oz can drop what only they reach; `names`
 *  keeps the function names. */
export async function keepExports(bytes, keep, { names = false } = {}) {
  const b = await binaryen();
  const m = b.readBinary(bytes);
  m.setFeatures(b.Features.All);
  const exported = [];
  for (let i = 0; i < m.getNumExports(); i++) exported.push(b.getExportInfo(m.getExportByIndex(i)).name);
  for (const n of exported) if (!keep.includes(n)) m.removeExport(n);
  b.setDebugInfo(names);
  const res = m.emitBinary();
  b.setDebugInfo(false);
  m.dispose();
  return res;
}

// ---- binary inspection (no dependencies) --------------------------------------------------

function leb(bytes, pos) {
  let result = 0, shift = 0, b;
  do { b = bytes[pos++]; result |= (b & 0x7f) << shift; shift += 7; } while (b & 0x80);
  return [result >>> 0, pos];
}
function sleb(bytes, pos) {
  let result = 0, shift = 0, b;
  do { b = bytes[pos++]; result |= (b & 0x7f) << shift; shift += 7; } while (b & 0x80);
  if (shift < 32 && (b & 0x40)) result |= -1 << shift;
  return [result, pos];
}

/** Sections of a module: [{ id, start, size }] (start = offset of the payload). */
export function sections(bytes) {
  const out = [];
  let pos = 8;
  while (pos < bytes.length) {
    const id = bytes[pos++];
    let size; [size, pos] = leb(bytes, pos);
    out.push({ id, start: pos, size });
    pos += size;
  }
  return out;
}

/** Bytes of code: the code section's payload (all function bodies with their sizes). */
export function codeBytes(bytes) {
  const s = sections(bytes).find((x) => x.id === 10);
  return s ? s.size : 0;
}

/**
 * Active data segments: [{ offset, size }] for memory 0 with an i32.const offset.
 * Throws on segments whose offset is not a constant (the benchmark does not expect any).
 */
export function dataSegments(bytes) {
  const s = sections(bytes).find((x) => x.id === 11);
  if (!s) return [];
  let pos = s.start, n;
  [n, pos] = leb(bytes, pos);
  const out = [];
  for (let i = 0; i < n; i++) {
    let flags; [flags, pos] = leb(bytes, pos);
    if (flags === 1) { let size; [size, pos] = leb(bytes, pos); pos += size; continue; } // passive
    if (flags === 2) { let mem; [mem, pos] = leb(bytes, pos); }
    if (bytes[pos++] !== 0x41) throw new Error('data segment offset is not i32.const');
    let offset; [offset, pos] = sleb(bytes, pos);
    if (bytes[pos++] !== 0x0b) throw new Error('data segment offset expression too long');
    let size; [size, pos] = leb(bytes, pos);
    out.push({ offset: offset >>> 0, size });
    pos += size;
  }
  return out;
}

/** The initial value of an exported immutable i32 global (e.g. __heap_base). */
export function exportedGlobal(bytes, name) {
  const mod = new WebAssembly.Module(bytes);
  // instantiate-free read: parse the global and export sections
  const secs = sections(bytes);
  let importedGlobals = 0;
  const imp = secs.find((x) => x.id === 2);
  if (imp) {
    for (const i of WebAssembly.Module.imports(mod)) if (i.kind === 'global') importedGlobals++;
  }
  const exp = secs.find((x) => x.id === 7);
  let pos = exp.start, n, index = -1;
  [n, pos] = leb(bytes, pos);
  const dec = new TextDecoder();
  for (let i = 0; i < n; i++) {
    let len; [len, pos] = leb(bytes, pos);
    const nm = dec.decode(bytes.subarray(pos, pos + len)); pos += len;
    const kind = bytes[pos++];
    let idx; [idx, pos] = leb(bytes, pos);
    if (nm === name && kind === 3) index = idx;
  }
  if (index < 0) throw new Error(`no exported global ${name}`);
  if (index < importedGlobals) throw new Error(`exported global ${name} is imported`);
  const gs = secs.find((x) => x.id === 6);
  pos = gs.start; [n, pos] = leb(bytes, pos);
  for (let i = 0; i < n; i++) {
    pos += 2; // valtype, mutability
    if (bytes[pos] !== 0x41) throw new Error('global init is not i32.const');
    let v; [v, pos] = sleb(bytes, pos + 1);
    if (bytes[pos++] !== 0x0b) throw new Error('global init expression too long');
    if (i + importedGlobals === index) return v >>> 0;
  }
  throw new Error(`global ${name} not found`);
}

/** Minimum pages of the memory a module imports (or defines), from its import/memory section. */
export function memoryMinPages(bytes) {
  const secs = sections(bytes);
  const imp = secs.find((x) => x.id === 2);
  if (imp) {
    let pos = imp.start, n;
    [n, pos] = leb(bytes, pos);
    for (let i = 0; i < n; i++) {
      let len;
      [len, pos] = leb(bytes, pos); pos += len;
      [len, pos] = leb(bytes, pos); pos += len;
      const kind = bytes[pos++];
      if (kind === 0) { pos = leb(bytes, pos)[1]; continue; }
      if (kind === 1) { pos++; const [fl, p2] = leb(bytes, pos); pos = leb(bytes, p2)[1]; if (fl & 1) pos = leb(bytes, pos)[1]; continue; }
      if (kind === 2) { const [fl, p2] = leb(bytes, pos); const [min] = leb(bytes, p2); return min; }
      if (kind === 3) { pos += 2; continue; }
      throw new Error('unknown import kind ' + kind);
    }
  }
  const mem = secs.find((x) => x.id === 5);
  if (mem) { let pos = mem.start; pos = leb(bytes, pos)[1]; const [fl, p2] = leb(bytes, pos); return leb(bytes, p2)[0]; }
  return 0;
}

export function versions() {
  return {
    clang: pkgVersion('@yowasp/clang'),
    assemblyscript: pkgVersion('assemblyscript'),
    binaryen: pkgVersion('binaryen'),
  };
}
