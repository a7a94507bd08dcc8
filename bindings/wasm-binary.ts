/**
 * A small reader and rewriter for the parts of the WebAssembly binary format the
 * bindings need: imports (with memory limits and function types), exports, the
 * start function, defined memories, constant global initialisers, active data
 * segments and the function/global names of the "name" custom section.
 *
 * It never interprets code. Rewrites work section by section and leave every
 * other byte untouched.
 *
 * @module
 */

import { RallocError } from "./errors.js";

/** The kinds of import and export entries, as the binary format numbers them. */
export type ExternKind = "function" | "table" | "memory" | "global" | "tag";

const KIND_BY_CODE: readonly ExternKind[] = ["function", "table", "memory", "global", "tag"];
const CODE_BY_KIND: Readonly<Record<ExternKind, number>> = { function: 0, table: 1, memory: 2, global: 3, tag: 4 };

/** A value type of a function signature, by its text-format name. */
export type ValueType = "i32" | "i64" | "f32" | "f64" | "v128" | "funcref" | "externref" | "other";

/** A function signature. */
export interface FuncType {
  params: ValueType[];
  results: ValueType[];
}

/** Limits of a memory or table. */
export interface Limits {
  /** Minimum size (pages for memories). */
  min: number;
  /** Maximum size, when declared. */
  max?: number;
  /** True for a shared memory. */
  shared: boolean;
  /** True for a 64-bit memory. */
  memory64: boolean;
}

/** One entry of the import section. */
export interface ImportEntry {
  module: string;
  name: string;
  kind: ExternKind;
  /** For functions: the signature, when the type section could be read. */
  type?: FuncType;
  /** For memories and tables: their limits. */
  limits?: Limits;
}

/** One entry of the export section. */
export interface ExportEntry {
  name: string;
  kind: ExternKind;
  /** Index in the kind's index space (imports first). */
  index: number;
}

/** An active data segment (its offset when it is a constant). */
export interface DataSegment {
  /** Start address, or undefined when the offset is not a constant. */
  offset?: number;
  length: number;
}

/** What {@link readModuleInfo} learns about a module. */
export interface ModuleInfo {
  imports: ImportEntry[];
  exports: ExportEntry[];
  /** Signatures of all functions, imported ones first (empty if the type section is not plain). */
  functionTypes: (FuncType | undefined)[];
  /** Number of functions the module defines (not imports). */
  definedFunctions: number;
  /** Limits of memories the module defines itself (not imports). */
  definedMemories: Limits[];
  /** Constant i32 initial values of globals, imported ones first (undefined when not a constant). */
  globalInitI32: (number | undefined)[];
  /** Index of the start function, if any. */
  start?: number;
  activeData: DataSegment[];
  /** Function names from the "name" section, by function index. */
  functionNames: Map<number, string>;
  /** Names of custom sections in order. */
  customSections: string[];
}

/** A raw section of a module. */
interface Section {
  id: number;
  /** Offset of the section's id byte. */
  start: number;
  /** Offset of the payload. */
  payloadStart: number;
  /** Offset just past the payload. */
  end: number;
  /** Name, for custom sections. */
  name?: string;
}

const utf8Decoder = new TextDecoder("utf-8", { fatal: true });
const utf8Encoder = new TextEncoder();

/** Reads LEB128 numbers and names from a byte array, failing with a clear message. */
class Reader {
  constructor(
    readonly bytes: Uint8Array,
    public pos: number,
    readonly end: number,
    readonly what: string,
  ) {}

  private fail(why: string): never {
    throw new RallocError("E_WASM_MALFORMED", `${this.what}: malformed WebAssembly (${why} at byte ${this.pos})`);
  }

  atEnd(): boolean {
    return this.pos >= this.end;
  }

  byte(): number {
    if (this.pos >= this.end) this.fail("unexpected end");
    return this.bytes[this.pos++]!;
  }

