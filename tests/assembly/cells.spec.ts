// Typed cell allocators (assembly/features/cell.ts, allocator.ts, stack.ts, pool.ts,
// entry/cells.ts), as a program using ralloc-wasm/assembly sees them: alloc-no-stdlib's own
// examples, each allocator under a seeded generative run (tests/assembly/cellcheck.ts), the jail,
// the full free list, and every failure. These specs build with as-pect's configuration
// (tests/as-pect.asconfig.json); tests/cells.test.js runs the generative checks again in the
// release configuration (the pools keep their own cache), with RALLOC_PAGES=0 (the heap's quick
// lists cache) and in the debug one, and reads each failure's exact message.
import {
  Cell, CellView, Allocator, OnFree, StackAllocator, HeapAlloc, HeapAllocUninitialized, HeapPrealloc,
  CallocPool, GlobalPool, CellPool, ralloc_check,
} from "../../assembly/index";
import { ralloc_heap_check } from "../../assembly/entry/api";
import { churn, failure, largestCell, refused, rnd, seedWith } from "./cellcheck";

const STACK_A = memory.data(65536, 16);
const STACK_B = memory.data(65536, 16);
const STACK_C = memory.data(4096, 16);
const STACK_D = memory.data(4096, 16);
const STACK_E = memory.data(1 << 16, 16);
const STACK_F = memory.data(1 << 18, 16);
const GLOBAL_A = memory.data(1 << 16, 16);
const GLOBAL_B = memory.data(1 << 18, 16);
const GLOBAL_C = memory.data(1 << 14, 16);

@unmanaged class V3 {
  x: f32;
  y: f32;
  z: f32;
}

/** alloc-no-stdlib's stack example on allocator a: 9999 and 4 cells, free the 4, reuse its
 *  piece; z[0] is 0 after a zeroing free and the old 6 otherwise. */
function seedExample(a: Allocator<u8>, zeroing: bool): void {
  let x = a.allocCell(9999);
  x[0] = 4;
  let y = a.allocCell(4);
  y[0] = 5;
  a.freeCell(y);
  let three = a.allocCell(3);
  three[0] = 6;
  a.freeCell(three);
  let z = a.allocCell(4);
  z[1] = 8;
  let regetThree = a.allocCell(4);
  regetThree[1] = 9;
  expect<u8>(x[0]).toBe(4);
  expect<u8>(z[0]).toBe(zeroing ? 0 : 6);
  expect<u8>(z[1]).toBe(8);
  expect<u8>(regetThree[0]).toBe(0);
  expect<u8>(regetThree[1]).toBe(9);
  expect<bool>(y.freed && three.freed).toBe(true);
  let last = a.allocCell(1);
  expect<i32>(last.length).toBe(1);
}

/** alloc-no-stdlib's heap example on allocator a: cells of 100,000, 110,000 and 120,000
 *  elements ten times, the middle one freed and the others checked (`zeroed`: they read zero
 *  where not written), then freed as Rust drops them at the end of each iteration. */
function heapExample(a: Allocator<u8>, zeroed: bool): void {
  for (let round = 0; round < 10; ++round) {
    let x = a.allocCell(100000);
    x[0] = 4;
    if (!zeroed) x[99999] = 44;
    let y = a.allocCell(110000);
    y[0] = 5;
    let z = a.allocCell(120000);
    z[0] = 6;
    expect<u8>(y[0]).toBe(5);
    a.freeCell(y);
    expect<u8>(x[0]).toBe(4);
    if (zeroed) expect<u8>(x[9]).toBe(0);
    expect<u8>(x[99999]).toBe(zeroed ? 0 : 44);
    expect<u8>(z[0]).toBe(6);
    a.freeCell(x);
    a.freeCell(z);
  }
}

// Globals the throwing closures below read (AssemblyScript closures capture no locals).
let stale: Cell<u8> = changetype<Cell<u8>>(0);
let liveOne: Cell<u8> = changetype<Cell<u8>>(0);
let staleView: CellView<u8> | null = null;
let stackU8: StackAllocator<u8> | null = null;
let otherU8: StackAllocator<u8> | null = null;

