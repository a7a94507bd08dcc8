// Compiling and running a small AssemblyScript program that uses ralloc-wasm/assembly, for the
// host tests (tests/cells.test.js) and the AssemblyScript example (examples/as/run.js uses its
// own copy of these few lines, so that the example stands alone).
import { fileURLToPath } from 'node:url';
import asc from 'assemblyscript/asc';

/** An asconfig.json with no options: without it, asc run from the repository would apply the
 *  package's own (the allocator builds' stub runtime and imported memory). */
const EMPTY_CONFIG = fileURLToPath(new URL('../cells/asconfig.json', import.meta.url));

/** Compiles the AssemblyScript file `entry` with extra asc options; resolves to its bytes. */
export async function compileAS(entry, options = []) {
  let binary;
  let stderr = '';
  const { error } = await asc.main([entry, '--config', EMPTY_CONFIG, '--outFile', 'out.wasm', ...options], {
    writeFile(name, contents) {
      if (name.endsWith('.wasm')) binary = contents;
    },
    stdout: { write() {} },
    stderr: { write(s) { stderr += s; } },
  });
  if (error) throw new Error(`asc ${entry} failed: ${error.message}\n${stderr}`);
  return binary;
}

/** Reads the AssemblyScript string at ptr in memory (UTF-16, its byte length just before it). */
export function readString(memory, ptr) {
  const bytes = new Uint32Array(memory.buffer)[(ptr - 4) >>> 2];
  return Buffer.from(memory.buffer, ptr, bytes).toString('utf16le');
}

/** What stopped an instance: the message `throw new Error(message)` passed to abort. */
export class Abort extends Error {}

/**
 * Instantiates a compiled program with the imports a module using ralloc-wasm/assembly needs:
 * env.abort (throws an Abort carrying the message) and the ralloc_hooks (no OOM retry; a misuse
 * report of the guarded builds throws). `imports` adds or replaces modules.
 */
export function instantiateAS(binary, imports = {}) {
  let memory;
  const instance = new WebAssembly.Instance(new WebAssembly.Module(binary), {
    env: {
      abort(msg, file) {
        throw new Abort(msg ? readString(memory, msg) : `abort in ${file ? readString(memory, file) : '?'}`);
      },
      trace() {},
      seed: () => 1,
    },
    ralloc_hooks: {
      oom: () => 0,
      report: (code, op, addr) => { throw new Abort(`ralloc report ${code} (op ${op}) at ${addr >>> 0}`); },
      event() {},
      entropy: () => 0,
    },
    ...imports,
  });
  memory = instance.exports.memory;
  return { exports: instance.exports, memory, string: (ptr) => readString(memory, ptr >>> 0) };
}