  u32(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      const b = this.byte();
      if (shift === 28 && (b & 0x70) !== 0) this.fail("u32 out of range");
      result |= (b & 0x7f) << shift;
      if ((b & 0x80) === 0) break;
      shift += 7;
      if (shift > 28) this.fail("LEB128 too long");
    }
    return result >>> 0;
  }

  /** Signed LEB128 up to 64 bits, returned as a number when it fits, else NaN. */
  sleb(maxBits: number): number {
    let result = 0n;
    let shift = 0n;
    let b: number;
    do {
      b = this.byte();
      result |= BigInt(b & 0x7f) << shift;
      shift += 7n;
      if (shift > BigInt(maxBits + 7)) this.fail("LEB128 too long");
    } while (b & 0x80);
    if (b & 0x40) result -= 1n << shift;
    return Number(result);
  }

  skip(n: number): void {
    if (this.pos + n > this.end) this.fail("unexpected end");
    this.pos += n;
  }

  name(): string {
    const len = this.u32();
    if (this.pos + len > this.end) this.fail("name runs past the end");
    let s: string;
    try {
      s = utf8Decoder.decode(this.bytes.subarray(this.pos, this.pos + len));
    } catch {
      this.fail("name is not UTF-8");
    }
    this.pos += len;
    return s;
  }

  /** Reads an import's or export's kind byte; `of` names which in the error for an unknown kind. O(1). */
  externKind(of: "import" | "export"): ExternKind {
    const code = this.byte();
    const kind = KIND_BY_CODE[code];
    if (kind === undefined) throw new RallocError("E_WASM_MALFORMED", `${this.what}: malformed WebAssembly (${of} kind ${code})`);
    return kind;
  }

  limits(): Limits {
    const flags = this.byte();
    if (flags > 7) this.fail(`unknown limits flags 0x${flags.toString(16)}`);
    const memory64 = (flags & 4) !== 0;
    const min = memory64 ? this.sleb(64) : this.u32();
    const max = flags & 1 ? (memory64 ? this.sleb(64) : this.u32()) : undefined;
    const limits: Limits = { min, shared: (flags & 2) !== 0, memory64 };
    if (max !== undefined) limits.max = max;
    return limits;
  }

  valueType(): ValueType {
    const b = this.byte();
    switch (b) {
      case 0x7f: return "i32";
      case 0x7e: return "i64";
      case 0x7d: return "f32";
      case 0x7c: return "f64";
      case 0x7b: return "v128";
      case 0x70: return "funcref";
      case 0x6f: return "externref";
      case 0x63:
      case 0x64:
        this.sleb(33); // (ref null? heaptype)
        return "other";
      default:
        if (b >= 0x69 && b <= 0x74) return "other"; // abstract heap type shorthands
        return this.fail(`unknown value type 0x${b.toString(16)}`);
    }
  }

  /**
   * Reads a constant expression up to its `end`. Returns its value when it is a
   * single i32.const, else undefined. Fails on an instruction a constant
   * expression cannot hold.
   */
  constExprI32(): number | undefined {
    let value: number | undefined;
    let count = 0;
    for (;;) {
      const op = this.byte();
      if (op === 0x0b) break;
      count++;
      switch (op) {
        case 0x41: value = this.sleb(32) | 0; break; // i32.const
        case 0x42: this.sleb(64); value = undefined; break; // i64.const
        case 0x43: this.skip(4); value = undefined; break; // f32.const
        case 0x44: this.skip(8); value = undefined; break; // f64.const
        case 0x23: this.u32(); value = undefined; break; // global.get
        case 0xd2: this.u32(); value = undefined; break; // ref.func
        case 0xd0: this.sleb(33); value = undefined; break; // ref.null
        case 0x6a: case 0x6b: case 0x6c: case 0x7c: case 0x7d: case 0x7e: value = undefined; break; // extended-const
        case 0xfd: this.u32(); this.skip(16); value = undefined; break; // v128.const
        default: return this.fail(`unsupported instruction 0x${op.toString(16)} in a constant expression`);
      }
    }
    return count === 1 ? value : undefined;
  }
}

