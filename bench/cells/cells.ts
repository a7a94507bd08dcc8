// The cell allocators' benchmark workloads (bench/lib/cells.js runs them): many small typed
// cells under allocation and free churn, on each allocator of ralloc-wasm/assembly, against
// AssemblyScript's own heap.alloc / heap.free (TLSF, --runtime incremental) and ralloc-wasm's
// malloc / free in the same module. One instance measures one allocator: prepare(kind), then
// pair(n) or churn(n). Every variant reads and writes the same values, so the checksums agree.
// GlobalPool runs in a second build of this file, with --use CELLS_STATIC=1 (its static buffer).
//
//   pair    one cell of 8 u32 allocated, its first and last element written, the first read
//           back, the cell freed: the shortest life a cell can have
//   churn   1,000 live cells of 1..32 u32 (4..128 bytes); one operation frees a random one
//           (after reading its first and last element) and allocates a new one in its place
//           (writing both); the initial fill and the final drain count as 2,000 more
import {
  Cell, OnFree, StackAllocator, HeapAlloc, HeapAllocUninitialized, HeapPrealloc, CallocPool, GlobalPool,
  malloc, free,
} from "../../assembly/index";

/** The allocators, in the order bench/lib/cells.js names them. */
const TLSF = 0, STACK = 1, STACK_ZERO = 2, HEAP = 3, HEAP_UNINIT = 4, PREALLOC = 5, PREALLOC_ZERO = 6,
  CALLOC = 7, GLOBAL = 8, MALLOC = 9;

/** Bytes every pool and StackAllocator is given: the same for all. */
const POOL_BYTES: usize = 1 << 20;
/** Records for live cells: the churn keeps 1,000. */
const CELLS: i32 = 2048;
/** Free-list slots of the StackAllocators. */
const SLOTS: i32 = 64;
/** GlobalPool's static buffer: in a module of its own (--use CELLS_STATIC=1), since static data
 *  is in memory from the start and the runtime's heap grows in proportion to memory. */
// @ts-ignore: compile-time constant from --use
const GLOBAL_BUFFER = memory.data(isDefined(CELLS_STATIC) ? <i32>POOL_BYTES : 16, 16);

const LIVE = 1000;
const live = new StaticArray<usize>(LIVE);
const lens = new StaticArray<i32>(LIVE);
let state: u32 = 0;

/** The workloads' generator: the same sequence for every allocator. */
// @ts-ignore: decorator
@inline function rnd(n: u32): u32 {
  state = state * 1664525 + 1013904223;
  return <u32>((<u64>(state >>> 8) * <u64>n) >>> 24);
}

let kind = 0;
let stack: StackAllocator<u32> | null = null;
let heapCells: HeapAlloc<u32> | null = null;
let heapUninit: HeapAllocUninitialized<u32> | null = null;
let pool: HeapPrealloc<u32> | null = null;
let callocPool: CallocPool<u32> | null = null;
let globalPool: GlobalPool<u32> | null = null;
let operations = 0;

/** Memory (bytes) when the instance started, before any allocator was made. */
const startBytes: usize = <usize>memory.size() << 16;

/** Makes allocator k (the numbers above), before any timing. */
export function prepare(k: i32): void {
  kind = k;
  // @ts-ignore: compile-time constant from --use
  if ((k == GLOBAL) != isDefined(CELLS_STATIC)) throw new Error("GlobalPool runs in the module built with CELLS_STATIC, alone");
  if (k == STACK || k == STACK_ZERO) {
    stack = new StackAllocator<u32>(heap.alloc(POOL_BYTES), POOL_BYTES, SLOTS, CELLS, k == STACK ? OnFree.LEAVE : OnFree.ZERO);
  } else if (k == HEAP) heapCells = new HeapAlloc<u32>(OnFree.LEAVE);
  else if (k == HEAP_UNINIT) heapUninit = new HeapAllocUninitialized<u32>(OnFree.LEAVE);
  else if (k == PREALLOC || k == PREALLOC_ZERO) pool = new HeapPrealloc<u32>(POOL_BYTES, CELLS, k == PREALLOC ? OnFree.LEAVE : OnFree.ZERO);
  else if (k == CALLOC) callocPool = new CallocPool<u32>(POOL_BYTES, CELLS, OnFree.LEAVE);
  else if (k == GLOBAL) globalPool = new GlobalPool<u32>(GLOBAL_BUFFER, POOL_BYTES, CELLS, OnFree.LEAVE);
}

/** Operations the last run counted. */
export function ops(): i32 {
  return operations;
}

/** Memory the instance added since it started, in bytes (wasm memory never shrinks: the peak). */
export function addedBytes(): usize {
  return (<usize>memory.size() << 16) - startBytes;
}

/** Bytes of static data the allocator uses (GlobalPool's buffer), beside addedBytes. */
export function staticBytes(): usize {
  return kind == GLOBAL ? POOL_BYTES : 0;
}

/** The pair workload on a cell allocator. */
function pairCells<A>(a: A, n: i32): u32 {
  let sum: u32 = 0;
  for (let i = 0; i < n; ++i) {
    let c = a.allocCell(8);
    c[0] = <u32>i;
    c[7] = <u32>i;
    sum += c[0];
    a.freeCell(c);
  }
  return sum;
}

