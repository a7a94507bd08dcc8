// guard.ts — the guard of a block in the guarded builds (debug, validate, security): canary
// bytes after what the program asked for, and a trailer whose check word is keyed by a secret.
//
//   a guarded in-use block p of size S (the header at p - 4 is base/block.ts's)
//   ┌────────┬──────────────────┬──────────────────┬───────────┬───────────┬────────────┐
//   │ header │ n bytes asked    │ canary, at least │ n    u32  │ serial u32│ check u32  │
//   │ p - 4  │ for: p .. p + n  │ CANARY bytes     │ p + S - 16│ p + S - 12│ p + S - 8  │
//   └────────┴──────────────────┴──────────────────┴───────────┴───────────┴────────────┘
//   check = SipHash-1-3 of (p, S, n, serial) under a 128-bit key made from a 64-bit seed. The
//   key lives in wasm globals, never in linear memory, so a program that can write any byte of
//   memory still cannot forge a header the allocator will accept. Each canary byte is a byte of
//   the check word with its top bit set (never 0). The debug builds start from a fixed key; the
//   security build has none until it is seeded, by ralloc_seed or else, at its first guarded
//   block, by the host's entropy hook (platform/hooks.ts), and it stops (M_UNSEEDED) rather than
//   guard a block with a key anyone could know.
//
// malloc_usable_size is n exactly, so any write past it lands on the canary or the trailer. A
// freed block keeps n (so a double free can say its size); its check word is cleared, so an old
// header cannot be replayed. Cost: one SipHash (six rounds over four u64 locals) and a pass over
// at most CANARY + 15 canary bytes, 8 at a time, per allocation, free and realloc.

import { HEADER, MIN_BLOCK, SIZE_MASK, header } from "../base/block";
import { CANARY, HOOKS, SECURITY } from "../base/config";
import { M_UNSEEDED } from "../base/abi";
import { hookEntropy } from "../platform/hooks";
import { report, currentOp } from "./report";

/** Trailer bytes: n, serial, check. */
export const TRAILER: usize = 12;
/** Bytes a guarded block needs beyond the request: the trailer and the least canary. */
export const GUARD: usize = TRAILER + CANARY;
/** Smallest guarded block: a header, the guard, and the 16-byte grain. */
export const GUARD_MIN_BLOCK: usize = (HEADER + GUARD + 15) & ~15;

/** guardVerify's answers. */
export const GUARD_OK: u32 = 0;
export const GUARD_BAD_CHECK: u32 = 1;
export const GUARD_BAD_CANARY: u32 = 2;

// The key: k0, k1 of SipHash. Debug builds start from a fixed key; the host may set its own.
let k0: u64 = 0x0706050403020100;
let k1: u64 = 0x0F0E0D0C0B0A0908;
/** Whether the key was seeded (the security build guards nothing before). */
let seeded = false;
/** Allocation numbers handed out so far (per instance). */
let serials: u32 = 0;

/** Sets the key from the host's 64-bit seed (k1 is a mix of it). O(1). */
export function guardSeed(lo: u32, hi: u32): void {
  let seed = (<u64>hi << 32) | <u64>lo;
  k0 = seed;
  k1 = mix64(seed ^ 0x9E3779B97F4A7C15);
  seeded = true;
}

/** The security build's first guarded block, unseeded: asks the host's entropy hook for 8 bytes
 *  (written at p, a block about to be guarded and overwritten) and seeds the key from them, or
 *  stops with M_UNSEEDED when the host gives none (or the HOOKS knob imports no hook). O(host). */
function seedFromHost(p: usize): void {
  if (!HOOKS || hookEntropy(p, 8) == 0) report(M_UNSEEDED, currentOp(), 0, 0, 0);
  guardSeed(load<u32>(p), load<u32>(p, 4));
}

/** The next allocation number. O(1). */
@inline export function nextSerial(): u32 {
  return ++serials;
}

/** Whether any block was guarded yet (the key can no longer change). O(1). */
export function guardsMade(): bool {
  return serials != 0;
}

/** A 64-bit finaliser (SplitMix64's), to derive k1 from the seed. O(1). */
function mix64(x: u64): u64 {
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EB;
  return x ^ (x >> 31);
}

/** SipHash-1-3 of the two words (m1, m2) under (k0, k1), folded to 32 bits. O(1): 6 rounds,
 *  all in locals (state kept in globals would cost a load and a store per word per round). */