/** Returns true when the bytes start with the WebAssembly magic and version 1. */
function isWasm(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && bytes[0] === 0x00 && bytes[1] === 0x61 && bytes[2] === 0x73 && bytes[3] === 0x6d &&
    bytes[4] === 0x01 && bytes[5] === 0x00 && bytes[6] === 0x00 && bytes[7] === 0x00;
}

/** Describes what bytes look like, for error messages about non-wasm input. */
function describeNonWasm(bytes: Uint8Array): string {
  if (bytes.length === 0) return "it is empty";
  if (bytes.length >= 4 && bytes[0] === 0x00 && bytes[1] === 0x61 && bytes[2] === 0x73 && bytes[3] === 0x6d) {
    const v = bytes.length >= 8 ? new DataView(bytes.buffer, bytes.byteOffset, 8).getUint32(4, true) : -1;
    if (v === 0x1000d) return "it is a WebAssembly component (layer 1), not a core module";
    return `it has the wasm magic but version ${v}`;
  }
  if (bytes.length >= 4 && bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c && bytes[3] === 0x46) return "it is an ELF file";
  if (bytes[0] === 0x28 /* ( */ || bytes[0] === 0x3b /* ; */) return "it looks like WebAssembly text (.wat); assemble it with wat2wasm first";
  const head = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, "0")).join(" ");
  return `it starts with bytes ${head}, not 00 61 73 6d`;
}

/**
 * Throws a {@link RallocError} (code `E_NOT_WASM`) unless the bytes are a core
 * WebAssembly module (version 1).
 *
 * @param what names the input in the message, e.g. "instantiateProgram: program".
 */
function assertWasm(bytes: Uint8Array, what: string): void {
  if (!isWasm(bytes)) {
    throw new RallocError("E_NOT_WASM", `${what} is not a WebAssembly module: ${describeNonWasm(bytes)}. ` +
      `Compile the C program with clang --target=wasm32-wasip1 (for example through @yowasp/clang).`);
  }
}

/** The module's sections in order, each checked to lie inside the bytes. O(sections). */
function readSections(bytes: Uint8Array, what: string): Section[] {
  assertWasm(bytes, what);
  const sections: Section[] = [];
  const r = new Reader(bytes, 8, bytes.length, what);
  while (!r.atEnd()) {
    const start = r.pos;
    const id = r.byte();
    const size = r.u32();
    const payloadStart = r.pos;
    const end = payloadStart + size;
    if (end > bytes.length) {
      throw new RallocError("E_WASM_MALFORMED", `${what}: malformed WebAssembly (section ${id} runs past the end of the file)`);
    }
    const section: Section = { id, start, payloadStart, end };
    if (id === 0) section.name = new Reader(bytes, payloadStart, end, what).name();
    sections.push(section);
    r.pos = end;
  }
  return sections;
}

/**
 * Reads the imports, exports and the other facts listed in {@link ModuleInfo}.
 *
 * @param bytes the module's binary.
 * @param what names the input in error messages.
 * @throws RallocError `E_NOT_WASM` or `E_WASM_MALFORMED`.
 */