/** The pair workload on malloc-like functions over raw memory. */
// @ts-ignore: decorator
@inline function pairRaw(n: i32, useTlsf: bool): u32 {
  let sum: u32 = 0;
  for (let i = 0; i < n; ++i) {
    let p = useTlsf ? heap.alloc(32) : malloc(32);
    store<u32>(p, <u32>i);
    store<u32>(p, <u32>i, 28);
    sum += load<u32>(p);
    if (useTlsf) heap.free(p);
    else free(p);
  }
  return sum;
}

/** One allocation, free and allocation: n pairs. */
export function pair(n: i32): u32 {
  operations = n;
  if (kind == TLSF) return pairRaw(n, true);
  if (kind == MALLOC) return pairRaw(n, false);
  if (kind == STACK || kind == STACK_ZERO) return pairCells(stack!, n);
  if (kind == HEAP) return pairCells(heapCells!, n);
  if (kind == HEAP_UNINIT) return pairCells(heapUninit!, n);
  if (kind == PREALLOC || kind == PREALLOC_ZERO) return pairCells(pool!, n);
  if (kind == CALLOC) return pairCells(callocPool!, n);
  return pairCells(globalPool!, n);
}

/** The churn workload on a cell allocator. */
function churnCells<A>(a: A, n: i32): u32 {
  state = 0x2545f491;
  let sum: u32 = 0;
  for (let i = 0; i < LIVE; ++i) {
    let len = 1 + <i32>rnd(32);
    let c = a.allocCell(len);
    c[0] = <u32>i;
    c[len - 1] = <u32>i;
    unchecked(live[i] = changetype<usize>(c));
    unchecked(lens[i] = len);
  }
  for (let j = 0; j < n; ++j) {
    let i = <i32>rnd(LIVE);
    let c = changetype<Cell<u32>>(unchecked(live[i]));
    sum += c[0] + c[c.length - 1];
    a.freeCell(c);
    let len = 1 + <i32>rnd(32);
    c = a.allocCell(len);
    c[0] = <u32>j;
    c[len - 1] = <u32>j;
    unchecked(live[i] = changetype<usize>(c));
    unchecked(lens[i] = len);
  }
  for (let i = 0; i < LIVE; ++i) {
    let c = changetype<Cell<u32>>(unchecked(live[i]));
    sum += c[0];
    a.freeCell(c);
  }
  return sum;
}

/** The churn workload on malloc-like functions over raw memory. */
// @ts-ignore: decorator
@inline function churnRaw(n: i32, useTlsf: bool): u32 {
  state = 0x2545f491;
  let sum: u32 = 0;
  for (let i = 0; i < LIVE; ++i) {
    let len = 1 + <i32>rnd(32);
    let p = useTlsf ? heap.alloc(<usize>len << 2) : malloc(<usize>len << 2);
    store<u32>(p, <u32>i);
    store<u32>(p + ((<usize>len - 1) << 2), <u32>i);
    unchecked(live[i] = p);
    unchecked(lens[i] = len);
  }
  for (let j = 0; j < n; ++j) {
    let i = <i32>rnd(LIVE);
    let p = unchecked(live[i]);
    sum += load<u32>(p) + load<u32>(p + ((<usize>unchecked(lens[i]) - 1) << 2));
    if (useTlsf) heap.free(p);
    else free(p);
    let len = 1 + <i32>rnd(32);
    p = useTlsf ? heap.alloc(<usize>len << 2) : malloc(<usize>len << 2);
    store<u32>(p, <u32>j);
    store<u32>(p + ((<usize>len - 1) << 2), <u32>j);
    unchecked(live[i] = p);
    unchecked(lens[i] = len);
  }
  for (let i = 0; i < LIVE; ++i) {
    let p = unchecked(live[i]);
    sum += load<u32>(p);
    if (useTlsf) heap.free(p);
    else free(p);
  }
  return sum;
}

/** n churn operations, plus the fill and the drain. */
export function churn(n: i32): u32 {
  operations = n + 2 * LIVE;
  if (kind == TLSF) return churnRaw(n, true);
  if (kind == MALLOC) return churnRaw(n, false);
  if (kind == STACK || kind == STACK_ZERO) return churnCells(stack!, n);
  if (kind == HEAP) return churnCells(heapCells!, n);
  if (kind == HEAP_UNINIT) return churnCells(heapUninit!, n);
  if (kind == PREALLOC || kind == PREALLOC_ZERO) return churnCells(pool!, n);
  if (kind == CALLOC) return churnCells(callocPool!, n);
  return churnCells(globalPool!, n);
}

/** Live cells left behind, and elements StackAllocator dropped: checked after a run. */
export function leftover(): i32 {
  if (kind == STACK || kind == STACK_ZERO) return stack!.liveCells;
  if (kind == PREALLOC || kind == PREALLOC_ZERO) return pool!.liveCells;
  if (kind == CALLOC) return callocPool!.liveCells;
  if (kind == GLOBAL) return globalPool!.liveCells;
  if (kind == HEAP) return heapCells!.liveCells;
  if (kind == HEAP_UNINIT) return heapUninit!.liveCells;
  return 0;
}

/** Elements a StackAllocator dropped during the run (its free list was full). */
export function dropped(): u32 {
  return stack ? stack!.droppedElements : 0;
}
