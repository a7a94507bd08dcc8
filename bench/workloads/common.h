/* Shared by every benchmark workload. Freestanding: no libc headers, so the same
 * source compiles against wasi-libc (dlmalloc) and with the malloc family imported.
 *
 * Contract of a workload module:
 *   run(n, seed) -> u32 checksum   does about n operations (see each file for what one
 *                                   operation is) and frees everything it allocated;
 *                                   traps (unreachable) if any block's data was damaged.
 *   ops()        -> u32            operations done by the last run (the runner divides by it)
 *   peak_live()  -> u32            peak of the bytes requested and not yet freed
 * The checksum depends only on n, seed and the data read back, never on addresses,
 * so it must be equal for every allocator.
 */
typedef unsigned long size_t;
typedef unsigned int u32;
typedef unsigned char u8;

void *malloc(size_t size);
void free(void *ptr);
void *realloc(void *ptr, size_t size);

#define EXPORT(name) __attribute__((export_name(name)))

/* Every pointer escapes through this volatile store, so clang cannot pair up and delete
 * a malloc/free (it does that for pointers that never leave the function). */
static void *volatile bench_sink;
static inline void escape(void *p) { bench_sink = p; }

static inline void fail(void) { __builtin_trap(); }
#define CHECK(cond) do { if (!(cond)) fail(); } while (0)

static u32 rng;
static inline void seed_rng(u32 seed) { rng = seed ? seed : 0x9e3779b9u; }
static inline u32 rnd(void) { /* xorshift32 */
  u32 x = rng; x ^= x << 13; x ^= x >> 17; x ^= x << 5; return rng = x;
}
/* uniform-ish in [lo, hi] */
static inline u32 rnd_range(u32 lo, u32 hi) { return lo + rnd() % (hi - lo + 1); }

static u32 ops_done, live_bytes, peak_bytes;
static inline void count_alloc(u32 size) {
  live_bytes += size;
  if (live_bytes > peak_bytes) peak_bytes = live_bytes;
}
static inline void count_free(u32 size) { live_bytes -= size; }
static inline void begin(u32 seed) { seed_rng(seed); ops_done = 0; live_bytes = 0; peak_bytes = 0; }

EXPORT("ops") u32 ops(void) { return ops_done; }
EXPORT("peak_live") u32 peak_live(void) { return peak_bytes; }

/* Stamps: three bytes per block (first, middle, last), each a function of the block's tag
 * and the offset, so an overlapping block or a bad realloc copy shows up when checked. */
static inline u8 stamp_byte(u32 tag, u32 off) { return (u8)((tag * 2654435761u + off * 40503u) >> 24); }
static inline void stamp(u8 *p, u32 size, u32 tag) {
  if (!size) return;
  p[0] = stamp_byte(tag, 0);
  p[(size - 1) >> 1] = stamp_byte(tag, (size - 1) >> 1);
  p[size - 1] = stamp_byte(tag, size - 1);
}
/* checks the stamps of a block of `size` bytes; returns a value for the checksum */
static inline u32 verify(const u8 *p, u32 size, u32 tag) {
  if (!size) return 0;
  CHECK(p[0] == stamp_byte(tag, 0));
  CHECK(p[(size - 1) >> 1] == stamp_byte(tag, (size - 1) >> 1));
  CHECK(p[size - 1] == stamp_byte(tag, size - 1));
  return p[0] + p[size - 1];
}
/* after realloc from old to new size: the stamps of the old block that lie in the kept
 * prefix must have survived */
static inline u32 verify_prefix(const u8 *p, u32 old_size, u32 new_size, u32 tag) {
  u32 s = 0, o;
  if (!old_size || !new_size) return 0;
  o = 0; if (o < new_size) { CHECK(p[o] == stamp_byte(tag, o)); s += p[o]; }
  o = (old_size - 1) >> 1; if (o < new_size) { CHECK(p[o] == stamp_byte(tag, o)); s += p[o]; }
  o = old_size - 1; if (o < new_size) { CHECK(p[o] == stamp_byte(tag, o)); s += p[o]; }
  return s;
}
static inline void *xmalloc(size_t n) { void *p = malloc(n); CHECK(p != 0); escape(p); return p; }
static inline void *xrealloc(void *q, size_t n) { void *p = realloc(q, n); CHECK(p != 0); escape(p); return p; }
/* n malloc(32) + free pairs, each block written and read back; returns a value for the checksum
 * (pair32's operation, and warm_pair's once its heap is used) */
static inline u32 pairs(u32 n, u32 seed) {
  u32 sum = 0;
  for (u32 i = 0; i < n; i++) {
    volatile u32 *p = xmalloc(32);
    count_alloc(32);
    p[0] = i ^ seed;
    p[7] = i;
    sum += (p[0] ^ seed) + p[7];
    CHECK(p[7] == i);
    count_free(32);
    free((void *)p);
  }
  return sum;
}