describe("cells: alloc-no-stdlib's own examples", () => {
  it("StackAllocator, zeroing (bzero): 9999 and 4 cells, one freed, the other intact", () => {
    seedExample(new StackAllocator<u8>(STACK_A, 65536, 4, 8, OnFree.ZERO), true);
  });

  it("StackAllocator, leaving freed cells as they are (uninitialized)", () => {
    seedExample(new StackAllocator<u8>(STACK_B, 65536, 4, 8, OnFree.LEAVE), false);
  });

  it("HeapPrealloc, CallocPool and GlobalPool run the same example", () => {
    seedExample(new HeapPrealloc<u8>(6 << 20, 4096, OnFree.ZERO), true);
    seedExample(new CallocPool<u8>(1 << 20, 64, OnFree.ZERO), true);
    seedExample(new GlobalPool<u8>(GLOBAL_A, 1 << 16, 16, OnFree.ZERO), true);
  });

  it("HeapAlloc: 100,000, 110,000 and 120,000 cells ten times, contents checked", () => {
    let h = new HeapAlloc<u8>();
    heapExample(h, true);
    expect<i32>(h.liveCells).toBe(0);
    expect<u32>(ralloc_check()).toBe(0);
  });

  it("HeapAllocUninitialized: the same, and contents survive", () => {
    let h = new HeapAllocUninitialized<u8>();
    heapExample(h, false);
    expect<i32>(h.liveCells).toBe(0);
    expect<u32>(ralloc_check()).toBe(0);
  });
});

// Live set of the jail test, made before the pool so that nothing it does allocates afterwards.
const JAIL_CELLS = 4096;
const jailLive = new StaticArray<usize>(JAIL_CELLS);
const jailStamp = new StaticArray<u8>(JAIL_CELLS);

describe("cells: the jail", () => {
  it("a 6 MiB HeapPrealloc with 4096 cells: memory.size() never changes through 200,000 random steps", () => {
    let pool = new HeapPrealloc<u8>(6 << 20, JAIL_CELLS, OnFree.LEAVE);
    let pages = memory.size();
    seedWith(7);
    let live = 0, made = 0, nulls = 0, bad = 0;
    for (let step = 0; step < 200000; ++step) {
      if (live == 0 || (live < JAIL_CELLS && rnd(3) != 0)) {
        // two allocations to one free, mostly small, sometimes up to 64 KiB: the pool fills up,
        // and stays about full
        let len = rnd(16) == 0 ? 1 + <i32>rnd(65536) : 1 + <i32>rnd(256);
        let c = pool.tryAllocCell(len);
        if (!c) {
          nulls++;
          continue;
        }
        let s = <u8>(step * 31 + 7);
        c[0] = s;
        c[len - 1] = s;
        jailLive[live] = changetype<usize>(c);
        jailStamp[live] = s;
        live++;
        made++;
      } else {
        let k = <i32>rnd(<u32>live);
        let c = changetype<Cell<u8>>(jailLive[k]);
        let s = jailStamp[k];
        if (c[0] != s || c[c.length - 1] != s) bad++;
        pool.freeCell(c);
        live--;
        jailLive[k] = jailLive[live];
        jailStamp[k] = jailStamp[live];
      }
    }
    let grew = memory.size() - pages;
    while (live > 0) pool.freeCell(changetype<Cell<u8>>(jailLive[--live]));
    expect<i32>(grew).toBe(0, "memory.size() changed after the pool was made");
    expect<i32>(memory.size() - pages).toBe(0);
    expect<i32>(bad).toBe(0, "a live cell lost its stamp");
    expect<bool>(nulls > 0).toBe(true, "the run should exhaust the pool at times");
    expect<bool>(made > 90000).toBe(true);
    expect<i32>(pool.liveCells).toBe(0);
    expect<u32>(ralloc_heap_check(pool.heapHandle)).toBe(0);
  });

  it("an exhausted pool returns null from tryAllocCell, and everything comes back after freeing all", () => {
    let pool = new HeapPrealloc<u32>(1 << 16, 512, OnFree.ZERO);
    let most = largestCell(pool, 1 << 16);
    expect<bool>(most > 10000).toBe(true);
    let cells = new Array<Cell<u32>>();
    for (let c = pool.tryAllocCell(100); c; c = pool.tryAllocCell(100)) cells.push(c);
    expect<bool>(cells.length > 100).toBe(true);
    expect<bool>(pool.tryAllocCell(100) == null).toBe(true);
    for (let i = 0; i < cells.length; i += 2) pool.freeCell(cells[i]);
    for (let i = 1; i < cells.length; i += 2) pool.freeCell(cells[i]);
    expect<i32>(largestCell(pool, 1 << 16)).toBe(most, "every byte of the pool is usable again");
  });
});

