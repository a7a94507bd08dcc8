// ops/ops.ts in the guarded builds (compiled with the debug build's knobs): every block carries
// its request and a guard, and every misuse is reported through ralloc_hooks.report before the
// heap changes (the hook throws here, as the JS bindings' does). Over fixed arenas.
import { opAlloc, opFree, opRealloc, opUsable, opInplace } from "../../../assembly/ops/ops";
import { requestOf, guardVerify, GUARD_OK } from "../../../assembly/diag/guard";
import { header, sizeOf, FREE, CACHED } from "../../../assembly/base/block";
import {
  M_USE_FREED, M_INTERIOR, M_MISALIGNED, M_OVERFLOW, M_BAD_LIST, M_NEVER, OP_FREE, OP_REALLOC, OP_INPLACE,
} from "../../../assembly/base/abi";
import { QUICK_MAX } from "../../../assembly/small/quick";
import { liveBlocks } from "../../../assembly/core/counters";
import { heapCheck } from "../../../assembly/inspect/check";
import { arenaHeap } from "../arena.include";
import { reportedCode, reportedOp, reportedAddr, reportedSize, reportCount } from "./report.include";

let gR: usize = 0;
let gP: usize = 0;

function freeIt(): void {
  opFree(gR, gP);
}
function reallocIt(): void {
  opRealloc(gR, gP, 500);
}
function inplaceIt(): void {
  opInplace(gR, gP, 10);
}
function allocIt(): void {
  opAlloc(gR, 2924, 16, false); // a 2,944-byte block: the smallest size of the list b and d are in
}

/** Asserts that fn reports `code` for operation op at addr (naming `size`), and nothing else. */
function reports(fn: () => void, code: u32, op: u32, addr: usize, size: usize = <usize>-1): void {
  let before = reportCount();
  expect<() => void>(fn).toThrow();
  expect<u32>(reportCount()).toBe(before + 1, "one report");
  expect<u32>(reportedCode()).toBe(code);
  expect<u32>(reportedOp()).toBe(op);
  expect<usize>(reportedAddr()).toBe(addr);
  if (size != <usize>-1) expect<usize>(reportedSize()).toBe(size);
}

describe("ops (guarded)", () => {
  it("guards every block: usable size is exactly the request, the guard verifies", () => {
    let r = arenaHeap(1 << 16);
    let sizes: StaticArray<usize> = [0, 1, 13, 100, 1000, 3000];
    for (let i = 0; i < sizes.length; ++i) {
      let p = opAlloc(r, sizes[i], i == 2 ? 48 : 16, false);
      expect<usize>(requestOf(p)).toBe(sizes[i]);
      expect<usize>(opUsable(r, p)).toBe(sizes[i]);
      expect<u32>(guardVerify(p)).toBe(GUARD_OK);
    }
    expect<u32>(heapCheck(r)).toBe(0);
  });

  it("reports a double free, of a cached block and of a free one, and changes nothing", () => {
    let r = arenaHeap(1 << 16);
    let small = opAlloc(r, 40, 16, false), big = opAlloc(r, QUICK_MAX + 100, 16, false), fence = opAlloc(r, 10, 16, false);
    opFree(r, small);
    opFree(r, big);
    expect<u32>(header(small) & CACHED).toBe(CACHED);
    expect<u32>(header(big) & FREE).toBe(FREE);
    let live = liveBlocks(r);
    gR = r;
    gP = small;
    reports(freeIt, M_USE_FREED, OP_FREE, small, 40);
    gP = big;
    reports(freeIt, M_USE_FREED, OP_FREE, big, QUICK_MAX + 100);
    expect<u32>(liveBlocks(r)).toBe(live);
    expect<u32>(heapCheck(r)).toBe(0);
    expect<bool>(fence != 0).toBe(true);
  });

  it("reports a double free of a block merged into the free block before it (its tombstone)", () => {
    let r = arenaHeap(1 << 16);
    let a = opAlloc(r, 2000, 16, false), b = opAlloc(r, 2000, 16, false), c = opAlloc(r, 2000, 16, false);
    opFree(r, a);
    opFree(r, b); // b merges into a
    expect<bool>(sizeOf(a) >= 4000).toBe(true);
    gR = r;
    gP = b;
    reports(freeIt, M_USE_FREED, OP_FREE, b, 2000);
    expect<u32>(heapCheck(r)).toBe(0);
    expect<bool>(c != 0).toBe(true);
  });

  it("reports an interior, a misaligned and a never-allocated pointer, and a realloc or in-place call on a freed block", () => {
    let r = arenaHeap(1 << 16);
    let a = opAlloc(r, 300, 16, false), b = opAlloc(r, 300, 16, false), fence = opAlloc(r, 10, 16, false);
    gR = r;
    gP = a + 32;
    reports(freeIt, M_INTERIOR, OP_FREE, a + 32, 300);
    gP = a + 8;
    reports(freeIt, M_MISALIGNED, OP_FREE, a + 8);
    gP = fence + 4096;
    reports(freeIt, M_NEVER, OP_FREE, fence + 4096);
    opFree(r, b);
    gP = b;
    reports(reallocIt, M_USE_FREED, OP_REALLOC, b, 300);
    reports(inplaceIt, M_USE_FREED, OP_INPLACE, b, 300);
    expect<u32>(heapCheck(r)).toBe(0);
  });

  it("reports a write past the end when the block is freed", () => {
    let r = arenaHeap(1 << 16);
    let a = opAlloc(r, 100, 16, false), fence = opAlloc(r, 10, 16, false);
    store<u8>(a + 100, load<u8>(a + 100) ^ 0x20);
    gR = r;
    gP = a;
    reports(freeIt, M_OVERFLOW, OP_FREE, a, 100);
    expect<bool>(fence != 0).toBe(true);
  });

  it("reports a free block whose list link was overwritten when the list is used, instead of following it", () => {
    let r = arenaHeap(1 << 16);
    let a = opAlloc(r, 3000, 16, false), b = opAlloc(r, 3000, 16, false), c = opAlloc(r, 3000, 16, false);
    let d = opAlloc(r, 3000, 16, false), fence = opAlloc(r, 10, 16, false);
    opFree(r, b);
    opFree(r, d); // b and d: two free blocks of one list (3,024 bytes: [2944, 3072)), apart
    store<u32>(d, <u32>a); // d heads the list: its next link now names a live block
    gR = r;
    expect<() => void>(allocIt).toThrow();
    expect<u32>(reportedCode()).toBe(M_BAD_LIST);
    expect<usize>(reportedAddr()).toBe(d);
    expect<u32>(header(a) & FREE).toBe(0, "a was never taken for a free block");
    expect<bool>(c != 0 && fence != 0).toBe(true);
  });
});
