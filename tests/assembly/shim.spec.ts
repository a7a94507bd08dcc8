// platform/shim.ts: the break, sbrk, claims and growth, in this module's own memory, where the
// test runtime (AssemblyScript's TLSF) grows memory too: for the shim that is memory grown by
// someone else. The shim's state is global per instance and is placed once, so the cases below
// run in order, each from where the one before left the shim; none of the other specs places it
// (each spec file is an instance of its own). The tiny build's shim (module globals) shares this
// memory in the last cases.
import {
  shimReady, shimInit, shimBase, shimBreak, shimClaim, shimSbrk, shimRelease, shimAdopt, shimOwns,
  shimGrowCalls, shimSbrkHeld, shimMemoryEnd, memoryBytes, skipForeignGrowth, SHIM_SIZE, MAX_END,
  tinyShimReady, tinyShimInit, tinyShimClaim, tinyShimBreak, tinyShimSbrk, tinyShimSbrkHeld, tinyShimGrows,
  tinyShimBase,
} from "../../assembly/platform/shim";
import { GROW_SHIFT } from "../../assembly/base/config";

const FAIL: usize = <usize>-1;

/** The region sbrk handed out last, [sbrkAt, sbrkAt + 100), which no claim may overlap. */
let sbrkAt: usize = 0;
/** The last claim, [claimStart, claimEnd). */
let claimStart: usize = 0;
let claimEnd: usize = 0;

function overlaps(a: usize, aEnd: usize, b: usize, bEnd: usize): bool {
  return a < bEnd && b < aEnd;
}

