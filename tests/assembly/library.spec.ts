// The AssemblyScript library surface (ralloc-wasm/assembly), used from another AS module: here
// the as-pect test module, whose own runtime (TLSF) shares memory with ralloc-wasm's global heap.
import {
  malloc, free, alloc, tryAlloc, inplaceRealloc, dealloc, donate, trim, setOomHandler, LocalHeap,
  ralloc_check, malloc_usable_size, assertNoLeak, seed,
} from "../../assembly/index";

let oomCalls = 0;
function refuse(size: usize): bool {
  oomCalls++;
  return false;
}

describe("ralloc-wasm/assembly", () => {
  it("counts live blocks for assertNoLeak, and refuses a new seed once the heap exists", () => {
    let before = assertNoLeak(); // release configuration: a count, no report
    let a = malloc(10), b = malloc(200), c = malloc(3000);
    expect<u32>(assertNoLeak()).toBe(before + 3);
    free(b);
    expect<u32>(assertNoLeak()).toBe(before + 2);
    free(a);
    free(c);
    expect<u32>(assertNoLeak()).toBe(before);
    expect<bool>(seed(1, 2)).toBe(false);
  });

  it("serves malloc and free next to the module's own runtime", () => {
    let a = malloc(100), b = malloc(5000);
    expect<usize>(a & 15).toBe(0);
    expect<bool>(b >= a + 100 || a >= b + 5000).toBe(true);
    let s = "a managed string the AS runtime allocates meanwhile";
    free(a);
    free(b);
    expect<i32>(s.length).toBeGreaterThan(10);
    expect<u32>(ralloc_check()).toBe(0);
  });

  it("alloc honours any alignment; dealloc frees parts of a block", () => {
    let p = alloc(300, 100);
    expect<usize>(p % 100).toBe(0);
    expect<bool>(dealloc(p, 150)).toBe(true);
    expect<bool>(dealloc(p + 150, 150)).toBe(true);
    expect<bool>(dealloc(p + 150, 10)).toBe(false); // freed already
    expect<u32>(ralloc_check()).toBe(0);
  });

  it("inplaceRealloc shrinks in place; tryAlloc fails without calling the handler", () => {
    let p = malloc(4000);
    expect<usize>(inplaceRealloc(p, 100)).toBe(p, "shrinks in place");
    expect<bool>(malloc_usable_size(p) < 200).toBe(true);
    setOomHandler(refuse);
    expect<usize>(tryAlloc(0xFFFE_FFF0, 16)).toBe(0, "tryAlloc: passes the size checks, but the heap starts above 64 KiB");
    expect<i32>(oomCalls).toBe(0);
    expect<usize>(alloc(0xFFFE_FFF0, 16)).toBe(0, "alloc after the handler refused");
    expect<i32>(oomCalls).toBe(1);
    setOomHandler(null);
    free(p);
    expect<u32>(ralloc_check()).toBe(0);
  });

  it("donate adds a buffer the heap never handed out; trim returns nothing when the top is in use", () => {
    let buf = heap.alloc(8192); // memory of the AS runtime, not of ralloc-wasm
    expect<bool>(donate(buf, 8192)).toBe(true);
    expect<bool>(donate(buf, 8192)).toBe(false); // it is the heap's now
    expect<u32>(ralloc_check()).toBe(0);
    expect<usize>(trim()).toBeGreaterThanOrEqual(0);
  });

  it("a LocalHeap over a buffer, and one grown from the global heap, each released at once", () => {
    let buf = malloc(32768);
    let h = LocalHeap.over(buf, 32768)!;
    let p = h.alloc(1000);
    expect<bool>(p >= buf && p < buf + 32768).toBe(true);
    expect<bool>(h.free(p)).toBe(true);
    expect<bool>(h.free(p)).toBe(false);
    expect<u32>(h.check()).toBe(0);
    h.destroy();
    free(buf);
    let g = LocalHeap.grow(1000)!;
    for (let i = 0; i < 100; ++i) expect<usize>(g.alloc(2000)).not.toBe(0);
    expect<u32>(g.check()).toBe(0);
    g.destroy();
    expect<u32>(ralloc_check()).toBe(0);
    expect<bool>(LocalHeap.over(buf, 16) == null).toBe(true);
  });
});
