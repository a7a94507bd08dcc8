#!/usr/bin/env node
// ralloc-wasm command line: link a C program with ralloc-wasm, run it on ralloc-wasm, or draw its heap.
import { readFileSync, writeFileSync } from "node:fs";
import { basename, extname } from "node:path";

/** The allocator builds, in docs/BUILDS.md's order (tests/bindings-cli.test.js checks them against the bindings). */
const BUILDS = ["release", "small", "tiny", "debug", "security", "validate", "threads"];

const BUILD_TEXT = `NAME is a build: ${BUILDS.join(", ")} (default release).
FILE.wasm is another allocator module, which imports its memory and exports the C malloc family.`;

const PROGRAM_TEXT = `The program must be compiled with -Wl,--import-memory and import its malloc: compile
bindings/c/ralloc_import.c into it (or link with -nostdlib -Wl,--allow-undefined).`;

/** Each command's usage: its synopsis, what it does, and its options (printed by `COMMAND --help`). */
const COMMANDS = {
  link: {
    synopsis: "ralloc-wasm link IN.wasm -o OUT.wasm [--build NAME] [--allocator FILE.wasm] [-O LEVEL] [--no-export-allocator] [--import-memory] [-g]",
    about: "merge a C program with ralloc-wasm into one optimized module (wasm-merge + wasm-opt; needs the npm package binaryen)",
    options: ["-o", "--build", "--allocator", "-O", "--no-export-allocator", "--import-memory", "-g", "--help"],
    text: `  -o OUT.wasm             where to write the module
  --build NAME            the allocator build to merge in
  --allocator FILE.wasm   another allocator module instead
  -O LEVEL                optimization after merging: 0-4, s or z (default 3); also -O0 ... -Oz
  --no-export-allocator   drop the allocator's exports (malloc, ralloc_stats...) from the result
  --import-memory         keep importing env.memory, for a host that shares its memory (default:
                          the module defines and exports its own, so any WASI host runs it)
  -g                      keep the name section (function names)

${BUILD_TEXT}
${PROGRAM_TEXT}`,
  },
  run: {
    synopsis: "ralloc-wasm run [--build NAME] [--allocator FILE.wasm] [--stats] PROG.wasm [ARGS...]",
    about: "run a WASI program with ralloc-wasm as its malloc (stdin/stdout/stderr and exit code pass through)",
    options: ["--build", "--allocator", "--stats", "--help"],
    text: `  --build NAME            the allocator build (a module made by link carries its own)
  --allocator FILE.wasm   another allocator module instead
  --stats                 print the allocator's figures to stderr at exit

A misuse the debug, validate or security build finds (a double free, an overflow...) prints its
message and exits with status 134, like abort(). Options come before PROG.wasm; what follows it
is the program's.
${BUILD_TEXT}
${PROGRAM_TEXT}`,
  },
  heapmap: {
    synopsis: "ralloc-wasm heapmap PROG.c|PROG.wasm [-o OUT.svg] [--build NAME] [--allocator FILE.wasm] [-- ARGS...]",
    about: "run a program (a .c file is compiled first) and draw its heap at exit, or at its misuse, as an SVG map",
    options: ["-o", "--build", "--allocator", "--help"],
    text: `  -o OUT.svg              where to write the map (default: PROG.heapmap.svg in the current directory)
  --build NAME            the allocator build
  --allocator FILE.wasm   another allocator module instead
  -- ARGS...              the program's arguments

A .c file is compiled with @yowasp/clang (an optional peer: npm install @yowasp/clang).
${BUILD_TEXT}`,
  },
};

/** The whole usage: every command's synopsis and what it does, then the other forms. */
const USAGE = `usage:
${Object.values(COMMANDS).map((c) => `  ${c.synopsis}\n      ${c.about}`).join("\n")}
  ralloc-wasm help [COMMAND]      this text, or a command's options (also COMMAND --help)
  ralloc-wasm --version           the version of ralloc-wasm

${BUILD_TEXT}
${PROGRAM_TEXT}`;

