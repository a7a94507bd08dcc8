// emcc (Emscripten) for the tests and the benchmark: whether it is installed, and builds cached
// in bench/out/emcc/, keyed by a hash of emcc's version, the flags and every input file's bytes
// (emcc takes a second or more per program, several for C++).
import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { OUT_DIR, hash } from './toolchain.js';

export const EMCC_DIR = path.join(OUT_DIR, 'emcc');

// Debian's emscripten package installs the acorn parser emcc's JS optimizer needs (node-acorn) in
// /usr/share/nodejs, which is not on Node's module path.
const EMCC_ENV = { ...process.env, NODE_PATH: [process.env.NODE_PATH, '/usr/share/nodejs'].filter(Boolean).join(path.delimiter) };

let version;
/** emcc's version line, or null when emcc is not on PATH. */
export function emccVersion() {
  if (version === undefined) {
    const r = spawnSync('emcc', ['--version'], { encoding: 'utf8', env: EMCC_ENV });
    version = r.status === 0 ? r.stdout.split('\n')[0].trim() : null;
  }
  return version;
}

// at most two emcc processes at once (each runs clang, wasm-ld and binaryen)
let running = 0;
const waiting = [];
async function pooled(fn) {
  if (running >= 2) await new Promise((r) => waiting.push(r));
  running++;
  try { return await fn(); } finally { running--; waiting.shift()?.(); }
}

const inflight = new Map();

/**
 * Builds `inputs` (absolute paths of .c/.cpp files) with `emcc` (or `em++` when `cpp`) and
 * `flags`, once per distinct input: returns { js, wasm }, the paths of the glue (renamed
 * NAME.cjs, since this package is an ES module one) and of NAME.wasm beside it. `deps` are
 * more files whose bytes the output depends on (headers, --pre-js files).
 */
export function emcc(name, { inputs, flags = [], deps = [], cpp = false }) {
  const v = emccVersion();
  if (!v) throw new Error('emcc is not installed (apt-get install emscripten node-acorn)');
  const key = hash(v, cpp ? 'em++' : 'emcc', JSON.stringify(flags), ...[...inputs, ...deps].flatMap((f) => [path.basename(f), fs.readFileSync(f)]));
  const dir = path.join(EMCC_DIR, `${name}.${key}`);
  const out = { js: path.join(dir, `${name}.cjs`), wasm: path.join(dir, `${name}.wasm`) };
  if (fs.existsSync(out.js) && fs.existsSync(out.wasm)) return Promise.resolve(out);
  if (!inflight.has(dir)) {
    inflight.set(dir, pooled(() => new Promise((resolve, reject) => {
      const tmp = `${dir}.tmp${process.pid}`;
      fs.rmSync(tmp, { recursive: true, force: true });
      fs.mkdirSync(tmp, { recursive: true });
      execFile(cpp ? 'em++' : 'emcc', [...inputs, ...flags, '-o', path.join(tmp, `${name}.js`)], { env: EMCC_ENV, maxBuffer: 16 << 20 }, (err, _stdout, stderr) => {
        if (err) {
          fs.rmSync(tmp, { recursive: true, force: true });
          return reject(new Error(`emcc failed for ${name}: ${stderr || err.message}`));
        }
        fs.renameSync(path.join(tmp, `${name}.js`), path.join(tmp, `${name}.cjs`));
        fs.rmSync(dir, { recursive: true, force: true });
        fs.renameSync(tmp, dir); // whole or not at all: a killed run leaves no half-built entry
        // drop older builds of the same name (other flags or sources)
        for (const f of fs.readdirSync(EMCC_DIR)) {
          if (f.startsWith(`${name}.`) && /^[0-9a-f]{16}$/.test(f.slice(name.length + 1)) && f !== path.basename(dir)) {
            fs.rmSync(path.join(EMCC_DIR, f), { recursive: true, force: true });
          }
        }
        resolve(out);
      });
    })));
  }
  return inflight.get(dir);
}

// ---- the benchmark's workloads built by emcc ---------------------------------------------------

/**
 * The Emscripten columns of the benchmark: a workload built by `emcc -O2` with emcc's dlmalloc,
 * with emmalloc, and with -sMALLOC=none and ralloc-wasm's release build linked statically (the
 * same link and -O3 as the `release/static` column).
 */