describe("cells: generative runs through Allocator<u32>", () => {
  it("StackAllocator: disjoint live cells, contents kept, exact accounting", () => {
    for (let seed: u32 = 1; seed <= 5; ++seed) {
      let s = new StackAllocator<u32>(STACK_F, 1 << 18, 64, 256, seed & 1 ? OnFree.ZERO : OnFree.LEAVE);
      expect<i32>(churn(s, seed, 20000, 64, 200, (seed & 1) != 0)).toBe(0, failure);
      expect<u32>(s.heldElements).toBe(0);
      expect<u32>(s.freeElements + s.droppedElements).toBe(s.capacity);
      expect<u32>(s.largestFree()).toBeGreaterThan(0);
    }
  });

  it("HeapAlloc and HeapAllocUninitialized", () => {
    for (let seed: u32 = 1; seed <= 3; ++seed) {
      let h = new HeapAlloc<u32>(OnFree.LEAVE);
      expect<i32>(churn(h, seed, 20000, 300, 200, true)).toBe(0, failure);
      let u = new HeapAllocUninitialized<u32>();
      expect<i32>(churn(u, seed, 20000, 300, 200, false)).toBe(0, failure);
      expect<i32>(h.liveCells + u.liveCells).toBe(0);
    }
    expect<u32>(ralloc_check()).toBe(0);
  });

  it("the pools: and every byte of a pool is usable again once all is freed", () => {
    let pools = new Array<CellPool<u32>>();
    pools.push(new HeapPrealloc<u32>(1 << 18, 256, OnFree.ZERO));
    pools.push(new HeapPrealloc<u32>(1 << 18, 256, OnFree.LEAVE));
    pools.push(new CallocPool<u32>(1 << 18, 256, OnFree.ZERO));
    pools.push(new GlobalPool<u32>(GLOBAL_B, 1 << 18, 256, OnFree.ZERO));
    for (let i = 0; i < pools.length; ++i) {
      let p = pools[i];
      let most = largestCell(p, 1 << 18);
      let pages = memory.size();
      expect<i32>(churn(p, 11 + <u32>i, 30000, 2000, 250, p.onFree == OnFree.ZERO)).toBe(0, failure);
      expect<bool>(refused > 0).toBe(true, "the run should fill the pool at times");
      expect<i32>(memory.size()).toBe(pages);
      expect<u32>(ralloc_heap_check(p.heapHandle)).toBe(0);
      expect<i32>(largestCell(p, 1 << 18)).toBe(most);
    }
  });
});

