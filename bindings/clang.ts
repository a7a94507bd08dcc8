/**
 * Compiling C for ralloc-wasm with `@yowasp/clang` (clang, wasm-ld and
 * wasi-libc running in Node; no system toolchain needed). These are the
 * recipes of docs/C-PROGRAMS.md as a function; the package `@yowasp/clang` must be installed.
 *
 * @module
 */

import { checkOptionNames, describe, optionNames } from "./checks.js";
import { RallocError } from "./errors.js";
import { filePathOf, requireNode } from "./platform.js";

/**
 * How the program gets its malloc:
 * - `import`: compiles `bindings/c/ralloc_import.c` in; the malloc family is imported
 *   from module `ralloc` (use with instantiateProgram or linkStatic). The program
 *   imports its memory and exports `__heap_base`.
 * - `env`: `-nostdlib -Wl,--allow-undefined`: undefined functions (malloc, free...)
 *   become imports from module `env`. No libc; exports must be listed (`exports`).
 * - `dlmalloc`: a plain wasi-libc program with wasi-libc's own dlmalloc (the baseline
 *   to compare with).
 * - `threads`: as `env`, for several threads on the `threads` build: `-matomics
 *   -mbulk-memory`, a shared imported memory of at most {@link THREADS_MAX_MEMORY}
 *   bytes, and the stack pointer and TLS set-up exported, so that each thread
 *   gets its own (runThreads does it). @yowasp/clang has no threads sysroot, so
 *   there is no libc: wasm-ld refuses a shared memory with wasi-libc's objects.
 */
export type MallocMode = "import" | "env" | "dlmalloc" | "threads";

/** The maximum memory of a program compiled in mode `threads` (a shared memory needs one): 1 GiB. */
export const THREADS_MAX_MEMORY = 1073741824;

/** Options of {@link compileC}. */
export interface CompileOptions {
  /** Source files by name (e.g. `{ "prog.c": text }`); every `.c` file is compiled. */
  sources: Record<string, string | Uint8Array>;
  /** Where malloc comes from (default `import`). */
  mode?: MallocMode;
  /** Optimization flag (default `-O2`). */
  opt?: string;
  /** Functions to export (`-Wl,--export=NAME`); needed in `env` mode, where there is no `main`. */
  exports?: string[];
  /** More clang arguments. */
  flags?: string[];
}

/** Every option of {@link compileC}, to refuse a misspelled one. */
const COMPILE_OPTIONS = optionNames<CompileOptions>({ sources: true, mode: true, opt: true, exports: true, flags: true });

/** What {@link compileC} produces. */
export interface CompileResult {
  /** The linked module. */
  wasm: Uint8Array;
  /** The complete clang command line that was run. */
  command: string[];
  /** Lines of wasm-ld's `--why-extract` report: which libc.a members were linked, and why. */
  whyExtract: string[];
  /** Compiler and linker warnings. */
  stderr: string;
}

/** Directory of the C side of the bindings (ralloc.h, ralloc_import.c): a path in Node, its URL elsewhere. */
export const C_DIR = filePathOf(new URL("../../bindings/c/", import.meta.url)) ?? new URL("../../bindings/c/", import.meta.url).href;

/** @yowasp/clang's exports; its typings omit runClang, which its bundle exports. */
type YowaspClang = typeof import("@yowasp/clang") & { runClang: import("@yowasp/clang").Command };
let clangPromise: Promise<YowaspClang> | undefined;

/** Loads @yowasp/clang and fetches its resources once, without printing progress. */
async function loadClang(): Promise<YowaspClang> {
  clangPromise ??= (async () => {
    let mod: YowaspClang;
    try {
      mod = (await import("@yowasp/clang")) as YowaspClang;
    } catch {
      throw new RallocError("E_TOOL", "compileC needs the npm package @yowasp/clang; install it with `npm install @yowasp/clang`");
    }
    // The first run fetches ~100 MB of resources; passing fetchProgress keeps it quiet
    // (runClang's own first step would print a progress line per chunk).
    await mod.runLLVM(["clang", "--version"], {}, { fetchProgress: () => {}, stdout: () => {}, stderr: () => {} });
    return mod;
  })();
  return clangPromise;
}

