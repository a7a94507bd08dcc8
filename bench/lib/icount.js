// Counting executed wasm instructions, deterministically: a module is rewritten so that, at
// the start of every straight-line run of code, mutable i64 globals are increased by that
// run's static counts of instructions, loads, stores, branches and calls. Reading the globals
// before and after a call gives exact dynamic counts for that call; the same binary always
// gives the same numbers (nothing is sampled or timed).
//
// The rewrite works on the binary itself (no IR round trip), so what is counted is exactly
// the instruction sequence of the module as the benchmark runs it:
//   instructions  every executed instruction except the structure markers block, loop,
//                 else and end (and try/catch markers): local.get, constants, if, br, call,
//                 return, drop all count one
//   loads         memory loads (i32/i64/f32/f64/v128 load variants, atomic loads)
//   stores        memory stores (likewise; an atomic read-modify-write is both);
//                 memory.copy/fill count as instructions only
//   branches      if, br, br_if, br_table (and br_on_*), taken or not
//   calls         call, call_indirect, call_ref (and the return_call forms)
//
// A run ("segment") starts at the function's first instruction, after `loop` (a branch
// target), after `if` and `else` (an arm), after `end` (a join point) and after every branch,
// return, unreachable or throw; a call does not end one (it returns to the next instruction).
// So every instruction of a segment executes once each time control enters the segment, and
// the increment placed at its start counts it. The inserted code (global.get, i64.const,
// i64.add, global.set) leaves the operand stack as it found it, so it is valid anywhere.
// A trap in the middle of a segment (or an exception thrown by a callee) would count the
// segment in full; the benchmark's programs do neither.
//
// Opcodes outside the set below (GC, stringref, ...) make the rewrite throw: a count is never
// silently wrong.

export const COUNTERS = ['instructions', 'loads', 'stores', 'branches', 'calls'];
// More counters, for checking the counts against another interpreter's trace (bench/hotpath.js
// --interp): br_ifs and brs by themselves, br_if_fallthroughs (a br_if not taken), else_jumps
// (a then-arm that ran to its `else`), br_tables, returns (the instruction),
// implicit_returns (a function that ran to its final `end`), entries_with_locals (calls of a
// function that declares locals), drops (the instruction).
export const DETAIL = ['br_ifs', 'brs', 'br_tables', 'returns', 'br_if_fallthroughs', 'else_jumps', 'implicit_returns', 'entries_with_locals', 'drops'];
const ALL = [...COUNTERS, ...DETAIL];
const C = Object.fromEntries(ALL.map((n, i) => [n, i]));
const EXPORT_PREFIX = '__icount_';
const FN_PREFIX = 'fn';

// ---- binary reading -----------------------------------------------------------------------

class Reader {
  constructor(bytes, pos = 0) { this.b = bytes; this.pos = pos; }
  byte() { if (this.pos >= this.b.length) throw new Error('icount: unexpected end of module'); return this.b[this.pos++]; }
  u32() {
    let result = 0, shift = 0, x;
    do { x = this.byte(); result += (x & 0x7f) * 2 ** shift; shift += 7; } while (x & 0x80);
    return result;
  }
  /** skips a LEB128 of any length (signed or not) */
  skipLeb() { while (this.byte() & 0x80); }
  skip(n) { this.pos += n; }
}

function uleb(n) {
  const out = [];
  do { let x = n % 128; n = Math.floor(n / 128); if (n) x |= 0x80; out.push(x); } while (n);
  return out;
}
function sleb64(v) {
  let n = BigInt(v);
  const out = [];
  for (;;) {
    const x = Number(n & 0x7fn);
    n >>= 7n;
    if ((n === 0n && !(x & 0x40)) || (n === -1n && (x & 0x40))) { out.push(x); return out; }
    out.push(x | 0x80);
  }
}

function sectionsOf(bytes) {
  if (bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) throw new Error('icount: not a wasm module');
  const out = [];
  const r = new Reader(bytes, 8);
  while (r.pos < bytes.length) {
    const id = r.byte();
    const size = r.u32();
    const start = r.pos;
    let name = null;
    if (id === 0) { const rr = new Reader(bytes, start); const len = rr.u32(); name = new TextDecoder().decode(bytes.subarray(rr.pos, rr.pos + len)); }
    out.push({ id, start, size, name });
    r.pos = start + size;
  }
  return out;
}

/** a value type, including the reference types' (ref null? heaptype) forms */
function skipValType(r) {
  const t = r.byte();
  if (t === 0x63 || t === 0x64) r.skipLeb();
}
function skipLimits(r) {
  const flags = r.byte();
  r.skipLeb();
  if (flags & 1) r.skipLeb();
}