describe("cells: the free list of a StackAllocator", () => {
  it("when every slot is taken, the smallest piece is dropped, counted, and never handed out again", () => {
    let s = new StackAllocator<u8>(STACK_C, 4096, 4, 16, OnFree.LEAVE);
    let a = s.allocCell(40), b = s.allocCell(50), c = s.allocCell(60), d = s.allocCell(70), e = s.allocCell(80);
    let aPtr = a.ptr, bPtr = b.ptr;
    s.freeCell(a);
    s.freeCell(b);
    s.freeCell(c); // the 4 slots: c, b, a and the rest of the buffer
    expect<i32>(s.freePieces).toBe(4);
    expect<u32>(s.droppedElements).toBe(0);
    s.freeCell(d); // full: a (40) is the smallest and smaller than d (70): a goes, d takes its slot
    expect<u32>(s.droppedElements).toBe(40);
    s.freeCell(e); // b (50) goes next
    expect<u32>(s.droppedElements).toBe(90);
    expect<u32>(s.heldElements + s.freeElements + s.droppedElements).toBe(s.capacity);
    let tiny = s.allocCell(1); // split from c's piece (60): the list stays full
    s.freeCell(tiny); // every slotted piece is larger than the freed one (1): it is dropped itself
    expect<u32>(s.droppedElements).toBe(91);
    expect<u32>(s.heldElements + s.freeElements + s.droppedElements).toBe(s.capacity);
    // nothing handed out from now on lies in the dropped pieces a and b
    for (let i = 0; i < 12; ++i) {
      let x = s.allocCell(1 + i * 3);
      let p = x.ptr;
      expect<bool>(p + <usize>x.length <= aPtr || p >= aPtr + 40).toBe(true);
      expect<bool>(p + <usize>x.length <= bPtr || p >= bPtr + 50).toBe(true);
    }
    expect<u32>(s.heldElements + s.freeElements + s.droppedElements).toBe(s.capacity);
  });

  it("a piece at most SLACK (32) elements longer than asked is handed out whole", () => {
    let s = new StackAllocator<u16>(STACK_D, 4096, 8, 8, OnFree.ZERO);
    let a = s.allocCell(40);
    s.freeCell(a);
    let b = s.allocCell(9); // 40 - 9 = 31 < 32: the whole piece, its 31 extra elements kept by b
    expect<u32>(s.heldElements).toBe(40);
    expect<i32>(b.length).toBe(9);
    s.freeCell(b);
    let c = s.allocCell(8); // 40 - 8 = 32: split
    expect<u32>(s.heldElements).toBe(8);
    s.freeCell(c);
  });
});

describe("cells: types, views and C", () => {
  it("cells of f64 and of an @unmanaged class, stored inline", () => {
    let pool = new HeapPrealloc<V3>(1 << 16, 16);
    let v = pool.allocCell(3);
    expect<i32>(v.byteLength).toBe(36);
    v[1].y = 7;
    let w = new V3();
    w.x = 1;
    w.z = 3;
    v[2] = w; // copies the fields in
    w.x = 100;
    expect<f32>(v[1].y).toBe(7);
    expect<f32>(v[2].x).toBe(1);
    expect<f32>(v[2].z).toBe(3);
    expect<f32>(v[0].x).toBe(0);
    let f = new StackAllocator<f64>(STACK_E, 1 << 16, 4, 4).allocCell(5);
    f[4] = 2.5;
    f.fill(1.25);
    expect<f64>(f[4]).toBe(1.25);
    expect<usize>(f.ptr & 7).toBe(0);
  });

  it("a slice is a view: writes reach the cell; its ptr is what C gets", () => {
    let h = new HeapAlloc<i32>();
    let c = h.allocCell(10);
    let v = c.slice(2, 6);
    expect<i32>(v.length).toBe(4);
    v[0] = -7;
    v.slice(1, 3)[1] = 9;
    expect<i32>(c[2]).toBe(-7);
    expect<i32>(c[4]).toBe(9);
    expect<usize>(v.ptr).toBe(c.ptr + 8);
    memory.fill(c.ptr, 0xFF, <usize>c.byteLength); // as a C function given (ptr, byteLength) would
    expect<i32>(c[9]).toBe(-1);
    h.freeCell(c);
    expect<bool>(v.alive).toBe(false);
  });

  it("the empty cell: length 0, freeing it does nothing", () => {
    let h = new HeapAlloc<u8>();
    let e = h.allocCell(0);
    expect<i32>(e.length).toBe(0);
    expect<u32>(e.serial).toBe(0);
    h.freeCell(e);
    h.freeCell(e);
    expect<bool>(e.freed).toBe(false);
  });
});