/** The clang arguments (after the sources) for a malloc mode. */
export function modeFlags(mode: MallocMode, exportsList: readonly string[] = []): string[] {
  const exportFlags = exportsList.map((e) => `-Wl,--export=${e}`);
  switch (mode) {
    case "import":
      return ["-Wl,--import-memory", "-Wl,--export=__heap_base", ...exportFlags];
    case "env":
      return ["-nostdlib", "-Wl,--no-entry", "-Wl,--allow-undefined", "-Wl,--import-memory", "-Wl,--export=__heap_base", ...exportFlags];
    case "dlmalloc":
      return exportFlags;
    case "threads":
      return ["-matomics", "-mbulk-memory", ...modeFlags("env", exportsList), "-Wl,--shared-memory", `-Wl,--max-memory=${THREADS_MAX_MEMORY}`,
        "-Wl,--export=__stack_pointer", ...["__wasm_init_tls", "__tls_size", "__tls_align"].map((n) => `-Wl,--export-if-defined=${n}`)];
  }
}

/**
 * Compiles and links C sources to a wasm32-wasip1 module with @yowasp/clang.
 *
 * @example
 * const { wasm } = await compileC({ sources: { "hello.c": src } }); // imports malloc from "ralloc"
 * const { instance, run } = await instantiateProgram(wasm);
 *
 * @throws RallocError `E_TOOL` with clang's messages when compiling fails.
 */
export async function compileC(options: CompileOptions): Promise<CompileResult> {
  if (typeof options !== "object" || options === null) {
    throw new RallocError("E_BAD_OPTION", `compileC: options must be { sources, ... }, got ${describe(options)}`);
  }
  checkOptionNames(options, COMPILE_OPTIONS, "compileC");
  const mode = options.mode ?? "import";
  if (!["import", "env", "dlmalloc", "threads"].includes(mode)) {
    throw new RallocError("E_BAD_OPTION", `compileC: option mode must be "import", "env", "dlmalloc" or "threads", got ${JSON.stringify(mode)}`);
  }
  const { readFileSync } = requireNode<typeof import("node:fs")>("node:fs", "compileC");
  const clang = await loadClang();
  const files: Record<string, string | Uint8Array> = { ...options.sources };
  const cFiles = Object.keys(options.sources).filter((f) => f.endsWith(".c"));
  if (cFiles.length === 0) throw new RallocError("E_BAD_OPTION", "compileC: option sources has no .c file");
  if (mode === "import") {
    files["ralloc_import.c"] = readFileSync(C_DIR + "ralloc_import.c");
    cFiles.push("ralloc_import.c");
  }
  files["ralloc.h"] ??= readFileSync(C_DIR + "ralloc.h");
  const out = "out.wasm";
  const command = [
    "clang", "--target=wasm32-wasip1", options.opt ?? "-O2", ...cFiles,
    ...modeFlags(mode, options.exports), ...(options.flags ?? []),
    "-Wl,--why-extract=why-extract.txt", "-o", out,
  ];
  const stderr: Uint8Array[] = [];
  let result: Record<string, unknown>;
  try {
    result = (await clang.runClang(command, files as Record<string, string | Uint8Array>, {
      stderr: (b: Uint8Array | null) => { if (b) stderr.push(b.slice()); },
      stdout: (b: Uint8Array | null) => { if (b) stderr.push(b.slice()); },
    })) as Record<string, unknown>;
  } catch (e) {
    const text = Buffer.concat(stderr).toString("utf8").trim();
    throw new RallocError("E_TOOL", `compileC: clang failed${text ? `:\n${text}` : `: ${String(e)}`}`);
  }
  const wasm = result[out];
  if (!(wasm instanceof Uint8Array)) throw new RallocError("E_TOOL", "compileC: clang produced no output");
  const why = result["why-extract.txt"];
  const whyText = why instanceof Uint8Array ? Buffer.from(why).toString("utf8") : typeof why === "string" ? why : "";
  return {
    wasm,
    command,
    whyExtract: whyText.split("\n").filter((l) => l.trim() !== ""),
    stderr: Buffer.concat(stderr).toString("utf8"),
  };
}