/** the number of imported globals (new globals are numbered after every existing one) */
function importedGlobals(bytes, sec) {
  if (!sec) return 0;
  const r = new Reader(bytes, sec.start);
  let n = r.u32(), globals = 0;
  while (n--) {
    r.skip(r.u32()); r.skip(r.u32());
    const kind = r.byte();
    if (kind === 0) r.u32();
    else if (kind === 1) { skipValType(r); skipLimits(r); } else if (kind === 2) skipLimits(r);
    else if (kind === 3) { skipValType(r); r.byte(); globals++; } else if (kind === 4) { r.byte(); r.u32(); } else throw new Error(`icount: unknown import kind ${kind}`);
  }
  return globals;
}

// ---- instruction classes ------------------------------------------------------------------

function memarg(r) {
  const align = r.u32();
  if (align & 0x40) r.u32(); // memory index (multi-memory)
  r.skipLeb(); // offset
}
function blockType(r) {
  const t = r.b[r.pos];
  if (t === 0x63 || t === 0x64) skipValType(r);
  else r.skipLeb(); // 0x40 (empty), a one-byte value type, or a type index as an s33
}

/**
 * Decodes one instruction at r.pos (advancing r). Returns { count, load, store, branch, call,
 * after, endsBefore }: whether it counts as an instruction (and in which classes), whether a
 * new segment starts after it, and whether the segment before it ends before it (else, end).
 */
function decode(r) {
  const op = r.byte();
  const I = (o) => ({ count: true, load: false, store: false, branch: false, call: false, after: false, ...o });
  switch (op) {
    case 0x00: return I({ after: true }); // unreachable
    case 0x01: return I({}); // nop
    case 0x02: blockType(r); return { count: false }; // block: control enters it
    case 0x03: blockType(r); return { count: false, after: true }; // loop: a branch target
    case 0x04: blockType(r); return I({ branch: true, after: true }); // if
    case 0x05: return { count: false, after: true, endsBefore: true, kind: 'else' }; // else
    case 0x06: blockType(r); return { count: false, after: true }; // try (legacy)
    case 0x07: r.u32(); return { count: false, after: true, endsBefore: true }; // catch
    case 0x08: r.u32(); return I({ after: true }); // throw
    case 0x09: r.u32(); return I({ after: true }); // rethrow
    case 0x0a: return I({ after: true }); // throw_ref
    case 0x0b: return { count: false, after: true, endsBefore: true, kind: 'end' }; // end
    case 0x0c: r.u32(); return I({ branch: true, after: true, kind: 'br' }); // br
    case 0x0d: r.u32(); return I({ branch: true, after: true, kind: 'br_if' }); // br_if
    case 0x0e: { let n = r.u32(); while (n--) r.u32(); r.u32(); return I({ branch: true, after: true, kind: 'br_table' }); } // br_table
    case 0x0f: return I({ after: true, kind: 'return' }); // return
    case 0x10: r.u32(); return I({ call: true }); // call
    case 0x11: r.u32(); r.u32(); return I({ call: true }); // call_indirect
    case 0x12: r.u32(); return I({ call: true, after: true }); // return_call
    case 0x13: r.u32(); r.u32(); return I({ call: true, after: true }); // return_call_indirect
    case 0x14: r.u32(); return I({ call: true }); // call_ref
    case 0x15: r.u32(); return I({ call: true, after: true }); // return_call_ref
    case 0x18: r.u32(); return { count: false, after: true, endsBefore: true }; // delegate
    case 0x19: return { count: false, after: true, endsBefore: true }; // catch_all
    case 0x1a: return I({ kind: 'drop' });
    case 0x1b: return I({}); // select
    case 0x1c: { let n = r.u32(); while (n--) skipValType(r); return I({}); } // select t*
    case 0x1f: { // try_table
      blockType(r);
      let n = r.u32();
      while (n--) { const k = r.byte(); if (k === 0 || k === 1) r.u32(); r.u32(); }
      return { count: false, after: true };
    }
    case 0x20: case 0x21: case 0x22: case 0x23: case 0x24: case 0x25: case 0x26: r.u32(); return I({});
    case 0x3f: case 0x40: r.u32(); return I({}); // memory.size, memory.grow
    case 0x41: case 0x42: r.skipLeb(); return I({}); // i32.const, i64.const
    case 0x43: r.skip(4); return I({});
    case 0x44: r.skip(8); return I({});
    case 0xd0: r.skipLeb(); return I({}); // ref.null ht (a heap type: an s33)
    case 0xd1: case 0xd3: case 0xd4: return I({});
    case 0xd2: r.u32(); return I({});
    case 0xd5: case 0xd6: r.u32(); return I({ branch: true, after: true }); // br_on_null, br_on_non_null
    case 0xfc: {
      const sub = r.u32();
      if (sub <= 7) return I({});
      const imm = { 8: 2, 9: 1, 10: 2, 11: 1, 12: 2, 13: 1, 14: 2, 15: 1, 16: 1, 17: 1 }[sub];
      if (imm === undefined) throw new Error(`icount: unknown opcode 0xfc ${sub}`);
      for (let i = 0; i < imm; i++) r.u32();
      return I({});
    }
    case 0xfd: {
      const sub = r.u32();
      if (sub <= 10 || sub === 92 || sub === 93) { memarg(r); return I({ load: true }); }
      if (sub === 11) { memarg(r); return I({ store: true }); }
      if (sub === 12 || sub === 13) { r.skip(16); return I({}); }
      if (sub >= 21 && sub <= 34) { r.skip(1); return I({}); }
      if (sub >= 84 && sub <= 87) { memarg(r); r.skip(1); return I({ load: true }); }
      if (sub >= 88 && sub <= 91) { memarg(r); r.skip(1); return I({ store: true }); }
      return I({});
    }
    case 0xfe: {
      const sub = r.u32();
      if (sub === 3) { r.byte(); return I({}); } // atomic.fence
      memarg(r);
      if (sub >= 0x10 && sub <= 0x16) return I({ load: true });
      if (sub >= 0x17 && sub <= 0x1d) return I({ store: true });
      return I({ load: true, store: true }); // notify, wait, read-modify-write
    }
    default:
      if (op >= 0x28 && op <= 0x35) { memarg(r); return I({ load: true }); }
      if (op >= 0x36 && op <= 0x3e) { memarg(r); return I({ store: true }); }
      if (op >= 0x45 && op <= 0xc4) return I({});
      throw new Error(`icount: unknown opcode 0x${op.toString(16)} at byte ${r.pos - 1}`);
  }
}