describe("cells: a freed cell is dead", () => {
  it("reading, writing, slicing, taking ptr or freeing it again fails", () => {
    stackU8 = new StackAllocator<u8>(memory.data(4096, 16), 4096, 4, 8);
    stale = stackU8!.allocCell(4);
    staleView = stale.slice(0, 2);
    stackU8!.freeCell(stale);
    expect<bool>(stale.freed).toBe(true);
    expect<i32>(stale.length).toBe(0);
    expect(() => { stale[0]; }).toThrow();
    expect(() => { stale[0] = 1; }).toThrow();
    expect(() => { stale.ptr; }).toThrow();
    expect(() => { stale.slice(0, 0); }).toThrow();
    expect(() => { stackU8!.freeCell(stale); }).toThrow();
    expect(() => { staleView![0]; }).toThrow();
    expect(() => { staleView![1] = 3; }).toThrow();
  });

  it("a freed record waits behind every other free record before a newer cell gets it", () => {
    let s = new StackAllocator<u8>(memory.data(4096, 16), 4096, 4, 8, OnFree.LEAVE);
    let old = s.allocCell(4);
    let serial = old.serial;
    s.freeCell(old);
    // 7 fresh records remain: the next 7 cells do not reuse old's record
    let held = new Array<Cell<u8>>();
    for (let i = 0; i < 7; ++i) {
      held.push(s.allocCell(4));
      expect<bool>(old.freed).toBe(true);
    }
    // the 8th does: old now names that newer cell (the documented limit of a one-word handle)
    let newer = s.allocCell(4);
    expect<usize>(changetype<usize>(newer)).toBe(changetype<usize>(old));
    expect<bool>(old.serial != serial).toBe(true);
    // a view made before the free still knows its cell is gone
    let h = new HeapAlloc<u8>();
    let c = h.allocCell(3);
    staleView = c.slice(0, 3);
    h.freeCell(c);
    for (let i = 0; i < 200; ++i) h.freeCell(h.allocCell(3)); // the record is reused by now
    expect<bool>(staleView!.alive).toBe(false);
    expect(() => { staleView![0]; }).toThrow();
  });

  it("freeing a cell of another allocator fails, and leaves both as they were", () => {
    stackU8 = new StackAllocator<u8>(memory.data(4096, 16), 4096, 4, 8);
    otherU8 = new StackAllocator<u8>(memory.data(4096, 16), 4096, 4, 8);
    liveOne = otherU8!.allocCell(5);
    expect(() => { stackU8!.freeCell(liveOne); }).toThrow();
    expect<bool>(liveOne.freed).toBe(false);
  });
});

describe("cells: bad input fails with a message", () => {
  it("an index out of range, in every build", () => {
    stackU8 = new StackAllocator<u8>(memory.data(4096, 16), 4096, 4, 8);
    liveOne = stackU8!.allocCell(4);
    expect(() => { liveOne[4]; }).toThrow();
    expect(() => { liveOne[-1] = 0; }).toThrow();
    expect(() => { liveOne.slice(3, 5); }).toThrow();
    expect(() => { liveOne.slice(2, 1); }).toThrow();
    expect(() => { stackU8!.allocCell(-1); }).toThrow();
    expect(() => { stackU8!.tryAllocCell(-1); }).toThrow();
    expect(() => { stackU8!.allocCell(5000); }).toThrow(); // out of memory
    expect<bool>(stackU8!.tryAllocCell(5000) == null).toBe(true);
  });

  it("a static buffer binds to one GlobalPool only; other memory is refused", () => {
    new GlobalPool<u8>(GLOBAL_C, 1 << 14, 8);
    expect(() => { new GlobalPool<u8>(GLOBAL_C, 1 << 14, 8); }).toThrow();
    expect(() => { new GlobalPool<u8>(GLOBAL_C + 4096, 4096, 8); }).toThrow();
    expect(() => { new GlobalPool<u8>(heap.alloc(1 << 14), 1 << 14, 8); }).toThrow();
  });

  it("a buffer too small for the allocator's own parts", () => {
    expect(() => { new StackAllocator<u8>(memory.data(64, 16), 64, 4, 4); }).toThrow();
    expect(() => { new StackAllocator<u8>(memory.data(4096, 16), 4096, 0, 4); }).toThrow();
    expect(() => { new HeapPrealloc<u8>(1024, 4); }).toThrow();
  });
});