/** A command's usage, for `COMMAND --help` and after a mistake in its arguments. */
function commandUsage(command) {
  const c = COMMANDS[command];
  return `usage: ${c.synopsis}\n${c.about}\n\n${c.text}`;
}

/** Prints message and the usage (of `command`, or the whole) to stderr, and exits with status 2. */
function usage(message, command) {
  if (message) process.stderr.write(`ralloc-wasm: ${message}\n`);
  process.stderr.write((command ? commandUsage(command) : USAGE) + "\n");
  process.exit(2);
}

/** An unknown option of `command`: says which options it has. */
function unknownOption(command, option) {
  usage(`${command}: unknown option ${option}; its options are ${COMMANDS[command].options.join(", ")}`, command);
}

/** The package's version, from its package.json. */
function version() {
  return JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")).version;
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

/** Parses the options every command has (--build, --allocator; --help prints the command's usage and exits); returns the index after them, or -1. */
function commonOption(command, args, i, opts) {
  const a = args[i];
  if (a === "--help" || a === "-h") {
    process.stdout.write(commandUsage(command) + "\n");
    process.exit(0);
  }
  if (a === "--build") {
    if (i + 1 >= args.length || args[i + 1].startsWith("-")) usage(`--build needs a NAME: ${BUILDS.join(", ")}`, command);
    opts.build = args[i + 1];
    return i + 2;
  }
  if (a.startsWith("--build=")) { opts.build = a.slice(8); return i + 1; }
  if (a === "--allocator") {
    if (i + 1 >= args.length) usage("--allocator needs a FILE.wasm", command);
    opts.allocator = readInput(args[i + 1], "allocator");
    return i + 2;
  }
  return -1;
}

/** The optimization level of `-O LEVEL` or `-OLEVEL`, or a usage error saying which levels exist. */
function optimizeLevel(v, given) {
  if (v === undefined) usage("-O needs a LEVEL: 0-4, s or z", "link");
  if (!/^[0-4sz]$/.test(v)) usage(`${given}: LEVEL must be 0-4, s or z`, "link");
  return /[0-4]/.test(v) ? Number(v) : v;
}

/** What link says when it is done: the file, its size, and what is in it. */
function linkedLine(output, bytes, opts) {
  const allocator = opts.allocator ? "a custom allocator" : `ralloc-wasm's ${opts.build ?? "release"} build`;
  const memory = opts.importMemory ? "imports env.memory" : "defines its own memory";
  return `ralloc-wasm: wrote ${output} (${bytes.length.toLocaleString("en-US")} bytes: the program and ${allocator}; it ${memory})\n`;
}

/** `link`: merges a program with ralloc-wasm into one module (linkStatic) and says what it wrote. Cost: wasm-merge + wasm-opt. */
async function link(args) {
  const opts = {};
  let input, output;
  for (let i = 0; i < args.length;) {
    const a = args[i];
    const next = commonOption("link", args, i, opts);
    if (next >= 0) { i = next; continue; }
    if (a === "-o") {
      if (i + 1 >= args.length) usage("-o needs a file name", "link");
      output = args[i + 1];
      i += 2;
    } else if (/^-O./.test(a)) {
      opts.optimize = optimizeLevel(a.slice(2), a);
      i++;
    } else if (a === "-O") {
      opts.optimize = optimizeLevel(args[i + 1], `-O ${args[i + 1]}`);
      i += 2;
    } else if (a === "--no-export-allocator") {
      opts.exportAllocator = false;
      i++;
    } else if (a === "--import-memory") {
      opts.importMemory = true;
      i++;
    } else if (a === "-g") {
      opts.debugInfo = true;
      i++;
    } else if (a.startsWith("-")) {
      unknownOption("link", a);
    } else if (input === undefined) {
      input = a;
      i++;
    } else {
      usage(`link: more than one input (${input}, ${a})`, "link");
    }
  }
  if (input === undefined) usage("link: no input file", "link");
  if (output === undefined) usage("link: no output file (-o OUT.wasm)", "link");
  // linkEmscripten is linkStatic after renaming the other names Emscripten's libraries call
  // malloc by (emscripten_builtin_malloc, ...); programs that import none of them are unchanged.
  // (the command's default stays linkStatic's: the module defines its own memory; an
  // Emscripten program whose glue makes the memory takes --import-memory)
  const { linkEmscripten } = await bindings();
  const out = await linkEmscripten(readInput(input, "program"), { importMemory: false, ...opts });
  writeFileSync(output, out);
  process.stderr.write(linkedLine(output, out, opts));
}

/** `run`: runs a WASI program on ralloc-wasm; its exit code becomes ours. */
async function run(args) {
  const opts = {};
  let showStats = false;
  let i = 0;
  for (; i < args.length;) {
    const a = args[i];
    const next = commonOption("run", args, i, opts);
    if (next >= 0) { i = next; continue; }
    if (a === "--stats") { showStats = true; i++; continue; }
    if (a === "--") { i++; break; }
    if (a.startsWith("-")) unknownOption("run", a);
    break;
  }
  if (i >= args.length) usage("run: no program (PROG.wasm)", "run");
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
    const next = commonOption("heapmap", args, i, opts);
    if (next >= 0) { i = next; continue; }
    if (a === "--") { i++; break; }
    if (a === "-o") {
      if (i + 1 >= args.length) usage("-o needs a file name", "heapmap");
      output = args[i + 1];
      i += 2;
    } else if (a.startsWith("-")) {
      unknownOption("heapmap", a);
    } else if (input === undefined) {
      input = a;
      i++;
    } else {
      usage(`heapmap: more than one program (${input}, ${a}); give the program's arguments after --`, "heapmap");
    }
  }
  if (input === undefined) usage("heapmap: no program (PROG.c or PROG.wasm)", "heapmap");
  const name = basename(input);
  output ??= `${name.slice(0, name.length - extname(name).length) || name}.heapmap.svg`;
  const wasm = await loadProgram(input);
  const { instantiateProgram } = await bindings();
  const { walkHeap, spans } = await bindings("walk");
  const { drawHeapMap, heapFigures } = await bindings("heapmap");
  const program = await instantiateProgram(wasm, { ...opts, args: [name, ...args.slice(i)], env: {} });
  let code;
  let misuse;
  try {
    code = program.run();
  } catch (e) {
    if (e?.code !== "E_MISUSE") throw e;
    misuse = e;
  }
  // The map is drawn even after a misuse (the report comes before the heap is changed), with
  // the block concerned marked and the message printed on it.
  const heap = program.heap;
  const build = opts.allocator ? "custom allocator" : opts.build ?? "release";
  const mapInput = {
    layout: heap.layout(),
    blocks: walkHeap(heap.exports),
    spans: spans(heap.exports),
    title: `${name} on ralloc-wasm (${build}), ${misuse ? "at the misuse" : `at exit (status ${code})`}`,
  };
  if (misuse?.report) mapInput.misuse = { address: misuse.report.address, message: misuse.message };
  writeFileSync(output, drawHeapMap(mapInput));
  const f = heapFigures(mapInput);
  const slack = f.pages > 0 ? `; page slack: ${f.slackSlots} empty object slot${f.slackSlots === 1 ? "" : "s"} in ${f.pages} page${f.pages === 1 ? "" : "s"}` : "";
  process.stderr.write(`ralloc-wasm: wrote ${output} (${f.usedBlocks} blocks in use, ${f.freeBlocks + f.cachedBlocks} free or cached${slack})\n`);
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
      if (rest[0] !== undefined && !(rest[0] in COMMANDS)) usage(`help: unknown command ${JSON.stringify(rest[0])}; the commands are ${Object.keys(COMMANDS).join(", ")}`);
      process.stdout.write((rest[0] === undefined ? USAGE : commandUsage(rest[0])) + "\n");
      return;
    case "--version":
    case "-V":
    case "version":
      process.stdout.write(`ralloc-wasm ${version()}\n`);
      return;
    case undefined: return usage("no command");
    default: return usage(`unknown command ${JSON.stringify(command)}; the commands are ${Object.keys(COMMANDS).join(", ")}, help and --version`);
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
