// The guard of a block (diag/guard.ts): trailer, canary and keyed check word, compiled with the
// debug build's knobs (tests/as-pect.guarded.config.js), on blocks of a fixed arena.
import { arenaHeap, take } from "../arena.include";
import { setHeader, header, sizeOf, SIZE_MASK } from "../../../assembly/base/block";
import {
  guardSet, guardVerify, guardSeed, guardRetire, guardKeepRequest, guardedBlockFor, requestOf, serialOf,
  GUARD, GUARD_OK, GUARD_BAD_CHECK, GUARD_BAD_CANARY,
} from "../../../assembly/diag/guard";
import { tombstone } from "../../../assembly/diag/report";
import { FREE, CACHED } from "../../../assembly/base/block";

/** A fresh guarded block of heap r for n bytes, with allocation number serial. */
function guarded(r: usize, n: usize, serial: u32): usize {
  let p = take(r, n); // guarded for n bytes already (arena.include.ts); now with this serial
  guardSet(p, n, serial, true);
  return p;
}

describe("guard", () => {
  it("sizes a guarded block to hold the request, the least canary and the trailer", () => {
    for (let n: usize = 0; n < 3000; n += 13) {
      let s = guardedBlockFor(n);
      expect<usize>(s % 16).toBe(0);
      expect<bool>(s - 4 - GUARD >= n).toBe(true);
      expect<bool>(s - 4 - GUARD - n < 16).toBe(true); // no more than the grain's rounding
    }
  });

  it("keeps the request and the allocation number in the trailer", () => {
    let r = arenaHeap(1 << 16);
    let p = guarded(r, 37, 12345);
    expect<usize>(requestOf(p)).toBe(37);
    expect<u32>(serialOf(p)).toBe(12345);
    expect<u32>(guardVerify(p)).toBe(GUARD_OK);
  });

  it("finds a write one byte past the request, and the last canary byte", () => {
    let r = arenaHeap(1 << 16);
    for (let n: usize = 0; n < 40; ++n) {
      let p = guarded(r, n, 1);
      let first = p + n, last = p + sizeOf(p) - 17;
      store<u8>(first, load<u8>(first) ^ 1);
      expect<u32>(guardVerify(p)).toBe(GUARD_BAD_CANARY);
      store<u8>(first, load<u8>(first) ^ 1);
      expect<u32>(guardVerify(p)).toBe(GUARD_OK);
      store<u8>(last, 0);
      expect<u32>(guardVerify(p)).toBe(GUARD_BAD_CANARY);
    }
  });

  it("never writes the canary inside the request", () => {
    let r = arenaHeap(1 << 16);
    let p = take(r, 60);
    memory.fill(p, 0x5A, 60);
    guardSet(p, 24, 1, false);
    for (let i: usize = 0; i < 24; ++i) expect<u8>(load<u8>(p + i)).toBe(0x5A);
  });

  it("refuses a forged header: a larger size, or the same size under another key", () => {
    let r = arenaHeap(1 << 16);
    let p = guarded(r, 40, 7);
    let h = header(p);
    setHeader(p, h + 16); // claims 16 more bytes
    expect<u32>(guardVerify(p)).toBe(GUARD_BAD_CHECK);
    setHeader(p, h);
    expect<u32>(guardVerify(p)).toBe(GUARD_OK);
    guardSeed(0xDEADBEEF, 0x12345678); // the same bytes under a different key
    expect<u32>(guardVerify(p)).toBe(GUARD_BAD_CHECK);
    guardSet(p, 40, 7, false);
    expect<u32>(guardVerify(p)).toBe(GUARD_OK);
  });

  it("refuses a changed request or allocation number in the trailer", () => {
    let r = arenaHeap(1 << 16);
    let p = guarded(r, 40, 7);
    let t = p + sizeOf(p) - 16;
    store<u32>(t, 41);
    expect<u32>(guardVerify(p)).toBe(GUARD_BAD_CHECK);
    store<u32>(t, 40);
    store<u32>(t, 8, 4);
    expect<u32>(guardVerify(p)).toBe(GUARD_BAD_CHECK);
  });

  it("retires a guard so the old header cannot be replayed, keeping the request", () => {
    let r = arenaHeap(1 << 16);
    let p = guarded(r, 40, 7);
    let s = sizeOf(p);
    guardRetire(p, s);
    expect<u32>(guardVerify(p)).toBe(GUARD_BAD_CHECK);
    store<u32>(p + s - 16, 0);
    guardKeepRequest(p, s, 40);
    expect<usize>(requestOf(p)).toBe(40);
  });

  it("marks a merged block with a tombstone no real block carries", () => {
    let t = tombstone(96);
    expect<u32>(t & SIZE_MASK).toBe(96);
    expect<u32>(t & (FREE | CACHED)).toBe(FREE | CACHED);
  });
});
