/* kernel.c -- the threads benchmark's workloads (bench/threads.js), one C program run in every
 * worker on one heap. Built twice: as it is, its malloc and free are the threads build's (a heap
 * per thread); with -DLOCKED they are ralloc_locked_alloc and ralloc_locked_free, blocks of the
 * global part under its one lock: the single-global-lock baseline (dlmalloc's model: every call
 * takes the lock). Each workload first waits until every thread has arrived, so they all run at
 * once, and returns a checksum (the block contents it read back), never 0 unless it failed.
 *   local(seed, iters, threads, index): a working set of 256 blocks of 16..527 bytes per thread;
 *     each step frees a random slot's block and allocates a new one.
 *   cross(seed, iters, threads, index): as local, but the blocks a step replaces go to the next
 *     thread through a ring in shared memory (one producer, one consumer), and each step frees one
 *     block the previous thread sent: every block is freed by a thread that did not allocate it.
 * With -DFLOOR, a floor of its own (below): what the machine allows on the same steps. */
#include <stddef.h>
#include <stdint.h>

void *malloc(size_t size);
void free(void *ptr);
#define MAX_THREADS 8

#ifdef LOCKED
__attribute__((import_module("ralloc"), import_name("ralloc_locked_alloc"))) void *ralloc_locked_alloc(size_t size, size_t align);
__attribute__((import_module("ralloc"), import_name("ralloc_locked_free"))) void ralloc_locked_free(void *ptr);
#define ALLOC(n) ralloc_locked_alloc((n), 16)
#define FREE(p) ralloc_locked_free(p)
#elif defined(FLOOR)
/* -DFLOOR: what the machine allows, the bench's floor made per thread: each thread pops and
 * pushes LIFO lists of its own, one per 16-byte class (the class in a 16-byte header), and a
 * block freed by another thread joins the freeing thread's lists, never going back. No lock,
 * no atomic, no check, no owner: only the cache lines the workload itself moves. New blocks
 * come from a 24 MiB arena per thread, taken from malloc before the run. */
#define FLOOR_ARENA (24u << 20)
#define FLOOR_CLASSES 40
struct floor_state { uint8_t *arena, *bump, *end; uint8_t *lists[FLOOR_CLASSES]; uint8_t pad[64]; };
static struct floor_state floors[MAX_THREADS] __attribute__((aligned(64)));
static void floor_init(int me) {
    struct floor_state *f = &floors[me];
    for (int c = 0; c < FLOOR_CLASSES; c++) f->lists[c] = 0;
    f->arena = f->bump = malloc(FLOOR_ARENA);
    f->end = f->bump ? f->bump + FLOOR_ARENA : 0;
}
/* After the run: the arena goes back (the rings' blocks left in it are dropped by drain). */
static void floor_done(int me) {
    free(floors[me].arena);
    floors[me].arena = 0;
}
static void *floor_alloc(int me, size_t n) {
    struct floor_state *f = &floors[me];
    uint32_t c = (uint32_t)(n + 16 + 15) >> 4;
    uint8_t *b = f->lists[c];
    if (b) {
        f->lists[c] = *(uint8_t **)(b + 16);
        return b + 16;
    }
    if (f->end - f->bump < (ptrdiff_t)(c << 4)) return 0;
    b = f->bump;
    f->bump += c << 4;
    *(uint32_t *)b = c;
    return b + 16;
}
static void floor_free(int me, void *p) {
    struct floor_state *f = &floors[me];
    uint8_t *b = (uint8_t *)p - 16;
    uint32_t c = *(uint32_t *)b;
    *(uint8_t **)p = f->lists[c];
    f->lists[c] = b;
}
#define ALLOC(n) floor_alloc(index, (n))
#define FREE(p) floor_free(index, (p))
#else
#define ALLOC(n) malloc(n)
#define FREE(p) free(p)
#endif

#define SLOTS 256
#define RING 1024 /* a power of two */

static uint32_t arrived;
/* ring t: written by thread t - 1, read by thread t; head and tail count blocks */
static uint32_t rings[MAX_THREADS][RING];
static uint32_t heads[MAX_THREADS * 16], tails[MAX_THREADS * 16]; /* (a cache line apart) */

static void barrier(int threads) {
    __atomic_add_fetch(&arrived, 1, __ATOMIC_SEQ_CST);
    while (__atomic_load_n(&arrived, __ATOMIC_SEQ_CST) < (uint32_t)threads) {}
}

static uint32_t next(uint32_t *s) {
    *s = *s * 1103515245u + 12345u;
    return *s >> 8;
}

static int send(int to, uint8_t *p) {
    uint32_t t = tails[to * 16];
    if (t - __atomic_load_n(&heads[to * 16], __ATOMIC_ACQUIRE) == RING) return 0;
    rings[to][t % RING] = (uint32_t)(uintptr_t)p;
    __atomic_store_n(&tails[to * 16], t + 1, __ATOMIC_RELEASE);
    return 1;
}

static uint8_t *receive(int me) {
    uint32_t h = heads[me * 16];
    if (h == __atomic_load_n(&tails[me * 16], __ATOMIC_ACQUIRE)) return 0;
    uint8_t *p = (uint8_t *)(uintptr_t)rings[me][h % RING];
    __atomic_store_n(&heads[me * 16], h + 1, __ATOMIC_RELEASE);
    return p;
}

static uint32_t run(uint32_t seed, int iters, int threads, int index, int crossing) {
    uint8_t *slots[SLOTS] = {0};
    uint32_t s = seed * 2654435761u + (uint32_t)index, sum = 1;
    int to = (index + 1) % threads;
#ifdef FLOOR
    floor_init(index);
    if (!floors[index].bump) return 0;
#endif
    barrier(threads);
    for (int k = 0; k < iters; k++) {
        uint32_t r = next(&s);
        uint32_t i = r % SLOTS;
        if (slots[i]) {
            sum += slots[i][0];
            if (!crossing || !send(to, slots[i])) FREE(slots[i]);
        }
        uint32_t n = 16 + (r >> 8) % 512;
        uint8_t *p = ALLOC(n);
        if (!p) return 0;
        p[0] = (uint8_t)n;
        slots[i] = p;
        if (crossing) {
            uint8_t *q = receive(index);
            if (q) {
                sum += q[0];
                FREE(q);
            }
        }
    }
    for (int i = 0; i < SLOTS; i++) if (slots[i]) FREE(slots[i]);
#ifdef FLOOR
    barrier(2 * threads); /* every thread done with every arena */
    floor_done(index);
#endif
    return sum | 1;
}

uint32_t local(uint32_t seed, int iters, int threads, int index) { return run(seed, iters, threads, index, 0); }
uint32_t cross(uint32_t seed, int iters, int threads, int index) { return run(seed, iters, threads, index, 1); }

/* After every thread is done: frees what is still in the rings; returns how many. */
int drain(int threads) {
    int n = 0;
#ifdef FLOOR
    if (floors[0].arena == 0) { /* the arenas are gone: what the rings hold was in them */
        for (int t = 0; t < threads; t++) for (; receive(t) != 0; n++) {}
        return n;
    }
    int index = 0;
#endif
    for (int t = 0; t < threads; t++) {
        for (uint8_t *q; (q = receive(t)) != 0; n++) FREE(q);
    }
    return n;
}
