// small/page.ts: release's size-class pages, over fixed arenas. Objects are taken and freed as
// entry/cabi.ts's malloc and free do (pagePop/pagePush, counted), so the heap walk
// (inspect/check.ts) must pass after every step.
import {
  PAGE_MAX, REGION, classOf, regionsOf, pageAlloc, pagePush, pageOf, pageFlush, pageClass, pageRegions,
  firstOf, objectSize, capacityOf, usedOf, freeHead, pageKept, objectLive, objectAround, isTable,
} from "../../assembly/small/page";
import { header, sizeOf, META, FREE } from "../../assembly/base/block";
import { ROOT_SIZE, R_KEPT_BYTES, R_CLAIMED, R_PT, R_PT_COVER, CLASS_SLOTS, classSlot, field } from "../../assembly/base/root";
import { PAGES } from "../../assembly/base/config";
import { noteAlloc, noteFree, liveBlocks } from "../../assembly/core/counters";
import { heapCheck } from "../../assembly/inspect/check";
import { arenaHeap, take } from "./arena.include";

/** An object of class c from heap r, counted as malloc counts it; 0 when no page can be had. */
function obj(r: usize, c: usize): usize {
  let o = pageAlloc(r, c);
  if (o) noteAlloc(r, 0);
  return o;
}

/** Frees p as free does when p lies in a page: whether it freed an object. */
function drop(r: usize, p: usize): bool {
  let pg = pageOf(r, p);
  if (!pg || !pagePush(r, pg, p)) return false;
  noteFree(r, 0);
  return true;
}

/** The first page of class c with a free object (the class's list head), or 0. */
function listed(r: usize, c: usize): usize {
  return <usize>load<u32>(classSlot(r, c));
}

/** Fills page pg's class until pg is full; returns its objects (the first one given). */
function fill(r: usize, first: usize): Array<usize> {
  let pg = pageOf(r, first);
  let c = pageClass(pg);
  let out = new Array<usize>();
  out.push(first);
  while (usedOf(pg) < capacityOf(pg)) {
    let o = obj(r, c);
    expect<usize>(pageOf(r, o)).toBe(pg, "the page with room is used before a new one");
    out.push(o);
  }
  return out;
}