describe("shim", () => {
  it("is not placed before its first use: no base, no break, nothing owned, nothing counted", () => {
    expect<bool>(shimReady()).toBe(false);
    expect<usize>(shimBase()).toBe(0);
    expect<u32>(shimGrowCalls()).toBe(0);
    expect<u32>(shimSbrkHeld()).toBe(0);
    expect<bool>(shimOwns(0, 0xFFFF_0000)).toBe(false);
    expect<bool>(shimRelease(16, 32)).toBe(false);
  });

  it("is placed at the end of memory, growing it once for its state and the first request", () => {
    let end = shimMemoryEnd();
    let pages = memory.size();
    shimInit(end + 4, 100); // rounded up to 16
    expect<bool>(shimReady()).toBe(true);
    expect<usize>(shimBase()).toBe(end + 16);
    expect<usize>(shimBreak()).toBe(end + 16 + SHIM_SIZE);
    expect<i32>(memory.size()).toBe(pages + 1);
    expect<u32>(shimGrowCalls()).toBe(1, "the grow made before the state existed is counted");
    expect<bool>(shimOwns(end + 20, end + 24)).toBe(true, "its state is its own");
    expect<bool>(shimOwns(end + 16 + SHIM_SIZE, end + 16 + SHIM_SIZE + 8)).toBe(true, "so is memory above the break");
    expect<bool>(shimOwns(16, end)).toBe(false, "memory below it is the program's");
  });

  it("sbrk moves the break, and gives back only what it handed out", () => {
    let old = shimBreak();
    sbrkAt = shimSbrk(100);
    expect<usize>(sbrkAt).toBe(old);
    expect<usize>(shimBreak()).toBe(old + 100);
    expect<u32>(shimSbrkHeld()).toBe(100);
    expect<usize>(shimSbrk(0)).toBe(old + 100);
    expect<usize>(shimSbrk(28)).toBe(old + 100);
    expect<usize>(shimSbrk(-28)).toBe(old + 128);
    expect<u32>(shimSbrkHeld()).toBe(100);
    expect<usize>(shimSbrk(-101)).toBe(FAIL, "more than sbrk handed out");
    expect<usize>(shimSbrk(-0x7FFF_FFFF)).toBe(FAIL);
    expect<usize>(shimBreak()).toBe(old + 100, "a failed sbrk moves nothing");
    expect<bool>(shimOwns(sbrkAt, sbrkAt + 100)).toBe(false, "handed out: no longer the shim's");
  });

  it("a claim starts at the break and takes all memory to its end; sbrk afterwards starts past it", () => {
    let brk = shimBreak();
    claimStart = shimClaim(1000);
    claimEnd = shimBreak();
    expect<usize>(claimStart).toBe(brk);
    expect<usize>(claimEnd).toBe(shimMemoryEnd());
    expect<bool>(claimEnd - claimStart >= 1000).toBe(true);
    expect<bool>(overlaps(claimStart, claimEnd, sbrkAt, sbrkAt + 100)).toBe(false);
    let s = shimSbrk(64);
    expect<bool>(s >= claimEnd).toBe(true, "sbrk never hands out a heap's memory");
    expect<usize>(shimSbrk(-100)).toBe(FAIL, "the sbrk memory below the claim can no longer be given back");
    expect<usize>(shimSbrk(-64)).toBe(s + 64);
  });

  it("skips memory grown by someone else: neither a claim nor sbrk uses it", () => {
    let before = shimMemoryEnd();
    expect<i32>(memory.grow(1)).not.toBe(-1); // this module, not the shim
    let foreign = before, foreignEnd = before + 65536;
    let block = heap.alloc(300000); // the test runtime grows memory for itself too
    let c = shimClaim(16);
    expect<bool>(c >= foreignEnd).toBe(true);
    expect<bool>(overlaps(c, shimBreak(), block, block + 300000)).toBe(false);
    let s = shimSbrk(16);
    expect<bool>(overlaps(s, s + 16, foreign, foreignEnd)).toBe(false);
    expect<bool>(overlaps(s, s + 16, block, block + 300000)).toBe(false);
    expect<bool>(overlaps(s, s + 16, c, s)).toBe(false);
    heap.free(block);
  });

  it("grows memory geometrically for a claim: at least the heap's size >> GROW_SHIFT", () => {
    skipForeignGrowth();
    let pages = memory.size();
    let heapPages = <i32>((shimBreak() - shimBase()) >> 16);
    let calls = shimGrowCalls();
    let left = shimMemoryEnd() - shimBreak();
    let c = shimClaim(left + 16); // more than is left above the break: memory must grow
    expect<usize>(c).not.toBe(0);
    expect<u32>(shimGrowCalls()).toBe(calls + 1);
    expect<bool>(memory.size() - pages >= max<i32>(1, heapPages >> GROW_SHIFT)).toBe(true);
    claimStart = c;
    claimEnd = shimBreak();
  });

  it("takes memory back from a heap only from the top, and hands it out again", () => {
    expect<bool>(shimRelease(claimStart, claimEnd - 16)).toBe(false, "not at the break");
    expect<bool>(shimRelease(claimEnd, claimStart)).toBe(false, "backwards");
    expect<bool>(shimRelease(claimStart, claimEnd)).toBe(true);
    expect<usize>(shimBreak()).toBe(claimStart);
    expect<bool>(shimOwns(claimStart, claimStart + 16)).toBe(true, "above the break again");
    let grows = shimGrowCalls();
    expect<usize>(shimClaim(16)).toBe(claimStart, "reused, without growing");
    expect<u32>(shimGrowCalls()).toBe(grows);
  });

  it("refuses a claim that would pass MAX_END, without growing", () => {
    let pages = memory.size();
    let brk = shimBreak();
    expect<usize>(shimClaim(<usize>MAX_END)).toBe(0);
    expect<i32>(memory.size()).toBe(pages);
    expect<usize>(shimBreak()).toBe(brk);
  });

  it("a donated stretch from sbrk's run is adopted: sbrk no longer counts it or gives it back", () => {
    let p = shimSbrk(256);
    expect<bool>(p != FAIL).toBe(true);
    let held = shimSbrkHeld();
    shimAdopt(p, p + 256);
    expect<u32>(shimSbrkHeld()).toBe(held - 256);
    expect<usize>(shimSbrk(-16)).toBe(FAIL, "it is a heap's now");
    shimAdopt(16, 32); // memory that was never sbrk's: nothing changes
    expect<u32>(shimSbrkHeld()).toBe(held - 256);
  });

  it("tiny's shim shares the memory: a claim, sbrk, and each skips what the other grew", () => {
    expect<bool>(tinyShimReady()).toBe(false);
    let end = shimMemoryEnd();
    tinyShimInit(end + 3);
    expect<usize>(tinyShimBase()).toBe(end + 16);
    let t = tinyShimClaim(5000);
    expect<usize>(t).toBe(end + 16);
    expect<usize>(tinyShimBreak()).toBe(shimMemoryEnd());
    expect<bool>(tinyShimGrows() >= 1).toBe(true);
    let ts = tinyShimSbrk(32);
    expect<usize>(ts).toBe(tinyShimBreak() - 32);
    expect<u32>(tinyShimSbrkHeld()).toBe(32);
    expect<usize>(tinyShimSbrk(-33)).toBe(FAIL);
    // the layered shim skips everything tiny's grew
    let c = shimClaim(16);
    expect<bool>(c >= tinyShimBreak()).toBe(true);
    let cEnd = shimBreak();
    // and tiny's skips what the layered one grew
    let ts2 = tinyShimSbrk(16);
    expect<bool>(overlaps(ts2, ts2 + 16, c, cEnd)).toBe(false);
    expect<bool>(ts2 >= cEnd).toBe(true);
    expect<bool>(<u64>tinyShimBreak() <= memoryBytes()).toBe(true);
  });
});
