// objects.ts — managed objects for tests/asruntime.test.js, built on AssemblyScript's own runtimes
// and on ralloc-wasm's (--runtime …/ralloc-wasm/assembly/runtime/incremental or minimal). Each
// workload returns a checksum of what it built, which must not depend on the runtime; what it
// keeps lives in globals until drop(). The ralloc-wasm calls read the global heap, which is the
// runtime's under ralloc-wasm's runtime and unused (empty, sound) under AssemblyScript's.
import { check, stats, STATS_SIZE, LocalHeap } from "ralloc-wasm/assembly";

const ST = memory.data(<i32>STATS_SIZE);

/** ralloc_check() of the global heap: 0 when it is sound. */
export function heapCheck(): u32 {
  return check();
}

/** Live blocks and objects of the global heap (stats). */
export function liveBlocks(): u32 {
  stats(ST);
  return load<u32>(ST, 48);
}

/** Bytes in use in the global heap (stats). */
export function bytesInUse(): u32 {
  stats(ST);
  return load<u32>(ST, 8);
}

let keptStrings: string[] = [];
let keptArrays: Array<Array<i32>> = [];
let keptMap = new Map<i32, string>();
let keptSet = new Set<string>();
let keptPeople: Person[] = [];

/** Strings built by concatenation and number formatting, most dropped at once, one in 7 kept. */
export function strings(n: i32): i32 {
  let h = 0;
  let s = "";
  for (let i = 0; i < n; i++) {
    s = s + i.toString(16) + (i % 3 ? "," : ";");
    if (s.length > 40 + i % 200) {
      h = h * 31 + s.length + s.charCodeAt(s.length >> 1);
      if (i % 7 == 0) keptStrings.push(s.slice(1));
      s = "";
    }
  }
  return h + keptStrings.length;
}

/** Arrays grown by push (their buffers renewed as they grow), some of strings, one in 5 kept. */
export function arrays(n: i32): i32 {
  let h = 0;
  for (let i = 0; i < n; i++) {
    let a = new Array<i32>();
    let len = 1 + (i * 37) % 300;
    for (let j = 0; j < len; j++) a.push(j * i);
    let b: string[] = [];
    for (let j = 0; j < (i % 9); j++) b.push(j.toString());
    h = h * 17 + a.length + a[len >> 1] + b.length;
    if (i % 5 == 0) keptArrays.push(a);
  }
  return h + keptArrays.length;
}

/** A Map and a Set churned: keys set, overwritten and deleted, so their tables grow and shrink. */
export function maps(n: i32): i32 {
  let m = new Map<i32, string>();
  for (let i = 0; i < n; i++) {
    let k = (i * 7919) % 1000;
    m.set(k, "v" + i.toString());
    keptMap.set(i % 257, k.toString());
    keptSet.add((i % 331).toString());
    if (i % 3 == 0) m.delete((i * 13) % 1000);
    if (i % 11 == 0) keptSet.delete((i % 97).toString());
  }
  let h = m.size * 1009 + keptMap.size * 31 + keptSet.size;
  let keys = m.keys();
  for (let i = 0; i < keys.length; i++) h = h * 3 + m.get(keys[i]).length;
  return h;
}

/** People who hold references to each other: a best friend (a cycle around the group) and a
 *  list of friends (back references), most groups dropped. */
class Person {
  best: Person | null = null;
  friends: Person[] = [];
  constructor(public name: string, public age: i32) {}
}

/** Groups of people in cycles, dropped but for one group in 10. */
export function people(n: i32): i32 {
  let h = 0;
  for (let g = 0; g < n; g++) {
    let size = 2 + g % 13;
    let group: Person[] = [];
    for (let i = 0; i < size; i++) group.push(new Person("p" + g.toString() + "." + i.toString(), i * 3 + g % 50));
    for (let i = 0; i < size; i++) {
      let p = group[i];
      p.best = group[(i + 1) % size];
      p.friends.push(group[(i + size - 1) % size]);
      if (i % 2 == 0) p.friends.push(group[(i + 2) % size]);
    }
    let walk = group[0];
    for (let i = 0; i < size * 2; i++) {
      h = h * 7 + walk.age + walk.friends.length + walk.name.length;
      walk = walk.best!;
    }
    if (g % 10 == 0) keptPeople.push(group[g % size]);
  }
  return h + keptPeople.length;
}

/** heap.alloc, heap.realloc (growing past a page object, into a large block, shrinking) and
 *  heap.free, the bytes checked after each move. */
export function raw(n: i32): i32 {
  let h = 0;
  for (let i = 0; i < n; i++) {
    let size = <usize>(8 + i % 60);
    let p = heap.alloc(size);
    for (let k: usize = 0; k < size; k++) store<u8>(p + k, <u8>(k + i));
    for (let to: usize = size * 3; to < 5000; to = to * 3) {
      p = heap.realloc(p, to);
      for (let k: usize = 0; k < size; k++) if (load<u8>(p + k) != <u8>(k + i)) return -1;
    }
    p = heap.realloc(p, size);
    for (let k: usize = 0; k < size; k++) h += load<u8>(p + k);
    heap.free(p);
  }
  return h;
}

/** Drops everything the workloads kept. */
export function drop(): void {
  keptStrings = [];
  keptArrays = [];
  keptMap = new Map<i32, string>();
  keptSet = new Set<string>();
  keptPeople = [];
}

let victim: string | null = null;
let victimTimes = 0;

/** A kept string of `times` times "misused" (a page object, or past 1 KiB a general block):
 *  its address, where heap.free is about to be misused, so the host can name it. */
export function victimAddress(times: i32): usize {
  victim = "misused".repeat(times);
  victimTimes = times;
  return changetype<usize>(victim);
}

/** A misuse: the kept string freed with heap.free, as if it were raw memory. The collector still
 *  holds it. Returns its length afterwards. */
export function freeManaged(): i32 {
  heap.free(changetype<usize>(victim));
  return victim!.length;
}

/** The string heap.free was misused on, still intact? Its length, or -1. */
export function victimLength(): i32 {
  let v = victim;
  return v && v == "misused".repeat(victimTimes) ? v.length : -1;
}

/** Forgets the string. */
export function dropVictim(): void {
  victim = null;
}

/** A bug of the kind unchecked code makes: 4 bytes written just past an array's last element,
 *  then the array is dropped; the collector frees it at the next collection. Returns where the
 *  array's buffer starts. */
export function overrun(): usize {
  let a = new Array<i32>(8);
  store<i32>(a.dataStart + 32, 0x5eed);
  return changetype<usize>(a.buffer);
}

/** A LocalHeap grown from the global heap (the runtime's, under ralloc-wasm's runtime) beside
 *  managed strings: n blocks of 8..1,000 bytes allocated in it, every other freed, strings built
 *  in between; then the heap is checked and destroyed. Returns the local heap's check (0: sound)
 *  plus the strings' lengths. */
export function localHeap(n: i32): i32 {
  let h = LocalHeap.grow(16384)!;
  let kept: string[] = [];
  let sum = 0;
  for (let i = 0; i < n; i++) {
    let p = h.alloc(8 + (i * 37) % 1000);
    store<u32>(p, i);
    if (i & 1) h.free(p);
    kept.push("local " + i.toString());
    if (kept.length > 50) { sum += kept.length; kept = []; }
  }
  let c = h.check();
  h.destroy();
  return c * 1000000 + sum;
}
