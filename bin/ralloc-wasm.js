#!/usr/bin/env node
// ralloc-wasm command line: link a C program with ralloc-wasm, run it on ralloc-wasm, or draw its heap.
import { readFileSync, writeFileSync } from "node:fs";
import { basename, extname } from "node:path";

const USAGE = `usage:
  ralloc-wasm link IN.wasm -o OUT.wasm [--build NAME] [--allocator FILE.wasm] [-O LEVEL] [--no-export-allocator] [-g]
      merge a C program with ralloc-wasm into one optimized module (wasm-merge + wasm-opt)
  ralloc-wasm run [--build NAME] [--allocator FILE.wasm] [--stats] PROG.wasm [ARGS...]
      run a WASI program with ralloc-wasm as its malloc (stdin/stdout/stderr and exit code pass through)
  ralloc-wasm heapmap PROG.c|PROG.wasm [-o OUT.svg] [--build NAME] [-- ARGS...]
      run a program (a .c file is compiled first) and draw its heap at exit as an SVG map
      (default OUT: PROG.heapmap.svg in the current directory)
  ralloc-wasm help

NAME is one of release (default), small, debug, security, validate. LEVEL is 0-4, s or z (default 3).
A misuse the debug, validate or security build finds (a double free, an overflow...) prints its
message and exits with status 134, like abort().
The program must be compiled with -Wl,--import-memory and import its malloc: compile
bindings/c/ralloc_import.c into it (or link with -nostdlib -Wl,--allow-undefined).`;

/** Prints message and the usage to stderr, and exits with status 2. */
function usage(message) {
  if (message) process.stderr.write(`ralloc-wasm: ${message}\n`);
  process.stderr.write(USAGE + "\n");
  process.exit(2);
}

// node:wasi announces itself as experimental on every run; the CLI's users did not ask for that.
const emitWarning = process.emitWarning;
process.emitWarning = function (warning, ...rest) {
  const text = typeof warning === "string" ? warning : warning?.message;
  if (typeof text === "string" && text.startsWith("WASI is an experimental feature")) return;
  return emitWarning.call(process, warning, ...rest);
};

/** Imports a module of the built bindings (dist/bindings/NAME.js), or says how to build them. */
async function bindings(name = "index") {
  try {
    return await import(`../dist/bindings/${name}.js`);
  } catch (e) {
    if (e?.code === "ERR_MODULE_NOT_FOUND") {
      process.stderr.write("ralloc-wasm: the bindings are not built; run `npm run build:bindings` (or `npm install`, which runs it)\n");
      process.exit(1);
    }
    throw e;
  }
}

/** Reads a file the command was given, or exits with status 1 saying why it cannot. */
function readInput(path, what) {
  try {
    return readFileSync(path);
  } catch (e) {
    process.stderr.write(`ralloc-wasm: cannot read ${what} ${path}: ${e.code === "ENOENT" ? "no such file" : e.message}\n`);
    process.exit(1);
  }
}

/** Parses the allocator options shared by link and run; returns the index after them. */
function allocatorOption(args, i, opts) {
  const a = args[i];
  if (a === "--build") {
    if (i + 1 >= args.length) usage("--build needs a NAME");
    opts.build = args[i + 1];
    return i + 2;
  }
  if (a.startsWith("--build=")) { opts.build = a.slice(8); return i + 1; }
  if (a === "--allocator") {
    if (i + 1 >= args.length) usage("--allocator needs a FILE");
    opts.allocator = readInput(args[i + 1], "allocator");
    return i + 2;
  }
  return -1;
}

/** `link`: merges a program with ralloc-wasm into one module (linkStatic). Cost: wasm-merge + wasm-opt. */
async function link(args) {
  const opts = {};
  let input, output;
  for (let i = 0; i < args.length;) {
    const a = args[i];
    const next = allocatorOption(args, i, opts);
    if (next >= 0) { i = next; continue; }
    if (a === "-o") {
      if (i + 1 >= args.length) usage("-o needs a file name");
      output = args[i + 1];
      i += 2;
    } else if (/^-O[0-4sz]$/.test(a)) {
      opts.optimize = /[0-4]/.test(a[2]) ? Number(a[2]) : a[2];
      i++;
    } else if (a === "-O") {
      const v = args[i + 1];
      if (v === undefined || !/^[0-4sz]$/.test(v)) usage("-O needs a level: 0-4, s or z");
      opts.optimize = /[0-4]/.test(v) ? Number(v) : v;
      i += 2;
    } else if (a === "--no-export-allocator") {
      opts.exportAllocator = false;
      i++;
    } else if (a === "-g") {
      opts.debugInfo = true;
      i++;
    } else if (a.startsWith("-")) {
      usage(`link: unknown option ${a}`);
    } else if (input === undefined) {
      input = a;
      i++;
    } else {
      usage(`link: more than one input (${input}, ${a})`);
    }
  }
  if (input === undefined) usage("link: no input file");
  if (output === undefined) usage("link: no output file (-o OUT.wasm)");
  // linkEmscripten is linkStatic after renaming the other names Emscripten's libraries call
  // malloc by (emscripten_builtin_malloc, ...); programs that import none of them are unchanged.
  const { linkEmscripten } = await bindings();
  const out = await linkEmscripten(readInput(input, "program"), opts);
  writeFileSync(output, out);
}