export const EMCC_ALLOCATORS = [
  { id: 'emcc-dlmalloc', label: 'emcc dlmalloc', kind: 'emcc', malloc: 'dlmalloc' },
  { id: 'emcc-emmalloc', label: 'emcc emmalloc', kind: 'emcc', malloc: 'emmalloc' },
  { id: 'emcc-release', label: 'emcc + ralloc release', kind: 'emcc', malloc: 'none', build: 'release', init: 'ralloc_init' },
];

/** emcc's JS heap limit with growth on (its default -sMAXIMUM_MEMORY, 2 GiB). */
const EMCC_MAX_BYTES = 2147483648;

/**
 * Builds workload `w` with emcc and `malloc` (dlmalloc, emmalloc or none). The memory is imported
 * and may grow; its initial size is the end of the program's data and stack, rounded up to 64 KiB
 * (found by a first build with dlmalloc at emcc's default size, one per workload: dlmalloc's data
 * is the largest; a build that needs more says so and is made again with that), so that what each
 * allocator adds to it shows, as in the other columns. Returns { bytes, heapBase, minPages, maxPages }.
 */
export async function emccWorkload(w, srcDir, malloc, { exportedGlobal, memoryMinPages }) {
  const flags = (m) => ['-O2', '-Wall', '-Werror', `-I${srcDir}`, '--no-entry', `-sMALLOC=${m}`, '-sIMPORTED_MEMORY', '-sALLOW_MEMORY_GROWTH=1',
    '-sEXPORTED_FUNCTIONS=_run,_ops,_peak_live', '-Wl,--export=__heap_base', ...(m === 'none' ? ['-sERROR_ON_UNDEFINED_SYMBOLS=0'] : [])];
  const opts = { inputs: [path.join(srcDir, `${w.id}.c`)], deps: [path.join(srcDir, 'common.h')] };
  const probe = await emcc(`${w.id}-probe`, { ...opts, flags: flags('dlmalloc') });
  const pages = (bytes) => Math.ceil(bytes / 65536) * 65536;
  let initial = pages(exportedGlobal(new Uint8Array(fs.readFileSync(probe.wasm)), '__heap_base'));
  let out;
  try {
    out = await emcc(`${w.id}-${malloc}`, { ...opts, flags: [...flags(malloc), `-sINITIAL_MEMORY=${initial}`] });
  } catch (e) {
    const needed = /initial memory too small, (\d+) bytes needed/.exec(e.message);
    if (!needed) throw e;
    initial = pages(Number(needed[1]));
    out = await emcc(`${w.id}-${malloc}`, { ...opts, flags: [...flags(malloc), `-sINITIAL_MEMORY=${initial}`] });
  }
  const bytes = new Uint8Array(fs.readFileSync(out.wasm));
  return { bytes, heapBase: exportedGlobal(bytes, '__heap_base'), minPages: memoryMinPages(bytes), maxPages: EMCC_MAX_BYTES / 65536 };
}

/**
 * What emcc's glue gives a program built as above, for the runner: `emscripten_resize_heap` with
 * the glue's own policy (Emscripten 3.1.6: grow to the request or to the memory's size plus 20%,
 * capped at the request plus 96 MiB, rounded up to 64 KiB; on failure retry with +10%, then +5%),
 * growing through the runner's counted `grow`, and `emscripten_memcpy_big`, the glue's memcpy of
 * 512 bytes and more. `ctx.memory` is the program's memory, `ctx.grow(pages)` the counted grow.
 */
export function emccHost(ctx) {
  const alignUp = (x, m) => x + ((m - (x % m)) % m);
  return {
    emscripten_resize_heap(requested) {
      requested >>>= 0;
      if (requested > EMCC_MAX_BYTES) return 0;
      const old = ctx.memory.buffer.byteLength;
      for (let cutDown = 1; cutDown <= 4; cutDown *= 2) {
        const overGrown = Math.min(old * (1 + 0.2 / cutDown), requested + 100663296);
        const size = Math.min(EMCC_MAX_BYTES, alignUp(Math.max(requested, overGrown), 65536));
        if (ctx.grow((size - old + 65535) >>> 16) !== -1) return 1;
      }
      return 0;
    },
    emscripten_memcpy_big(dest, src, num) {
      new Uint8Array(ctx.memory.buffer).copyWithin(dest, src, src + num);
    },
  };
}
