// Host-side loader for the ralloc-wasm builds (build/<name>.wasm), shared by the node:test suites
// and scripts/soak.js.
//
// Every build imports its memory as `env.memory`. Any other function import is an optional hook;
// we supply a no-op that only records the call (see Ralloc#hookCalls) so a test can report it,
// except `ralloc_hooks.report`: the guarded builds (debug, security) call it on a misuse and trap
// if it returns, so it throws a MisuseReport carrying the exact message docs/DEBUGGING.md lists
// (formatted here from the contract, independently of the JS bindings).
// All pointer and size results are unsigned 32-bit: every wrapper below returns `>>> 0`.
import { readFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const PAGE = 65536;
/** Builds with the whole API: the C ABI, the extended API, the OOM hook and counted stats. */
export const BUILDS = Object.freeze(['release', 'small', 'debug', 'security']);
/** Builds that export the C ABI only (with ralloc_init/check/stats/walk, whose stats come from a
 *  walk: no call counters, the peak is the bytes held now). */
export const C_ONLY_BUILDS = Object.freeze(['tiny']);
/** Every build the C ABI tests run on. */
export const C_ABI_BUILDS = Object.freeze([...BUILDS, ...C_ONLY_BUILDS]);
export const BUILD_DIR = fileURLToPath(new URL('../../build/', import.meta.url));
export const EINVAL = 28;
export const ENOMEM = 48;
export const SBRK_FAIL = 0xffffffff;
export const STATS_SIZE = 64;
export const STATS_VERSION = 1;
/** Builds that stop on misuse with a report (ralloc_hooks.report) instead of ignoring it. */
export const GUARDED_BUILDS = Object.freeze(['debug', 'security']);

export function buildPath(name) {
  return `${BUILD_DIR}${name}.wasm`;
}

/** Builds whose .wasm file exists right now. */
export function availableBuilds() {
  return C_ABI_BUILDS.filter((b) => existsSync(buildPath(b)));
}

/** Builds named by the contract whose .wasm file is missing (a test reports these, it does not hide them). */
export function missingBuilds() {
  return C_ABI_BUILDS.filter((b) => !existsSync(buildPath(b)));
}

const moduleCache = new Map();

/** The compiled WebAssembly.Module of a build (compiled once per process). */
export function compileBuild(name) {
  let mod = moduleCache.get(name);
  if (!mod) {
    mod = new WebAssembly.Module(readFileSync(buildPath(name)));
    moduleCache.set(name, mod);
  }
  return mod;
}

/**
 * Instantiate a build over a fresh memory (or `opts.memory`).
 * opts.initial / opts.maximum: pages of the fresh memory (defaults 1 and 1024).
 * opts.heapBase: if given, ralloc_init(heapBase) is called and must return 0.
 * opts.scratch: an address the host may use for ralloc_stats / posix_memalign out-pointers; by
 *   default 64 when the memory below the heap is known to be free (heapBase >= 256, or no
 *   ralloc_init and at least one initial page, since the heap then starts at the end of memory).
 * opts.hooks: { "module.name": fn } to override the recording no-op of a function import (the
 *   entropy hook's default fills the bytes asked for with random ones, as a host would).
 */
export function createInstance(name, opts = {}) {
  return new Ralloc(name, opts);
}

export class Ralloc {
  constructor(name, opts = {}) {
    const { initial = 1, maximum = 1024, heapBase, hooks = {} } = opts;
    this.name = name;
    this.module = compileBuild(name);
    this.memory =
      opts.memory ?? new WebAssembly.Memory(maximum === undefined || maximum === null ? { initial } : { initial, maximum });
    this.maximumPages = opts.memory ? opts.maximumPages : maximum;
    this.hookCalls = [];
    const imports = {};
    for (const imp of WebAssembly.Module.imports(this.module)) {
      imports[imp.module] ??= {};
      if (imp.module === 'env' && imp.name === 'memory') {
        imports.env.memory = this.memory;
      } else if (imp.kind === 'function') {
        const key = `${imp.module}.${imp.name}`;
        const calls = this.hookCalls;
        const record = (...args) => {
          if (calls.length < 1000) calls.push({ hook: key, args });
        };
        imports[imp.module][imp.name] =
          hooks[key] ??
          (key === 'ralloc_hooks.report'
            ? (...args) => {
              record(...args);
              throw new MisuseReport(args.map((a) => a >>> 0), this.exports);
            }
            : key === 'ralloc_hooks.entropy'
              ? (ptr, len) => { // as a real host does: random bytes (the security build's key)
                record(ptr, len);
                crypto.getRandomValues(new Uint8Array(this.memory.buffer, ptr >>> 0, len >>> 0));
                return 1;
              }
              : record);
      } else {
        throw new Error(`${name}.wasm has an import the contract does not allow: ${imp.module}.${imp.name} (${imp.kind})`);
      }
    }
    this.instance = new WebAssembly.Instance(this.module, imports);
    const e = (this.exports = this.instance.exports);
    this._malloc = e.malloc;
    this._free = e.free;
    this._realloc = e.realloc;
    this._calloc = e.calloc;
    this._aligned = e.aligned_alloc;
    this._pm = e.posix_memalign;
    this._memalign = e.memalign;
    this._usable = e.malloc_usable_size;
    this._buf = null;
    this._u8 = null;
    this._dv = null;
    this.heapBase = heapBase;
    if (heapBase !== undefined) {
      const rc = this.init(heapBase);
      if (rc !== 0) throw new Error(`${name}: ralloc_init(${heapBase}) on a fresh instance returned ${rc}, expected 0`);
    }
    if (opts.scratch !== undefined) this.scratch = opts.scratch;
    else if (heapBase !== undefined ? heapBase >= 256 : this.memory.buffer.byteLength >= PAGE) this.scratch = 64;
    else this.scratch = null;
  }

  // ---- C ABI, unsigned results -------------------------------------------------------------
  malloc(n) { return this._malloc(n) >>> 0; }
  free(p) { this._free(p); }
  realloc(p, n) { return this._realloc(p, n) >>> 0; }
  calloc(n, size) { return this._calloc(n, size) >>> 0; }
  alignedAlloc(align, n) { return this._aligned(align, n) >>> 0; }
  posixMemalign(out, align, n) { return this._pm(out, align, n) >>> 0; }
  memalign(align, n) { return this._memalign(align, n) >>> 0; }
  usableSize(p) { return this._usable(p) >>> 0; }
  /** sbrk(delta) with delta a signed 32-bit value; returns the old break or 0xFFFFFFFF. */
  sbrk(delta) { return this.exports.sbrk(delta | 0) >>> 0; }
  init(heapBase) { return this.exports.ralloc_init(heapBase) >>> 0; }
  check() { return this.exports.ralloc_check() >>> 0; }
  statsSize() { return this.exports.ralloc_stats(0) >>> 0; }

  /** Read the stats struct, written by ralloc_stats at `at` (default: the scratch area). */
  stats(at = this.scratch) {
    if (at === null || at === undefined) throw new Error('stats(): no scratch address for this instance; pass one');
    const size = this.exports.ralloc_stats(at) >>> 0;
    const dv = this.view();
    const u64 = (o) => Number(dv.getBigUint64(at + o, true));
    return {
      returned: size,
      size: dv.getUint32(at + 0, true),
      version: dv.getUint32(at + 4, true),
      bytesInUse: dv.getUint32(at + 8, true),
      peakBytesHeld: dv.getUint32(at + 12, true),
      bytesFromMemory: dv.getUint32(at + 16, true),
      growCalls: dv.getUint32(at + 20, true),
      mallocCalls: u64(24),
      freeCalls: u64(32),
      reallocCalls: u64(40),
      liveBlocks: dv.getUint32(at + 48, true),
      sbrkBytes: dv.getUint32(at + 52, true),
      heapBase: dv.getUint32(at + 56, true),
      reserved: dv.getUint32(at + 60, true),
    };
  }

  // ---- memory access (views are refreshed whenever memory grew) --------------------------
  _refresh() {
    const buf = this.memory.buffer;
    if (buf !== this._buf) {
      this._buf = buf;
      this._u8 = new Uint8Array(buf);
      this._dv = new DataView(buf);
    }
  }
  bytes() { this._refresh(); return this._u8; }
  view() { this._refresh(); return this._dv; }
  memBytes() { return this.memory.buffer.byteLength; }
  pages() { return this.memory.buffer.byteLength / PAGE; }
  readU32(addr) { return this.view().getUint32(addr, true); }
  writeU32(addr, v) { this.view().setUint32(addr, v >>> 0, true); }
  readBytes(addr, len) { return this.bytes().slice(addr, addr + len); }
  writeBytes(addr, data) { this.bytes().set(data, addr); }
  fill(addr, len, byte) { this.bytes().fill(byte, addr, addr + len); }
  /** True if every byte of [addr, addr+len) is zero. */
  isZero(addr, len) {
    const u8 = this.bytes();
    let i = addr;
    const end = addr + len;
    while (i < end && i & 7) if (u8[i++] !== 0) return false;
    if (end - i >= 8) {
      const words = new BigUint64Array(u8.buffer, i, (end - i) >>> 3);
      for (let k = 0; k < words.length; k++) if (words[k] !== 0n) return false;
      i += words.length * 8;
    }
    while (i < end) if (u8[i++] !== 0) return false;
    return true;
  }
}

/** Deterministic byte pattern: byte i of a region tagged `tag`. Position-dependent so a shifted copy is caught. */
export function patternByte(tag, i) {
  return ((tag * 31 + i * 151 + (i >>> 8) * 7 + 0x5a) ^ (tag >>> 8)) & 0xff;
}

export function fillPattern(r, addr, len, tag) {
  const u8 = r.bytes();
  for (let i = 0; i < len; i++) u8[addr + i] = patternByte(tag, i);
}

/** Index of the first byte of [addr, addr+len) that differs from the pattern, or -1. */
export function findPatternMismatch(r, addr, len, tag) {
  const u8 = r.bytes();
  for (let i = 0; i < len; i++) if (u8[addr + i] !== patternByte(tag, i)) return i;
  return -1;
}

/** Small seeded PRNG (sfc32) so every workload is reproducible from one 32-bit seed. */
export class Rng {
  constructor(seed) {
    this.a = 0x9e3779b9;
    this.b = 0x243f6a88;
    this.c = 0xb7e15162;
    this.d = seed >>> 0;
    for (let i = 0; i < 15; i++) this.u32();
  }
  u32() {
    let { a, b, c, d } = this;
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    this.a = a; this.b = b; this.c = c; this.d = d;
    return t >>> 0;
  }
  /** Integer in [0, n). */
  below(n) { return Math.floor((this.u32() / 4294967296) * n); }
  /** Integer in [lo, hi]. */
  range(lo, hi) { return lo + this.below(hi - lo + 1); }
  chance(p) { return this.u32() / 4294967296 < p; }
  pick(arr) { return arr[this.below(arr.length)]; }
}

export const hex = (n) => '0x' + (n >>> 0).toString(16);

/** An address as the misuse messages print it: 0x and 8 lowercase hex digits. */
export const hex8 = (n) => '0x' + (n >>> 0).toString(16).padStart(8, '0');

/** Operation names of ralloc_hooks.report, by op number (CONTRACT6). */
export const REPORT_OPS = Object.freeze(['', 'free', 'realloc', 'malloc_usable_size', 'ralloc_dealloc', 'ralloc_inplace_realloc',
  'ralloc_check', 'malloc', 'ralloc_assert_no_leak', 'ralloc_heap_free', 'ralloc_heap_realloc', 'ralloc_heap_usable_size',
  'calloc', 'aligned_alloc', 'ralloc_alloc', 'ralloc_heap_alloc', 'ralloc_heap_check']);

/** ralloc_check codes by number (check.ts's CHECK_* without the prefix; 17 GUARD). */
export const CHECK_NAMES = Object.freeze(['', 'SPAN', 'SIZE', 'BOUNDS', 'PREV_BIT', 'UNMERGED', 'FOOTER', 'STATE', 'LINK', 'CLASS',
  'BITMAP', 'LIST_COUNT', 'QUICK', 'COUNTERS', 'TAIL', 'DEAD', 'OVERLAP', 'GUARD']);

const bytes = (n) => `${n} byte${n === 1 ? '' : 's'}`;

/**
 * The exact message of a misuse report (the arguments of ralloc_hooks.report), as
 * docs/DEBUGGING.md lists them. A leak report (code 11) lists the live blocks, which it reads
 * through `exports`.
 */
export function reportMessage(code, op, addr, size, aux, exports) {
  const OP = REPORT_OPS[op] ?? `op ${op}`;
  const a = hex8(addr);
  switch (code) {
    case 1: return op === 1 || op === 9 ? `ralloc: double free of ${a} (${bytes(size)})` : `ralloc: ${OP} of freed ${a} (${bytes(size)})`;
    case 2: return `ralloc: invalid ${OP} of ${a} (outside the heap)`;
    case 3: return `ralloc: invalid ${OP} of ${a} (misaligned)`;
    case 4: return `ralloc: invalid ${OP} of ${a} (static data, below the heap)`;
    case 5: return `ralloc: invalid ${OP} of ${a} (never allocated)`;
    case 6: return `ralloc: invalid ${OP} of ${a} (inside the ${size}-byte block at ${hex8(aux)})`;
    case 7: return `ralloc: write past the end of ${a} (${bytes(size)}), found by ${OP}`;
    case 8: return `ralloc: corrupted header of ${a} (${bytes(size)}), found by ${OP}`;
    case 9: return `ralloc: corrupted free list at ${a} (${bytes(size)}), found by ${OP}`;
    case 10: return `ralloc: heap check failed: ${CHECK_NAMES[size] ?? 'UNKNOWN'} (code ${size}) at ${a}, after ${OP}`;
    case 11: {
      const lines = [`ralloc: ${addr} block${addr === 1 ? '' : 's'} leaked (${bytes(size)})`];
      for (let p = exports.ralloc_walk(0) >>> 0; p; p = exports.ralloc_walk(p) >>> 0) {
        if (exports.ralloc_block_info(p) & 5) continue; // free or cached
        const serial = exports.ralloc_block_serial(p) >>> 0;
        lines.push(`  ${hex8(p)} ${bytes(exports.ralloc_block_request(p) >>> 0)} #${serial || '?'}`);
      }
      return lines.join('\n');
    }
    case 12: return `ralloc: invalid ${OP} of ${a} (${bytes(size)}: not inside one live block)`;
    default: return `ralloc: unknown report ${code} from ${OP} (${a}, ${size}, ${hex8(aux)})`;
  }
}

/** What the default ralloc_hooks.report hook throws: the exact message, and the raw report. */
export class MisuseReport extends Error {
  constructor([code, op, addr, size, aux], exports) {
    super(reportMessage(code, op, addr, size, aux, exports));
    this.name = 'MisuseReport';
    this.report = { code, op, addr, size, aux };
  }
}

/** Objects a release page of `size`-byte objects over `bytes` bytes holds (assembly/small/page.ts
 *  capacityFor): a 40-byte header, a flag byte per object rounded up to 16, and the objects,
 *  ending 16 bytes before the page's end. */
export function pageCapacity(size, bytes) {
  const end = bytes - 16;
  let cap = Math.floor((end - 40) / (size + 1));
  if (((40 + cap + 15) & ~15) + cap * size > end) cap--;
  return cap;
}

/** Offset of the first object in a release page of `size`-byte objects over `bytes` bytes. */
export function pageFirst(size, bytes) {
  return (40 + pageCapacity(size, bytes) + 15) & ~15;
}

/** Requests a class makes before the release build gives it pages (assembly/base/config.ts
 *  PAGE_ASKS, the RALLOC_PAGE_ASKS knob's default): its first ones are blocks with a header. */
export const PAGE_ASKS = 16;

/** Makes the release build serve the classes of the given request sizes (default: every class,
 *  16..1024 bytes) from pages, as a busy program's classes are: each class asks PAGE_ASKS times,
 *  and what it got is freed. `heap` is anything with malloc and free (an instance or a Heap).
 *  Harmless on the other builds. */
export function warmPages(heap, sizes = Array.from({ length: 64 }, (_, i) => 16 * (i + 1))) {
  for (const n of sizes) {
    const got = Array.from({ length: PAGE_ASKS }, () => heap.malloc(n));
    got.forEach((p) => heap.free(p));
  }
  return heap;
}