// ---- the rewrite --------------------------------------------------------------------------

/** the inserted increments for one segment's counts (and its function's own instruction
 *  counter, global fnGlobal, when counting per function) */
function increments(counts, firstGlobal, fnGlobal) {
  const out = [];
  if (fnGlobal !== undefined && counts[C.instructions]) {
    const g = uleb(fnGlobal);
    out.push(0x23, ...g, 0x42, ...sleb64(counts[C.instructions]), 0x7c, 0x24, ...g);
  }
  counts.forEach((k, i) => {
    if (!k) return;
    const g = uleb(firstGlobal + i);
    out.push(0x23, ...g, 0x42, ...sleb64(k), 0x7c, 0x24, ...g);
  });
  return out;
}

function rewriteBody(bytes, start, end, firstGlobal, fnGlobal) {
  const r = new Reader(bytes, start);
  let groups = r.u32(), locals = 0;
  while (groups--) { locals += r.u32(); skipValType(r); }
  const out = Array.from(bytes.subarray(start, r.pos));
  const zero = () => ALL.map(() => 0);
  let seg = zero(); // the counts of the segment under way
  let pending = []; // its bytes, not yet written
  const flush = () => {
    out.push(...increments(seg, firstGlobal, fnGlobal), ...pending);
    seg = zero();
    pending = [];
  };
  if (locals) seg[C.entries_with_locals]++;
  while (r.pos < end) {
    const at = r.pos;
    const d = decode(r);
    const raw = bytes.subarray(at, r.pos);
    if (d.kind === 'else') seg[C.else_jumps]++; // counted where the then-arm reaches `else`
    if (d.kind === 'end' && r.pos === end) seg[C.implicit_returns]++; // the function's own end
    if (d.endsBefore) flush(); // else/end/catch: the segment before it ends here
    if (d.count) {
      seg[C.instructions]++;
      if (d.load) seg[C.loads]++;
      if (d.store) seg[C.stores]++;
      if (d.branch) seg[C.branches]++;
      if (d.call) seg[C.calls]++;
      if (d.kind === 'br_if') seg[C.br_ifs]++;
      if (d.kind === 'br') seg[C.brs]++;
      if (d.kind === 'br_table') seg[C.br_tables]++;
      if (d.kind === 'return') seg[C.returns]++;
      if (d.kind === 'drop') seg[C.drops]++;
    }
    for (const x of raw) pending.push(x);
    if (d.after) {
      flush();
      // the code after a br_if runs only when it was not taken
      if (d.kind === 'br_if') seg[C.br_if_fallthroughs]++;
    }
  }
  flush();
  if (r.pos !== end) throw new Error('icount: a function body does not end where its size says');
  return out;
}

