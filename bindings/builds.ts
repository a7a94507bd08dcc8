/**
 * The allocator builds shipped in the package (`build/<name>.wasm`) and custom
 * allocator modules.
 *
 * @module
 */

import { RallocError } from "./errors.js";
import { nodeBuiltin, requireNode } from "./platform.js";

/**
 * The allocator builds: `release` (speed), `small` (code size, the whole API),
 * `tiny` (the least code: the C malloc family only, docs/BUILDS.md), `debug`
 * (checks every call), `security` (hardened), `validate` (debug plus a
 * whole-heap check after every operation: slow, for hunting heap corruption),
 * `threads` (release's engine for wasm threads: a shared memory, a heap per
 * thread, docs/THREADS.md).
 */
export type BuildName = "release" | "small" | "tiny" | "debug" | "security" | "validate" | "threads";

/**
 * The builds for everyday use, in the order docs/BUILDS.md lists them. `validate`,
 * whose cost grows with the heap on every call, is left out (see {@link ALL_BUILD_NAMES}).
 */
export const BUILD_NAMES: readonly BuildName[] = ["release", "small", "debug", "security"];

/**
 * Builds that export the C malloc family, `ralloc_init` and the heap walk only:
 * no extended API, no OOM hook, no call counters (their stats come from a walk).
 * A {@link Heap} over one throws `E_UNSUPPORTED` from the calls it lacks.
 */
export const C_ONLY_BUILD_NAMES: readonly BuildName[] = ["tiny"];

/**
 * Builds that import a shared memory (`WebAssembly.Memory({ shared: true })`) and
 * serve several threads at once: a Heap per thread (worker), all over one memory.
 */
export const THREAD_BUILD_NAMES: readonly BuildName[] = ["threads"];

/** Every build name: {@link BUILD_NAMES}, {@link C_ONLY_BUILD_NAMES}, `validate` and {@link THREAD_BUILD_NAMES}. */
export const ALL_BUILD_NAMES: readonly BuildName[] = [...BUILD_NAMES, ...C_ONLY_BUILD_NAMES, "validate", ...THREAD_BUILD_NAMES];

/** Builds whose blocks carry a canary and a trailer and that report misuse (through `ralloc_hooks.report`). */
export const GUARDED_BUILDS: readonly BuildName[] = ["debug", "security", "validate"];

/** Bytes of a wasm module, as a host may hold them. */
export type WasmBytes = Uint8Array | ArrayBuffer | ArrayBufferView;

/** The package root (this file is dist/bindings/builds.js once compiled). */
const PACKAGE_ROOT = new URL("../../", import.meta.url);

/** Throws unless name is one of {@link ALL_BUILD_NAMES}. */
function checkBuildName(name: unknown, what: string): asserts name is BuildName {
  if (typeof name !== "string" || !(ALL_BUILD_NAMES as readonly string[]).includes(name)) {
    throw new RallocError("E_BAD_OPTION",
      `${what}: unknown build ${JSON.stringify(name)}; use one of ${ALL_BUILD_NAMES.join(", ")}`);
  }
}

/** The URL of `build/<name>.wasm` inside the package: a `file:` URL in Node, the package's own address in a page. */
export function buildUrl(name: BuildName): URL {
  checkBuildName(name, "buildUrl");
  return new URL(`build/${name}.wasm`, PACKAGE_ROOT);
}

/** The absolute path of `build/<name>.wasm` inside the package (Node only). */
export function buildPath(name: BuildName): string {
  checkBuildName(name, "buildPath");
  return requireNode<typeof import("node:url")>("node:url", "buildPath").fileURLToPath(buildUrl(name));
}

const buildBytesCache = new Map<BuildName, Uint8Array>();

/**
 * The bytes of `build/<name>.wasm`: read from disk in Node (once), or those
 * {@link loadBuild} fetched before (in a browser, where nothing can be read
 * synchronously).
 *
 * @throws RallocError `E_NO_BUILD` when the file is missing (run `node scripts/build.js`),
 * or, outside Node, when `loadBuild(name)` has not fetched it yet.
 */
