// small/page.ts: release's size-class pages, over fixed arenas. Objects are taken and freed as
// entry/cabi.ts's malloc and free do (pagePop/pagePush, counting nothing: inspect/stats.ts
// derives the objects' calls), so the heap walk (inspect/check.ts) must pass after every step.
import {
  PAGE_MAX, REGION, classOf, regionsOf, pageAlloc, pagePush, pageOf, pageFlush, pageClass, pageRegions,
  firstOf, objectSize, capacityOf, freeHead, localHead, pageFull, pageLive, objectLive, objectAround, isTable,
} from "../../assembly/small/page";
import { header, sizeOf, META, FREE } from "../../assembly/base/block";
import { ROOT_SIZE, R_PT, R_PT_COVER, CLASS_SLOTS, classSlot, field } from "../../assembly/base/root";
import { PAGES } from "../../assembly/base/config";
import { liveBlocks } from "../../assembly/core/counters";
import { heapCheck } from "../../assembly/inspect/check";
import { arenaHeap, take } from "./arena.include";

/** An object of class c from heap r, as malloc takes it; 0 when no page can be had. */
function obj(r: usize, c: usize): usize {
  return pageAlloc(r, c);
}

/** Frees p as free does when p lies in a page: whether it freed an object. */
function drop(r: usize, p: usize): bool {
  let pg = pageOf(r, p);
  return pg != 0 && pagePush(r, pg, p);
}

/** Live objects in page pg. */
function usedOf(pg: usize): usize {
  return <usize><u32>pageLive(pg);
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
      expect<bool>(pageFull(pg)).toBe(true);
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
    // b is handed out once, not twice, and a and c not at all
    let seen = 0;
    for (let i = 0; i < <i32>capacityOf(pg) - 2; ++i) {
      let x = obj(r, 4);
      expect<bool>(x != a && x != c).toBe(true, "a live object is never handed out");
      if (x == b) seen++;
    }
    expect<i32>(seen).toBe(1);
    expect<u32>(heapCheck(r)).toBe(0);
  });

  it("keeps freed objects on the page's local list and hands them out when the objects threaded from its bump are gone, last freed first", () => {
    let r = arenaHeap(1 << 16);
    let a = obj(r, 2), b = obj(r, 2), c = obj(r, 2);
    let pg = pageOf(r, a);
    drop(r, a);
    drop(r, b);
    expect<usize>(localHead(pg)).toBe(b, "the last freed object heads the local list");
    expect<usize>(load<u32>(b)).toBe(a, "its first word links to the one before");
    // 16 objects were threaded when the page was made: 13 are left before the local list is used
    for (let i = 0; i < 13; ++i) {
      let x = obj(r, 2);
      expect<bool>(x != a && x != b && x != c).toBe(true);
    }
    expect<usize>(obj(r, 2)).toBe(b);
    expect<usize>(obj(r, 2)).toBe(a);
    expect<usize>(localHead(pg)).toBe(0);
    expect<u32>(heapCheck(r)).toBe(0);
  });

  it("puts a full page back at the head of its class's list when an object of it is freed", () => {
    let r = arenaHeap(1 << 16);
    let objects = fill(r, obj(r, 8));
    let pg = pageOf(r, objects[0]);
    expect<bool>(listed(r, 8) != pg).toBe(true);
    drop(r, objects[5]);
    expect<usize>(listed(r, 8)).toBe(pg, "alone in the list: it is its head");
    expect<usize>(freeHead(pg)).toBe(objects[5], "the freed object is ready to be handed out");
    expect<usize>(obj(r, 8)).toBe(objects[5]);
    expect<bool>(pageFull(pg)).toBe(true, "full again, out of the list");
    // a full page that gains a free object goes to the head; the page there keeps its free list
    let others = fill(r, obj(r, 8));
    let pg2 = pageOf(r, others[0]);
    let spare = obj(r, 8); // a third page, head of the list, with objects to hand out
    let pg3 = pageOf(r, spare);
    expect<bool>(pg2 != pg && pg3 != pg2 && pg3 != pg).toBe(true);
    drop(r, objects[7]); // pg gains one: it heads the list
    expect<usize>(listed(r, 8)).toBe(pg);
    expect<usize>(obj(r, 8)).toBe(objects[7]);
    expect<usize>(listed(r, 8)).toBe(pg3, "pg is full again; pg3 heads the list with its free list intact");
    expect<usize>(pageOf(r, obj(r, 8))).toBe(pg3);
    expect<u32>(heapCheck(r)).toBe(0);
  });

  it("leaves emptied pages where they are until pageFlush gives them back; then the heap is whole", () => {
    let r = arenaHeap(1 << 18);
    let objects = fill(r, obj(r, 2)); // page A, full
    let A = pageOf(r, objects[0]);
    let extra = obj(r, 2); // page B
    let B = pageOf(r, extra);
    expect<bool>(B != A).toBe(true);
    drop(r, extra);
    for (let i = 0; i < objects.length; ++i) drop(r, objects[i]);
    expect<usize>(pageOf(r, A)).toBe(A, "a free looks for no empty page");
    expect<usize>(pageOf(r, B)).toBe(B);
    expect<u32>(heapCheck(r)).toBe(0);
    // the next object of the class comes from the head page
    let again = obj(r, 2);
    expect<usize>(pageOf(r, again)).toBe(listed(r, 2) == B ? B : pageOf(r, again));
    drop(r, again);
    // pageFlush gives back every page without a live object, and the table once none is left
    expect<bool>(pageFlush(r)).toBe(true);
    expect<usize>(pageOf(r, A)).toBe(0);
    expect<usize>(pageOf(r, B)).toBe(0);
    expect<u32>(header(A) & META).toBe(0, "A is a block of the general heap again");
    expect<u32>(field(r, R_PT)).toBe(0);
    expect<u32>(field(r, R_PT_COVER)).toBe(0);
    expect<bool>(pageFlush(r)).toBe(false, "nothing left to flush");
    expect<u32>(heapCheck(r)).toBe(0);
    expect<u32>(liveBlocks(r)).toBe(0);
    expect<usize>(take(r, (1 << 18) - ROOT_SIZE - 64)).not.toBe(0, "one free block again");
  });

  it("pageFlush keeps every page with a live object, full or not, and the table with them", () => {
    let r = arenaHeap(1 << 20);
    let full = fill(r, obj(r, 3));
    let some = new Array<usize>();
    for (let c: usize = 1; c <= 64; ++c) some.push(obj(r, c)); // a page per class: class 3 gets a second
    for (let c: usize = 1; c <= 64; c += 2) drop(r, some[<i32>c - 1]); // odd classes' pages empty
    expect<bool>(pageFlush(r)).toBe(true);
    for (let c: usize = 1; c <= 64; ++c) {
      let o = some[<i32>c - 1];
      if (c & 1) expect<bool>(pageOf(r, o) == 0 || c == 3).toBe(true, "an empty page went back");
      else expect<bool>(objectLive(pageOf(r, o), o)).toBe(true, "a page with a live object stays");
    }
    expect<bool>(pageOf(r, full[0]) != 0).toBe(true, "the full page stays");
    expect<u32>(heapCheck(r)).toBe(0);
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
