// The bindings tests run against dist/ (what users import). This rebuilds it first when a
// bindings source is newer, then exposes the repo root, the bindings, and small test helpers.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import wabtInit from 'wabt';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

const out = `${ROOT}dist/bindings/index.js`;
const built = existsSync(out) ? statSync(out).mtimeMs : 0;
const newest = Math.max(...readdirSync(`${ROOT}bindings`).filter((f) => f.endsWith('.ts')).map((f) => statSync(`${ROOT}bindings/${f}`).mtimeMs));
if (newest > built) execFileSync(process.execPath, [`${ROOT}node_modules/typescript/bin/tsc`, '-p', `${ROOT}bindings/tsconfig.json`], { stdio: 'inherit' });

export const bindings = await import('../../dist/bindings/index.js');
export const wasmBinary = await import('../../dist/bindings/wasm-binary.js');

const wabt = await wabtInit();

/** Assembles a WAT module with wabt (optionally keeping debug names). */
export function wat(src, names = false) {
  const m = wabt.parseWat('test.wat', src, { bulk_memory: true, mutable_globals: true });
  try {
    m.validate();
    return m.toBinary({ write_debug_names: names }).buffer;
  } finally {
    m.destroy();
  }
}

/** Asserts that fn throws (or rejects with) a RallocError of `code` whose message matches every pattern. */
export async function rejectsWith(fn, code, ...patterns) {
  let error;
  try {
    await fn();
  } catch (e) {
    error = e;
  }
  assert.ok(error instanceof bindings.RallocError, `expected a RallocError ${code}, got ${error?.stack ?? error}`);
  assert.equal(error.code, code, `wrong code for: ${error.message}`);
  for (const p of patterns) assert.match(error.message, p);
  return error;
}