/**
 * Returns { bytes, read } where bytes is the module with the counters added and exported as
 * __icount_<name> (mutable i64 globals, COUNTERS then DETAIL), and read is readCounts. With
 * perFunction, each function defined in the module also counts its own instructions, in a
 * global exported as __icount_fn<i> (i: its index among the defined functions; readFunctionCounts).
 */
export function instrumentCounts(bytes, { perFunction = false } = {}) {
  const secs = sectionsOf(bytes);
  const firstGlobal = importedGlobals(bytes, secs.find((s) => s.id === 2)) +
    (() => { const g = secs.find((s) => s.id === 6); return g ? new Reader(bytes, g.start).u32() : 0; })();
  const code = secs.find((s) => s.id === 10);
  const fns = perFunction && code ? new Reader(bytes, code.start).u32() : 0;
  const names = [...ALL, ...Array.from({ length: fns }, (_, i) => `${FN_PREFIX}${i}`)];
  const globalEntries = names.flatMap(() => [0x7e, 0x01, 0x42, 0x00, 0x0b]); // mut i64 = 0
  const exportEntries = names.flatMap((name, i) => {
    const nm = new TextEncoder().encode(EXPORT_PREFIX + name);
    return [...uleb(nm.length), ...nm, 0x03, ...uleb(firstGlobal + i)];
  });
  const body = (id) => {
    const s = secs.find((x) => x.id === id);
    return s ? bytes.subarray(s.start, s.start + s.size) : null;
  };
  const appendVec = (payload, n, extra) => {
    if (!payload) return [...uleb(n), ...extra];
    const r = new Reader(payload);
    const old = r.u32();
    return [...uleb(old + n), ...payload.subarray(r.pos), ...extra];
  };
  const newSecs = new Map(); // id -> payload bytes
  newSecs.set(6, appendVec(body(6), names.length, globalEntries));
  newSecs.set(7, appendVec(body(7), names.length, exportEntries));
  if (code) {
    const r = new Reader(bytes, code.start);
    let n = r.u32();
    const out = [...uleb(n)];
    for (let i = 0; n--; i++) {
      const size = r.u32();
      const b = rewriteBody(bytes, r.pos, r.pos + size, firstGlobal, fns ? firstGlobal + ALL.length + i : undefined);
      out.push(...uleb(b.length), ...b);
      r.pos += size;
    }
    newSecs.set(10, out);
  }
  // the sections in their required order; a global or export section the module lacked is
  // placed where it belongs; custom sections stay where they were, except code metadata
  // (branch hints and the like name code offsets the rewrite moved)
  const ORDER = [1, 2, 3, 4, 5, 13, 6, 7, 8, 9, 12, 10, 11];
  const rank = (id) => ORDER.indexOf(id);
  const out = [...bytes.subarray(0, 8)];
  const emit = (id, payload) => out.push(id, ...uleb(payload.length), ...payload);
  const done = new Set();
  const emitMissingBefore = (id) => {
    for (const m of [6, 7]) {
      if (!done.has(m) && !secs.some((s) => s.id === m) && (id === null || rank(m) < rank(id))) { emit(m, newSecs.get(m)); done.add(m); }
    }
  };
  for (const s of secs) {
    if (s.id === 0) {
      if (!s.name.startsWith('metadata.code.')) out.push(0, ...uleb(s.size), ...bytes.subarray(s.start, s.start + s.size));
      continue;
    }
    emitMissingBefore(s.id);
    emit(s.id, newSecs.get(s.id) ?? Array.from(bytes.subarray(s.start, s.start + s.size)));
    done.add(s.id);
  }
  emitMissingBefore(null);
  return { bytes: new Uint8Array(out), read: readCounts };
}

/** the counters' current values (COUNTERS and DETAIL), from an instance's exports */
export function readCounts(exports) {
  const o = {};
  for (const name of ALL) {
    const g = exports[EXPORT_PREFIX + name];
    if (!g) throw new Error(`icount: the instance does not export ${EXPORT_PREFIX + name}`);
    o[name] = Number(g.value);
  }
  return o;
}

/** Per-function instruction counts of a module instrumented with perFunction: an array indexed
 *  by defined function (imports excluded), from an instance's exports. */
export function readFunctionCounts(exports) {
  const out = [];
  for (let g; (g = exports[`${EXPORT_PREFIX}${FN_PREFIX}${out.length}`]);) out.push(Number(g.value));
  return out;
}
