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