/** `run`: runs a WASI program on ralloc-wasm; its exit code becomes ours. */
async function run(args) {
  const opts = {};
  let showStats = false;
  let i = 0;
  for (; i < args.length;) {
    const a = args[i];
    const next = allocatorOption(args, i, opts);
    if (next >= 0) { i = next; continue; }
    if (a === "--stats") { showStats = true; i++; continue; }
    if (a === "--") { i++; break; }
    if (a.startsWith("-")) usage(`run: unknown option ${a}`);
    break;
  }
  if (i >= args.length) usage("run: no program (PROG.wasm)");
  const program = args[i];
  const { instantiateProgram } = await bindings();
  const wasm = readInput(program, "program");
  const { run: start, heap } = await instantiateProgram(wasm, {
    ...opts,
    args: [basename(program), ...args.slice(i + 1)],
    env: {},
  });
  const code = start();
  if (showStats && typeof heap.exports.ralloc_stats === "function") {
    const s = heap.stats();
    process.stderr.write(
      `ralloc-wasm: ${s.mallocCalls} allocations, ${s.freeCalls} frees, ${s.reallocCalls} reallocs; ` +
      `${s.liveBlocks} blocks (${s.bytesInUse} bytes) live, peak ${s.peakBytesHeld} bytes; ` +
      `heap ${s.bytesFromMemory} bytes from memory at ${s.heapBase}, ${s.growCalls} memory.grow calls; check ${heap.check() === 0 ? "ok" : "FAILED " + heap.check()}\n`);
  }
  process.exitCode = code;
}

/** Reads a program for run or heapmap: a .wasm as is, a .c file compiled with @yowasp/clang. */
async function loadProgram(path) {
  const bytes = readInput(path, "program");
  if (extname(path) !== ".c") return bytes;
  const { compileC } = await bindings();
  const { wasm } = await compileC({ sources: { [basename(path)]: bytes } });
  return wasm;
}

/** `heapmap`: runs a program (compiling a .c first) and writes the SVG map of its heap at exit or at its misuse. Cost: the run, plus a walk and a map proportional to the heap's blocks. */
async function heapmap(args) {
  const opts = {};
  let input, output;
  let i = 0;
  for (; i < args.length;) {
    const a = args[i];
    const next = allocatorOption(args, i, opts);
    if (next >= 0) { i = next; continue; }
    if (a === "--") { i++; break; }
    if (a === "-o") {
      if (i + 1 >= args.length) usage("-o needs a file name");
      output = args[i + 1];
      i += 2;
    } else if (a.startsWith("-")) {
      usage(`heapmap: unknown option ${a}`);
    } else if (input === undefined) {
      input = a;
      i++;
    } else {
      usage(`heapmap: more than one program (${input}, ${a}); give the program's arguments after --`);
    }
  }
  if (input === undefined) usage("heapmap: no program (PROG.c or PROG.wasm)");
  const name = basename(input);
  output ??= `${name.slice(0, name.length - extname(name).length) || name}.heapmap.svg`;
  const wasm = await loadProgram(input);
  const { instantiateProgram } = await bindings();
  const { walkHeap, spans, isLive } = await bindings("walk");
  const { drawHeapMap } = await bindings("heapmap");
  const program = await instantiateProgram(wasm, { ...opts, args: [name, ...args.slice(i)], env: {} });
  let code;
  let misuse;
  try {
    code = program.run();
  } catch (e) {
    if (e?.code !== "E_MISUSE") throw e;
    misuse = e;
  }
  // The map is drawn even after a misuse: the report comes before the heap is changed.
  const heap = program.heap;
  const build = opts.allocator ? "custom allocator" : opts.build ?? "release";
  const blocks = walkHeap(heap.exports);
  const svg = drawHeapMap({
    layout: heap.layout(),
    blocks,
    spans: spans(heap.exports),
    title: `${name} on ralloc-wasm (${build}), ${misuse ? "at the misuse" : `at exit (status ${code})`}`,
  });
  writeFileSync(output, svg);
  const used = blocks.filter(isLive).length; // the program's blocks and objects, not ralloc's pages
  const free = blocks.filter((b) => b.state !== "used").length;
  process.stderr.write(`ralloc-wasm: wrote ${output} (${used} blocks in use, ${free} free or cached)\n`);
  if (misuse) throw misuse;
  process.exitCode = code;
}

/** Dispatches the command line to its command. */
async function main(argv) {
  const [command, ...rest] = argv;
  switch (command) {
    case "link": return link(rest);
    case "run": return run(rest);
    case "heapmap": return heapmap(rest);
    case "help":
    case "--help":
    case "-h":
      process.stdout.write(USAGE + "\n");
      return;
    case undefined: return usage("no command");
    default: return usage(`unknown command ${JSON.stringify(command)}`);
  }
}

main(process.argv.slice(2)).catch((e) => {
  if (e?.name === "RallocError" && e.code === "E_MISUSE") {
    // A misuse stops the program like abort(): its message, then status 134 (128 + SIGABRT).
    process.stderr.write(`${e.message}\n`);
    process.exitCode = 134;
  } else if (e?.name === "RallocError") {
    process.stderr.write(`ralloc-wasm: ${e.message}\n`);
    process.exitCode = 1;
  } else {
    process.stderr.write(`ralloc-wasm: ${e?.stack ?? e}\n`);
    process.exitCode = 1;
  }
});