export function readBuild(name: BuildName): Uint8Array {
  const cached = buildBytesCache.get(name);
  if (cached) return cached;
  const fs = nodeBuiltin<typeof import("node:fs")>("node:fs");
  if (fs === undefined) {
    checkBuildName(name, "readBuild");
    throw new RallocError("E_NO_BUILD",
      `the ${name} build of ralloc-wasm is not loaded: outside Node, \`await loadBuild(${JSON.stringify(name)})\` first (it fetches ${buildUrl(name).href})`);
  }
  const path = buildPath(name);
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(fs.readFileSync(path));
  } catch (e) {
    throw missingBuild(name, path, e);
  }
  buildBytesCache.set(name, bytes);
  return bytes;
}

/** The E_NO_BUILD error for a build that could not be read or fetched from `where`. */
function missingBuild(name: BuildName, where: string, e: unknown): RallocError {
  const code = (e as { code?: unknown }).code;
  const why = code === "ENOENT" || (e as { status?: unknown }).status === 404 ? "it does not exist" : String(e);
  return new RallocError("E_NO_BUILD",
    `the ${name} build of ralloc-wasm is missing (${where}: ${why}); build it with \`node scripts/build.js\` (npm run asbuild)`);
}

/** Options of {@link loadBuild}. */
export interface LoadBuildOptions {
  /** Where to fetch the build from instead of `build/<name>.wasm` next to these bindings (a page serving the package elsewhere). */
  url?: string | URL;
}

/**
 * Fetches (in a browser) or reads (in Node) `build/<name>.wasm` once, so that
 * `createHeap({ build: name })`, which is synchronous, finds it. In Node
 * `createHeap` reads the build itself; calling this first is harmless.
 *
 * @example
 * await loadBuild("debug");
 * const heap = createHeap({ build: "debug" });
 *
 * @throws RallocError `E_BAD_OPTION` for an unknown build, `E_NO_BUILD` when it cannot be fetched or read.
 */
export async function loadBuild(name: BuildName, options: LoadBuildOptions = {}): Promise<Uint8Array> {
  checkBuildName(name, "loadBuild");
  const cached = buildBytesCache.get(name);
  if (cached && options.url === undefined) return cached;
  if (options.url === undefined && nodeBuiltin("node:fs") !== undefined) return readBuild(name);
  const page = (globalThis as { location?: { href: string } }).location?.href;
  const url = options.url === undefined ? buildUrl(name) : new URL(options.url, page ?? PACKAGE_ROOT);
  let bytes: Uint8Array;
  try {
    const response = await fetch(url);
    if (!response.ok) throw Object.assign(new Error(`HTTP ${response.status} ${response.statusText}`), { status: response.status });
    bytes = new Uint8Array(await response.arrayBuffer());
  } catch (e) {
    throw missingBuild(name, url.href, e);
  }
  buildBytesCache.set(name, bytes);
  return bytes;
}

/**
 * Copies or views bytes given as a Uint8Array, ArrayBuffer or other
 * ArrayBufferView (a Node Buffer included) as a Uint8Array.
 *
 * @throws RallocError `E_BAD_OPTION` for anything else.
 */
export function toBytes(value: unknown, what: string): Uint8Array {
  if (value instanceof Uint8Array) return value;
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  const got = value === null ? "null" : typeof value === "object" ? (value.constructor?.name ?? "object") : typeof value;
  throw new RallocError("E_BAD_OPTION",
    `${what} must be the bytes of a wasm module (Uint8Array, Buffer or ArrayBuffer), got ${got}`);
}

/** Where an allocator comes from: a named build or custom module bytes. */
export interface AllocatorChoice {
  /** A build of ralloc-wasm (default `release`); ignored when `allocator` is given. */
  build?: BuildName;
  /**
   * A custom allocator module instead of a ralloc-wasm build: it must import its
   * memory and export at least `malloc` and `free` (C ABI). Used to run a program
   * on another allocator (AssemblyScript's TLSF, a benchmark's floor allocator)
   * the same way.
   */
  allocator?: WasmBytes;
}

/** Returns the allocator's bytes, a label for messages, and the build's name (undefined for a custom allocator). */
export function allocatorBytes(choice: AllocatorChoice, what: string): { bytes: Uint8Array; label: string; build: BuildName | undefined } {
  if (choice.allocator !== undefined) {
    return { bytes: toBytes(choice.allocator, `${what}: option allocator`), label: "the custom allocator", build: undefined };
  }
  const build = choice.build ?? "release";
  checkBuildName(build, `${what}: option build`);
  return { bytes: readBuild(build), label: `ralloc-wasm's ${build} build`, build };
}