function sip(m1: u64, m2: u64): u32 {
  const last: u64 = <u64>16 << 56; // the length block: 16 bytes of message
  let a = k0 ^ 0x736F6D6570736575, b = k1 ^ 0x646F72616E646F6D;
  let c = k0 ^ 0x6C7967656E657261, d = k1 ^ 0x7465646279746573;
  let m = m1;
  // Rounds 0-2 compress m1, m2 and the length block (one round each); 3-5 finalise.
  for (let i = 0; i < 6; ++i) {
    if (i < 3) d ^= m;
    a += b; b = rotl<u64>(b, 13); b ^= a; a = rotl<u64>(a, 32); // one SipRound
    c += d; d = rotl<u64>(d, 16); d ^= c;
    a += d; d = rotl<u64>(d, 21); d ^= a;
    c += b; b = rotl<u64>(b, 17); b ^= c; c = rotl<u64>(c, 32);
    if (i < 3) {
      a ^= m;
      m = i == 0 ? m2 : last;
    }
    if (i == 2) c ^= 0xFF;
  }
  let h = a ^ b ^ c ^ d;
  return <u32>(h ^ (h >> 32));
}

/** The check word of block p of size s holding request n with allocation number serial. O(1). */
@inline function checkWord(p: usize, s: usize, n: usize, serial: u32): u32 {
  return sip((<u64>s << 32) | <u64>p, (<u64>serial << 32) | <u64>n);
}

/** Writes (`write`) or checks the canary [q, t) of a block whose check word is `check`: each
 *  byte is a byte of the check word with its top bit set (so never 0), repeating every 4 bytes
 *  from q whatever its alignment (wasm loads and stores need none), so it goes 8 bytes at a
 *  time, then 4, then 1. Returns false at the first byte that differs (checking). O(t - q). */
@inline function canary(q: usize, t: usize, check: u32, write: bool): bool {
  let pat = check | 0x80808080;
  let pat64 = <u64>pat | (<u64>pat << 32);
  for (; q + 8 <= t; q += 8) {
    if (write) store<u64>(q, pat64);
    else if (load<u64>(q) != pat64) return false;
  }
  if (q + 4 <= t) {
    if (write) store<u32>(q, pat);
    else if (load<u32>(q) != pat) return false;
    q += 4;
  }
  for (; q < t; ++q, pat >>= 8) {
    if (write) store<u8>(q, <u8>pat);
    else if (load<u8>(q) != <u8>pat) return false;
  }
  return true;
}

/** Block size of in-use block p. O(1). */
@inline function blockSize(p: usize): usize {
  return <usize>(header(p) & SIZE_MASK);
}

/** What the program asked for in guarded block p (also kept after p is freed). O(1). */
@inline export function requestOf(p: usize): usize {
  return <usize>load<u32>(p + blockSize(p) - 16);
}

/** Allocation number of guarded block p. O(1). */
@inline export function serialOf(p: usize): u32 {
  return load<u32>(p + blockSize(p) - 12);
}

/** Whether n is a request guarded block p (of size s) could hold, so reading it is meaningful. */
@inline export function plausibleRequest(s: usize, n: usize): bool {
  return s >= GUARD_MIN_BLOCK && n <= s - HEADER - GUARD;
}

/** Guards in-use block p for a request of n bytes with allocation number serial: the trailer
 *  and the canary. For a fresh allocation the security build also zeroes the n bytes, so they
 *  read zero. O(n) then, else O(1). */
export function guardSet(p: usize, n: usize, serial: u32, fresh: bool): void {
  if (SECURITY && !seeded) seedFromHost(p);
  let s = blockSize(p);
  let t = p + s - 16;
  let check = checkWord(p, s, n, serial);
  if (SECURITY && fresh) memory.fill(p, 0, n);
  store<u32>(t, <u32>n);
  store<u32>(t, serial, 4);
  store<u32>(t, check, 8);
  canary(p + n, t, check, true);
}

/** Verifies the guard of in-use block p: GUARD_OK, GUARD_BAD_CHECK (its header or trailer was
 *  changed) or GUARD_BAD_CANARY (a write past its end). Reads only inside the block. O(1). */
export function guardVerify(p: usize): u32 {
  let s = blockSize(p);
  if (s < GUARD_MIN_BLOCK) return GUARD_BAD_CHECK;
  let t = p + s - 16;
  let n = <usize>load<u32>(t);
  let check = load<u32>(t, 8);
  if (!plausibleRequest(s, n) || check != checkWord(p, s, n, load<u32>(t, 4))) return GUARD_BAD_CHECK;
  return canary(p + n, t, check, false) ? GUARD_OK : GUARD_BAD_CANARY;
}

/** Retires the guard of in-use block p (size s) before it is freed: clears its check word, so
 *  an old header and trailer cannot be replayed. O(1). */
@inline export function guardRetire(p: usize, s: usize): void {
  store<u32>(p + s - 8, 0);
}

/** After block p (size s, request n) was freed, writes n back where a later double free reads
 *  it (the security build zeroed it; the spot is never a link or a footer, since s >= 32). */
@inline export function guardKeepRequest(p: usize, s: usize, n: usize): void {
  store<u32>(p + s - 16, <u32>n);
}

/** The block size that holds a guarded request of n bytes (n already known to fit). O(1). */
@inline export function guardedBlockFor(n: usize): usize {
  return max<usize>((n + GUARD + HEADER + 15) & ~15, MIN_BLOCK);
}
