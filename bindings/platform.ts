/**
 * Where the bindings run: Node's built-in modules reached without importing
 * them, so that the package's main entry loads in a browser page as it loads
 * in Node. Code that needs Node (reading a build from disk, WASI, temporary
 * files, running wasm-merge or clang) asks for the module when it runs, through
 * `process.getBuiltinModule` (Node 20.16 and later); elsewhere it is told
 * plainly that it needs Node.
 *
 * @module
 */

import { RallocError } from "./errors.js";

/** What of Node's `process` these bindings read when it exists. */
interface NodeProcess {
  getBuiltinModule?(id: string): unknown;
}

/** Node's built-in module `id` (such as `"node:fs"`) when running in Node, else undefined. O(1). */
export function nodeBuiltin<T>(id: string): T | undefined {
  const proc = (globalThis as { process?: NodeProcess }).process;
  return typeof proc?.getBuiltinModule === "function" ? (proc.getBuiltinModule(id) as T | undefined) : undefined;
}

/**
 * Node's built-in module `id`, or `E_UNSUPPORTED` saying that `who` needs Node
 * (in a browser, or in a Node older than 20.16), and what to do instead (`hint`). O(1).
 */
export function requireNode<T>(id: string, who: string, hint = ""): T {
  const mod = nodeBuiltin<T>(id);
  if (mod === undefined) {
    throw new RallocError("E_UNSUPPORTED",
      `${who} needs Node.js (${id}, reached through process.getBuiltinModule: Node 20.16 or later)${hint ? `; ${hint}` : ""}`);
  }
  return mod;
}

/** The file path of a `file:` URL in Node (as Node's stack traces and fs name it), else undefined. O(url). */
export function filePathOf(url: URL): string | undefined {
  if (url.protocol !== "file:") return undefined;
  return nodeBuiltin<typeof import("node:url")>("node:url")?.fileURLToPath(url);
}