describe("page (release's small objects)", () => {
  it("is compiled as release ships: pages on, classes of 16 bytes up to 1 KiB", () => {
    expect<bool>(PAGES).toBe(true);
    expect<usize>(PAGE_MAX).toBe(1024);
    expect<usize>(classOf(0)).toBe(1); // malloc(0) is a unique 16-byte object
    expect<usize>(classOf(1)).toBe(1);
    expect<usize>(classOf(16)).toBe(1);
    expect<usize>(classOf(17)).toBe(2);
    expect<usize>(classOf(1024)).toBe(64);
    expect<usize>(regionsOf(16)).toBe(1);
    expect<usize>(regionsOf(17)).toBe(2);
    expect<usize>(regionsOf(32)).toBe(2);
    expect<usize>(regionsOf(33)).toBe(4);
    expect<usize>(regionsOf(64)).toBe(4);
    expect<bool>(CLASS_SLOTS > 64).toBe(true);
  });

  it("hands out objects of a class that are disjoint, on the class grid and inside one page", () => {
    let r = arenaHeap(1 << 20);
    let classes: StaticArray<usize> = [1, 2, 3, 7, 16, 17, 33, 64];
    for (let i = 0; i < classes.length; ++i) {
      let c = classes[i];
      let size = c << 4;
      let objects = fill(r, obj(r, c));
      let pg = pageOf(r, objects[0]);
      expect<usize>(pg & (REGION - 1)).toBe(0, "a page starts on a region");
      expect<usize>(pageClass(pg)).toBe(c);
      expect<usize>(objectSize(pg)).toBe(size);
      expect<usize>(pageRegions(pg)).toBe(1, "a class's first page is one region");
      expect<usize>(sizeOf(pg)).toBe(REGION, "a page block is exactly its regions");
      expect<u32>(header(pg) & META).toBe(META);
      expect<i32>(objects.length).toBe(<i32>capacityOf(pg));
      expect<bool>(objects.length >= 3).toBe(true);
      let first = pg + firstOf(pg);
      let end = pg + (pageRegions(pg) << 12) - 16; // the next block's header sits above
      objects.sort((a: usize, b: usize): i32 => a < b ? -1 : a > b ? 1 : 0);
      for (let k = 0; k < objects.length; ++k) {
        let o = objects[k];
        expect<usize>((o - first) % size).toBe(0, "on the class grid");
        expect<bool>(o >= first && o + size <= end).toBe(true, "inside the page's object area");
        expect<bool>(objectLive(pg, o)).toBe(true);
        if (k > 0) expect<bool>(o >= objects[k - 1] + size).toBe(true, "disjoint");
      }
      expect<usize>(freeHead(pg)).toBe(0, "full");
      expect<bool>(listed(r, c) != pg).toBe(true, "a full page leaves its class's list");
      let next = obj(r, c);
      expect<bool>(pageOf(r, next) != pg).toBe(true, "a full page's class gets a new page");
      expect<usize>(pageRegions(pageOf(r, next))).toBe(regionsOf(c), "later pages are regionsOf(c) regions");
      expect<u32>(heapCheck(r)).toBe(0);
    }
  });

  it("finds the page from any byte of it, and no page from a byte outside every page", () => {
    let r = arenaHeap(1 << 20);
    let general = take(r, 3000);
    let a = obj(r, 40);
    fill(r, a); // the class's next page is 4 regions
    let b = obj(r, 40);
    for (let k = 0; k < 2; ++k) {
      let pg = pageOf(r, k == 0 ? a : b);
      let bytes = pageRegions(pg) << 12;
      expect<usize>(bytes).toBe(k == 0 ? REGION : 4 * REGION);
      for (let i: usize = 0; i < bytes; ++i) {
        if (pageOf(r, pg + i) != pg) {
          expect<usize>(pageOf(r, pg + i)).toBe(pg, "every byte of the page leads to it");
          break;
        }
      }
      expect<bool>(pageOf(r, pg - 1) != pg).toBe(true);
      expect<bool>(pageOf(r, pg + bytes) != pg).toBe(true);
    }
    for (let i: usize = 0; i < 3000; i += 7) expect<usize>(pageOf(r, general + i)).toBe(0, "a general block is in no page");
    expect<usize>(pageOf(r, 16)).toBe(0, "below the table");
    expect<usize>(pageOf(r, 0xFFFF_FFF0)).toBe(0, "past the table");
    expect<bool>(isTable(r, <usize>field(r, R_PT))).toBe(true);
    expect<usize>(pageOf(r, <usize>field(r, R_PT))).toBe(0, "the table is no page");
    expect<u32>(heapCheck(r)).toBe(0);
  });

  it("names the object around any byte of a page, and none in its header", () => {
    let r = arenaHeap(1 << 16);
    let o = obj(r, 3);
    let pg = pageOf(r, o);
    let first = pg + firstOf(pg);
    expect<usize>(objectAround(pg, pg)).toBe(0);
    expect<usize>(objectAround(pg, first - 1)).toBe(0);
    expect<usize>(objectAround(pg, first)).toBe(first);
    expect<usize>(objectAround(pg, first + 47)).toBe(first);
    expect<usize>(objectAround(pg, first + 48)).toBe(first + 48);
    let last = first + (capacityOf(pg) - 1) * 48;
    expect<usize>(objectAround(pg, last + 47)).toBe(last);
    expect<usize>(objectAround(pg, last + 48)).toBe(0, "past the last object");
  });

  it("ignores a double free, an interior pointer, a misaligned one and the page header: no byte changes", () => {
    let r = arenaHeap(1 << 16);
    let a = obj(r, 4), b = obj(r, 4), c = obj(r, 4);
    let pg = pageOf(r, a);
    expect<bool>(drop(r, b)).toBe(true);
    let copy = heap.alloc(REGION);
    memory.copy(copy, pg, REGION);
    let used = usedOf(pg);
    let bad: StaticArray<usize> = [b, a + 16, a + 48, c + 4, pg, pg + 8, pg + firstOf(pg) - 16];
    for (let i = 0; i < bad.length; ++i) {
      expect<bool>(pagePush(r, pg, bad[i])).toBe(false);
      expect<i32>(memory.compare(copy, pg, REGION)).toBe(0, "the page is unchanged");
    }
    expect<usize>(usedOf(pg)).toBe(used);
    expect<bool>(objectLive(pg, a) && objectLive(pg, c) && !objectLive(pg, b)).toBe(true);
    expect<u32>(heapCheck(r)).toBe(0);
    // b is handed out once, not twice
    let x = obj(r, 4), y = obj(r, 4);
    expect<usize>(x).toBe(b);
    expect<bool>(y != b && y != a && y != c).toBe(true);
    expect<u32>(heapCheck(r)).toBe(0);
  });

  it("reuses freed objects first, last freed first", () => {
    let r = arenaHeap(1 << 16);
    let a = obj(r, 2), b = obj(r, 2), c = obj(r, 2);
    drop(r, a);
    expect<usize>(obj(r, 2)).toBe(a);
    drop(r, b);
    drop(r, a);
    expect<usize>(obj(r, 2)).toBe(a);
    expect<usize>(obj(r, 2)).toBe(b);
    expect<bool>(c != 0).toBe(true);
    expect<u32>(heapCheck(r)).toBe(0);
  });

  it("puts a full page back on its class's list when an object of it is freed", () => {
    let r = arenaHeap(1 << 16);
    let objects = fill(r, obj(r, 8));
    let pg = pageOf(r, objects[0]);
    expect<bool>(listed(r, 8) != pg).toBe(true);
    drop(r, objects[5]);
    expect<usize>(listed(r, 8)).toBe(pg);
    expect<usize>(obj(r, 8)).toBe(objects[5]);
    expect<u32>(heapCheck(r)).toBe(0);
  });

  it("keeps an emptied page when it is its class's only page with room, else gives it back to the general heap", () => {
    let r = arenaHeap(1 << 18);
    let objects = fill(r, obj(r, 2)); // page A, full
    let A = pageOf(r, objects[0]);
    let extra = obj(r, 2); // page B
    let B = pageOf(r, extra);
    expect<bool>(B != A).toBe(true);
    drop(r, extra); // B is empty, and the only page of class 2 with room: kept
    expect<bool>(pageKept(B)).toBe(true);
    expect<usize>(pageOf(r, B)).toBe(B);
    expect<u32>(field(r, R_KEPT_BYTES)).toBe(<u32>REGION);
    expect<u32>(heapCheck(r)).toBe(0);
    for (let i = 0; i < objects.length; ++i) drop(r, objects[i]); // A empties while B has room: A goes
    expect<usize>(pageOf(r, A)).toBe(0, "no table entry names A");
    expect<u32>(header(A) & META).toBe(0, "A is a block of the general heap again");
    expect<usize>(listed(r, 2)).toBe(B);
    expect<u32>(field(r, R_KEPT_BYTES)).toBe(<u32>REGION);
    expect<u32>(heapCheck(r)).toBe(0);
    // the next object of the class comes from the kept page
    let again = obj(r, 2);
    expect<usize>(pageOf(r, again)).toBe(B);
    drop(r, again);
    expect<bool>(pageKept(B)).toBe(true);
    // pageFlush gives back kept pages too, and the table once no page is left: the heap is whole
    expect<bool>(pageFlush(r)).toBe(true);
    expect<usize>(pageOf(r, B)).toBe(0);
    expect<u32>(field(r, R_KEPT_BYTES)).toBe(0);
    expect<u32>(field(r, R_PT)).toBe(0);
    expect<u32>(field(r, R_PT_COVER)).toBe(0);
    expect<bool>(pageFlush(r)).toBe(false, "nothing left to flush");
    expect<u32>(heapCheck(r)).toBe(0);
    expect<u32>(liveBlocks(r)).toBe(0);
    expect<usize>(take(r, (1 << 18) - ROOT_SIZE - 64)).not.toBe(0, "one free block again");
  });

  it("keeps empty pages only up to max(64 KiB, a sixteenth of the heap)", () => {
    for (let k = 0; k < 2; ++k) {
      let bytes: usize = k == 0 ? 1 << 18 : 1 << 21;
      let r = arenaHeap(bytes);
      let limit = max<u32>(64 << 10, field(r, R_CLAIMED) >> 4);
      expect<u32>(limit).toBe(k == 0 ? 64 << 10 : field(r, R_CLAIMED) >> 4);
      let os = new Array<usize>();
      for (let c: usize = 1; c <= 64; ++c) os.push(obj(r, c)); // a first page (one region) per class
      for (let i = 0; i < os.length; ++i) drop(r, os[i]);
      let kept: u32 = 0, gone: u32 = 0;
      for (let i = 0; i < os.length; ++i) {
        let pg = pageOf(r, os[i]);
        if (pg) {
          expect<bool>(pageKept(pg)).toBe(true);
          kept++;
        } else {
          gone++;
        }
      }
      expect<u32>(kept).toBe(limit >> 12, "as many one-region pages as the limit holds");
      expect<u32>(kept + gone).toBe(64);
      expect<u32>(field(r, R_KEPT_BYTES)).toBe(kept << 12);
      expect<u32>(heapCheck(r)).toBe(0);
    }
  });

  it("ends a page's free list at a link written outside the page or off the grid: never hands out memory elsewhere", () => {
    let r = arenaHeap(1 << 17);
    let outside = take(r, 500);
    for (let k = 0; k < 2; ++k) {
      let c: usize = k == 0 ? 5 : 6;
      let a = obj(r, c), b = obj(r, c);
      let pg = pageOf(r, a);
      drop(r, b);
      let forged = k == 0 ? outside : a + 8; // a general block; a byte inside a live object
      store<u32>(b, <u32>forged); // a write after free, into the freed object's link
      for (let i = 0; i < <i32>capacityOf(pg) + 5; ++i) {
        let o = obj(r, c);
        expect<bool>(o != forged).toBe(true, "the forged link is never handed out");
        let at = pageOf(r, o);
        expect<bool>(at != 0 && pageClass(at) == c).toBe(true, "every object is in a page of its class");
        expect<usize>((o - at - firstOf(at)) % (c << 4)).toBe(0);
      }
      expect<bool>(objectLive(pg, a)).toBe(true);
    }
  });

  it("fails without a page when the arena cannot hold one, and the general heap stays whole", () => {
    let r = arenaHeap(ROOT_SIZE + 4096);
    let blocks = new Array<usize>();
    let p: usize;
    while ((p = take(r, 100)) != 0) blocks.push(p);
    expect<usize>(pageAlloc(r, 1)).toBe(0);
    expect<u32>(field(r, R_PT)).toBe(0, "no table made for nothing");
    expect<u32>(heapCheck(r)).toBe(0);
    expect<u32>(header(blocks[0]) & FREE).toBe(0);
  });
});
