// jail.ts — alloc-no-stdlib's "jail" in AssemblyScript: set aside all the memory a task may use,
// once, then run the task, which allocates and frees cells as much as it likes; memory never
// grows again (a host may even forbid it: give the module a memory with a maximum equal to what
// it has once the pool exists). Run it with `node examples/as/run.js`.
//
// The task: 2,000 random polygons, each a cell of Points built, measured (area, perimeter, the
// median edge through a scratch cell of f64) and kept in a window of the last 100; older ones are
// freed. Its result is a checksum; what the program prints shows memory.size() did not change.
//
// In a project of your own, import from "ralloc-wasm/assembly" instead of the relative path.
import { HeapPrealloc, OnFree, Cell } from "../../assembly/index";

/** The host prints a line (run.js). */
// @ts-ignore: decorator
@external("example", "print")
declare function print(line: string): void;

/** A point of a polygon, stored inline in its cell: an @unmanaged class. */
@unmanaged class Point {
  x: f64;
  y: f64;
}

/** A deterministic generator, so the checksum is the same on every run. */
let seed: u32 = 2024;
function random(): f64 {
  seed = seed * 1664525 + 1013904223;
  return <f64>(seed >>> 8) / 16777216.0;
}

/** Sorts the first n elements of a cell of f64 (insertion sort: cells are small here). */
function sort(a: Cell<f64>, n: i32): void {
  for (let i = 1; i < n; ++i) {
    let v = a[i];
    let j = i - 1;
    while (j >= 0 && a[j] > v) {
      a[j + 1] = a[j];
      j--;
    }
    a[j + 1] = v;
  }
}

export function main(): void {
  // 1. The jail: one pool of 1 MiB, room for 256 live cells. Nothing is allocated after this
  //    but cells: not even the window below, which is a cell too.
  let points = new HeapPrealloc<Point>(1 << 20, 256, OnFree.LEAVE);
  let numbers = new HeapPrealloc<f64>(1 << 16, 8, OnFree.LEAVE);
  let slots = new HeapPrealloc<usize>(1 << 12, 4, OnFree.ZERO);
  let window = slots.allocCell(100); // the polygons kept, as cells (their addresses); zeroed
  let pages = memory.size();
  print("pool ready: memory is " + pages.toString() + " pages of 64 KiB");

  // 2. The task: allocates heavily.
  let checksum: f64 = 0;
  let made = 0;
  for (let round = 0; round < 2000; ++round) {
    let n = 3 + <i32>(random() * 62);
    let poly = points.allocCell(n);
    let r = 1 + random() * 9;
    for (let i = 0; i < n; ++i) {
      let angle = 2 * Math.PI * <f64>i / <f64>n;
      let p = poly[i]; // a reference into the cell
      p.x = r * Math.cos(angle) * (0.8 + 0.2 * random());
      p.y = r * Math.sin(angle) * (0.8 + 0.2 * random());
    }
    let edges = numbers.allocCell(n); // scratch
    let area: f64 = 0;
    for (let i = 0; i < n; ++i) {
      let a = poly[i], b = poly[(i + 1) % n];
      area += a.x * b.y - b.x * a.y;
      edges[i] = Math.hypot(b.x - a.x, b.y - a.y);
    }
    sort(edges, n);
    checksum += Math.abs(area) / 2 + edges[n >> 1];
    numbers.freeCell(edges);
    let slot = round % 100;
    if (window[slot]) points.freeCell(changetype<Cell<Point>>(window[slot])); // the oldest goes
    window[slot] = changetype<usize>(poly);
    made += 2;
  }

  // 3. The proof: memory did not grow (measured before the strings below, which are objects of
  //    AssemblyScript's own heap), and a cell larger than the pool fails cleanly.
  let grew = memory.size() - pages;
  let live = points.liveCells;
  print(made.toString() + " cells made, " + (made - live).toString() + " freed; " + live.toString() + " polygons live");
  print("checksum " + checksum.toString());
  print("memory grew by " + grew.toString() + " pages");
  let tooBig = points.tryAllocCell(1 << 20);
  print("a cell of 2^20 points: " + (tooBig ? "given" : "refused (null), memory still " + memory.size().toString() + " pages"));
}