export function readModuleInfo(bytes: Uint8Array, what = "module"): ModuleInfo {
  const info: ModuleInfo = {
    imports: [],
    exports: [],
    functionTypes: [],
    definedFunctions: 0,
    definedMemories: [],
    globalInitI32: [],
    activeData: [],
    functionNames: new Map(),
    customSections: [],
  };
  let types: (FuncType | undefined)[] = [];
  for (const s of readSections(bytes, what)) {
    const r = new Reader(bytes, s.payloadStart, s.end, what);
    switch (s.id) {
      case 0: {
        info.customSections.push(s.name!);
        r.name(); // the section's own name
        if (s.name === "name") readNames(r, info);
        break;
      }
      case 1: {
        types = readTypes(r);
        break;
      }
      case 2: {
        const n = r.u32();
        for (let i = 0; i < n; i++) {
          const module = r.name();
          const name = r.name();
          const kind = r.externKind("import");
          const entry: ImportEntry = { module, name, kind };
          if (kind === "function") {
            const t = types[r.u32()];
            if (t) entry.type = t;
            info.functionTypes.push(t);
          } else if (kind === "table") {
            r.valueType();
            entry.limits = r.limits();
          } else if (kind === "memory") {
            entry.limits = r.limits();
          } else if (kind === "global") {
            r.valueType();
            r.byte();
            info.globalInitI32.push(undefined);
          } else {
            r.byte();
            r.u32();
          }
          info.imports.push(entry);
        }
        break;
      }
      case 3: {
        const n = r.u32();
        info.definedFunctions = n;
        for (let i = 0; i < n; i++) info.functionTypes.push(types[r.u32()]);
        break;
      }
      case 5: {
        const n = r.u32();
        for (let i = 0; i < n; i++) info.definedMemories.push(r.limits());
        break;
      }
      case 6: {
        const n = r.u32();
        for (let i = 0; i < n; i++) {
          const vt = r.valueType();
          r.byte(); // mutability
          const v = r.constExprI32();
          info.globalInitI32.push(vt === "i32" ? v : undefined);
        }
        break;
      }
      case 7: {
        const n = r.u32();
        for (let i = 0; i < n; i++) {
          const name = r.name();
          const kind = r.externKind("export");
          info.exports.push({ name, kind, index: r.u32() });
        }
        break;
      }
      case 8: {
        info.start = r.u32();
        break;
      }
      case 11: {
        const n = r.u32();
        for (let i = 0; i < n; i++) {
          const flags = r.u32();
          if (flags === 1) {
            r.skip(r.u32());
            continue;
          }
          if (flags === 2) r.u32();
          else if (flags !== 0) throw new RallocError("E_WASM_MALFORMED", `${what}: malformed WebAssembly (data segment flags ${flags})`);
          const offset = r.constExprI32();
          const length = r.u32();
          r.skip(length);
          const seg: DataSegment = { length };
          if (offset !== undefined) seg.offset = offset >>> 0;
          info.activeData.push(seg);
        }
        break;
      }
      default:
        break;
    }
  }
  return info;
}

/** The type section's signatures (undefined for a type that is not a plain function type). O(types). */
function readTypes(r: Reader): (FuncType | undefined)[] {
  const types: (FuncType | undefined)[] = [];
  const n = r.u32();
  for (let i = 0; i < n; i++) {
    const form = r.byte();
    if (form !== 0x60) return types; // GC type forms: stop here, the rest stays unknown
    const params: ValueType[] = [];
    const results: ValueType[] = [];
    for (let k = r.u32(); k > 0; k--) params.push(r.valueType());
    for (let k = r.u32(); k > 0; k--) results.push(r.valueType());
    types.push({ params, results });
  }
  return types;
}

/** Reads the function names of a "name" section into info; a damaged one is skipped. O(names). */
function readNames(r: Reader, info: ModuleInfo): void {
  try {
    while (!r.atEnd()) {
      const id = r.byte();
      const size = r.u32();
      const end = r.pos + size;
      if (id === 1) {
        const sub = new Reader(r.bytes, r.pos, end, r.what);
        for (let n = sub.u32(); n > 0; n--) {
          const idx = sub.u32();
          info.functionNames.set(idx, sub.name());
        }
      }
      r.pos = end;
    }
  } catch {
    // A damaged name section is not an error for the module itself; keep what was read.
  }
}

/** Appends n as unsigned LEB128. O(1). */
function encodeU32(n: number, out: number[]): void {
  let v = n >>> 0;
  do {
    let b = v & 0x7f;
    v >>>= 7;
    if (v !== 0) b |= 0x80;
    out.push(b);
  } while (v !== 0);
}

