#!/usr/bin/env node
// Builds every asconfig target into build/<target>.wasm and checks each against the module
// contract: it imports its memory as env.memory (and nothing but optional hooks), writes
// nothing into memory at instantiation (no data segments, no start function), and exports the
// whole C ABI. Usage: node scripts/build.js [target ...]
import { readFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { createRequire } from "node:module";
import binaryen from "binaryen";

const require = createRequire(import.meta.url);
const root = new URL("..", import.meta.url).pathname;
const config = JSON.parse(readFileSync(root + "asconfig.json", "utf8"));
const asc = require.resolve("assemblyscript/bin/asc.js");

export const REQUIRED_EXPORTS = [
  "malloc", "free", "realloc", "calloc", "aligned_alloc", "posix_memalign", "memalign",
  "malloc_usable_size", "sbrk", "ralloc_init", "ralloc_check", "ralloc_stats",
];
/** Function imports a build may have: optional host hooks, all of which may be no-ops. */
export const HOOK_MODULE = "ralloc_hooks";

/** Returns the list of contract violations of a built module (empty when it complies). */
export function contractViolations(bytes) {
  const problems = [];
  const mod = new WebAssembly.Module(bytes);
  for (const imp of WebAssembly.Module.imports(mod)) {
    const isMemory = imp.kind === "memory" && imp.module === "env" && imp.name === "memory";
    const isHook = imp.kind === "function" && imp.module === HOOK_MODULE;
    if (!isMemory && !isHook) problems.push(`unexpected import ${imp.module}.${imp.name} (${imp.kind})`);
  }
  if (!WebAssembly.Module.imports(mod).some((i) => i.kind === "memory")) problems.push("does not import env.memory");
  const exported = new Set(WebAssembly.Module.exports(mod).map((e) => e.name));
  for (const name of REQUIRED_EXPORTS) if (!exported.has(name)) problems.push(`missing export ${name}`);
  const b = binaryen.readBinary(bytes);
  try {
    if (b.getNumMemorySegments() !== 0) problems.push(`${b.getNumMemorySegments()} data segment(s): it would write into a shared memory`);
    if (/^\s*\(start /m.test(b.emitText())) problems.push("has a start function");
  } finally {
    b.dispose();
  }
  return problems;
}

function build(target) {
  if (!config.targets[target]) throw new Error(`no asconfig target named "${target}"`);
  // asconfig.json has no top-level "entries": each target names its own (tiny's differs)
  const entry = config.targets[target].entry;
  if (!entry) throw new Error(`asconfig target "${target}" names no "entry" file`);
  execFileSync(process.execPath, [asc, entry, "--config", "asconfig.json", "--target", target], { cwd: root, stdio: "inherit" });
  const file = root + config.targets[target].outFile;
  const bytes = readFileSync(file);
  const problems = contractViolations(bytes);
  if (problems.length) throw new Error(`${file} breaks the module contract:\n  ${problems.join("\n  ")}`);
  console.log(`built ${config.targets[target].outFile} (${bytes.length} bytes)`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const targets = process.argv.slice(2);
  for (const t of targets.length ? targets : Object.keys(config.targets)) build(t);
}