/** Appends s as a wasm name: its UTF-8 length, then its bytes. O(length). */
function encodeName(s: string, out: number[]): void {
  const b = utf8Encoder.encode(s);
  encodeU32(b.length, out);
  for (const x of b) out.push(x);
}

/** The parts one after another, in a new array. O(total length). */
function concat(parts: Uint8Array[]): Uint8Array {
  const total = parts.reduce((a, p) => a + p.length, 0);
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** A section: its id, the payload's length, the payload. O(payload). */
function sectionBytes(id: number, payload: number[] | Uint8Array): Uint8Array {
  const head: number[] = [id];
  encodeU32(payload.length, head);
  return concat([Uint8Array.from(head), payload instanceof Uint8Array ? payload : Uint8Array.from(payload)]);
}

/** The new module and field name of an import, or undefined to keep it. */
export type ImportRename = (entry: { module: string; name: string; kind: ExternKind }) => { module: string; name: string } | undefined;

/**
 * Returns a copy of the module in which imports are renamed by `rename`; every
 * other byte of the import section and of the module is kept.
 */
export function renameImports(bytes: Uint8Array, rename: ImportRename, what = "module"): Uint8Array {
  return rewriteImports(bytes, { rename }, what);
}

/**
 * Returns a copy of the module whose imported memories ask for at least `pages`
 * initial pages (a maximum below that is raised with it: the caller checks the
 * maximum first); every other byte is kept. 32-bit memories only.
 */
export function raiseMemoryImportMin(bytes: Uint8Array, pages: number, what = "module"): Uint8Array {
  return rewriteImports(bytes, { memoryMin: pages }, what);
}

/**
 * Returns a copy of the module in which its one imported memory becomes a memory it defines,
 * with the same limits, its initial size raised to at least `pages` (a maximum below that
 * with it); every other byte is kept. Its index stays 0: the module must define no memory of
 * its own. 32-bit memories only.
 */
export function defineImportedMemory(bytes: Uint8Array, pages: number, what = "module"): Uint8Array {
  return rewriteImports(bytes, { memoryMin: pages, defineMemory: true }, what);
}

/** What rewriteImports changes: names, the least initial size of imported memories, and whether they become defined ones. */
interface ImportRewrite {
  rename?: ImportRename;
  memoryMin?: number;
  defineMemory?: boolean;
}

/** Section ids in the order a module must have them (custom sections, 0, may stand anywhere). */
const SECTION_ORDER = [1, 2, 3, 4, 5, 13, 6, 7, 8, 9, 12, 10, 11];

/**
 * Copies the module, rewriting its import section as `how` says; with `defineMemory`, the
 * memory imports leave it for a memory section placed where the order of sections wants it.
 * O(module size).
 */
function rewriteImports(bytes: Uint8Array, how: ImportRewrite, what: string): Uint8Array {
  const sections = readSections(bytes, what);
  const parts: Uint8Array[] = [bytes.subarray(0, 8)];
  const memories: number[][] = [];
  for (const s of sections) {
    if (s.id !== 2) {
      parts.push(bytes.subarray(s.start, s.end));
      continue;
    }
    const r = new Reader(bytes, s.payloadStart, s.end, what);
    const entries: number[] = [];
    const n = r.u32();
    for (let i = 0; i < n; i++) {
      const out = entries;
      const module = r.name();
      const name = r.name();
      const descStart = r.pos;
      const kind = r.externKind("import");
      let limits: Limits | undefined;
      if (kind === "function") r.u32();
      else if (kind === "table") { r.valueType(); r.limits(); }
      else if (kind === "memory") limits = r.limits();
      else if (kind === "global") { r.valueType(); r.byte(); }
      else { r.byte(); r.u32(); } // tag
      const desc: number[] = [];
      if (limits && how.memoryMin !== undefined && limits.min < how.memoryMin) {
        if (limits.memory64) throw new RallocError("E_BAD_OPTION", `${what}: cannot resize a 64-bit memory import`);
        desc.push(bytes[descStart]!, bytes[descStart + 1]!); // kind, then the limits' flags
        encodeU32(how.memoryMin, desc);
        if (limits.max !== undefined) encodeU32(Math.max(limits.max, how.memoryMin), desc);
      } else {
        for (let k = descStart; k < r.pos; k++) desc.push(bytes[k]!);
      }
      if (limits && how.defineMemory) {
        memories.push(desc.slice(1)); // a memory section entry is the limits alone
        continue;
      }
      const renamed = how.rename?.({ module, name, kind }) ?? { module, name };
      encodeName(renamed.module, out);
      encodeName(renamed.name, out);
      out.push(...desc);
    }
    const payload: number[] = [];
    encodeU32(n - memories.length, payload);
    parts.push(sectionBytes(2, [...payload, ...entries]));
  }
  if (memories.length === 0) return concat(parts);
  if (sections.some((s) => s.id === 5)) throw new RallocError("E_BAD_OPTION", `${what}: it defines a memory as well as importing one`);
  const payload: number[] = [];
  encodeU32(memories.length, payload);
  for (const m of memories) payload.push(...m);
  // The memory section goes before the first section that must follow it.
  const at = sections.findIndex((s) => s.id !== 0 && SECTION_ORDER.indexOf(s.id) > SECTION_ORDER.indexOf(5));
  parts.splice(at < 0 ? parts.length : at + 1, 0, sectionBytes(5, payload));
  return concat(parts);
}

/**
 * Returns a copy of the module with extra exports appended to its export
 * section (which is created if missing). Names must not collide with existing
 * exports.
 */
export function addExports(bytes: Uint8Array, extra: ExportEntry[], what = "module"): Uint8Array {
  if (extra.length === 0) return bytes;
  const sections = readSections(bytes, what);
  const info = readModuleInfo(bytes, what);
  const all = [...info.exports, ...extra];
  const seen = new Set<string>();
  for (const e of all) {
    if (seen.has(e.name)) throw new RallocError("E_EXPORT_CONFLICT", `${what}: an export named "${e.name}" already exists`);
    seen.add(e.name);
  }
  const payload: number[] = [];
  encodeU32(all.length, payload);
  for (const e of all) {
    encodeName(e.name, payload);
    payload.push(CODE_BY_KIND[e.kind]);
    encodeU32(e.index, payload);
  }
  const exportSection = sectionBytes(7, payload);
  const parts: Uint8Array[] = [bytes.subarray(0, 8)];
  let placed = false;
  // Known sections that must come after the export section.
  const after = new Set([8, 9, 10, 11, 12]);
  for (const s of sections) {
    if (s.id === 7) {
      parts.push(exportSection);
      placed = true;
      continue;
    }
    if (!placed && after.has(s.id)) {
      parts.push(exportSection);
      placed = true;
    }
    parts.push(bytes.subarray(s.start, s.end));
  }
  if (!placed) parts.push(exportSection);
  return concat(parts);
}

/** Formats a signature the way the text format writes it, for messages. */
export function formatFuncType(t: FuncType | undefined): string {
  if (!t) return "(unknown signature)";
  const p = t.params.length ? ` (param ${t.params.join(" ")})` : "";
  const r = t.results.length ? ` (result ${t.results.join(" ")})` : "";
  return `(func${p}${r})`;
}

/** True when two signatures are the same. */
export function sameFuncType(a: FuncType | undefined, b: FuncType | undefined): boolean {
  if (!a || !b) return true; // unknown: let the engine decide
  return a.params.join() === b.params.join() && a.results.join() === b.results.join();
}

/** Returns the export of the given name and kind, if any. */
export function findExport(info: ModuleInfo, name: string, kind: ExternKind): ExportEntry | undefined {
  return info.exports.find((e) => e.name === name && e.kind === kind);
}
