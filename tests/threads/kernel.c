/* kernel.c -- several wasm threads (instances sharing one memory) allocating from one heap of
 * the threads build. Each thread runs work(seed, iters, index): it allocates blocks of mixed
 * sizes, fills each with a pattern derived from its address, and frees them in random order;
 * one block in four goes through a ring in shared memory and is checked and freed by whichever
 * thread takes it out, usually another. Returns the number of blocks whose contents were wrong
 * (0), or -1 when malloc failed. Built with -matomics -mbulk-memory and a shared imported
 * memory (tests/threads.test.js; docs/THREADS.md), with malloc and free imported from env. */
#include <stddef.h>
#include <stdint.h>

void *malloc(size_t size);
void free(void *ptr);
void *realloc(void *ptr, size_t size);

#define RING 1024 /* a power of two */
#define LIVE 64

/* The ring: slots claimed by position; a slot holds a block (nonzero) or 0 (empty). */
static uint32_t ring[RING];
static uint32_t ring_in, ring_out;

static uint32_t next(uint32_t *s) {
    *s = *s * 1103515245u + 12345u;
    return *s >> 8;
}

static uint32_t size_of(uint32_t r) {
    uint32_t k = r % 100;
    return k < 70 ? r % 128 : k < 95 ? r % 2048 : k < 99 ? r % 20000 : r % 300000;
}

static void fill(uint8_t *p, uint32_t n) {
    *(uint32_t *)p = n; /* every block is at least 4 bytes */
    for (uint32_t i = 4; i < n; i++) p[i] = (uint8_t)((uintptr_t)p + i);
}

static int good(const uint8_t *p) {
    uint32_t n = *(const uint32_t *)p;
    for (uint32_t i = 4; i < n; i++) if (p[i] != (uint8_t)((uintptr_t)p + i)) return 0;
    return 1;
}

/* Puts p in the ring; 0 when the ring is full. */
static int put(uint32_t p) {
    uint32_t slot = __atomic_fetch_add(&ring_in, 1, __ATOMIC_SEQ_CST) % RING;
    uint32_t empty = 0;
    if (__atomic_compare_exchange_n(&ring[slot], &empty, p, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) return 1;
    return 0;
}

/* Takes a block out of the ring, or 0. */
static uint32_t take(void) {
    uint32_t slot = __atomic_fetch_add(&ring_out, 1, __ATOMIC_SEQ_CST) % RING;
    return __atomic_exchange_n(&ring[slot], 0, __ATOMIC_SEQ_CST);
}

int work(uint32_t seed, int iters, int index) {
    uint32_t s = seed * 2654435761u + (uint32_t)index;
    uint8_t *live[LIVE] = {0};
    int bad = 0;
    for (int k = 0; k < iters; k++) {
        uint32_t r = next(&s);
        uint32_t i = r % LIVE;
        if (live[i]) {
            if (!good(live[i])) bad++;
            if ((r >> 7) % 4 == 0 && put((uint32_t)(uintptr_t)live[i])) {
                live[i] = 0;
            } else {
                free(live[i]);
                live[i] = 0;
            }
        } else {
            uint32_t n = 4 + size_of(next(&s));
            uint8_t *p = malloc(n);
            if (!p) return -1;
            if ((r >> 9) % 8 == 0) { /* grow it, moving it or not */
                uint8_t *q = realloc(p, n * 2);
                if (!q) return -1;
                p = q;
            }
            fill(p, n);
            live[i] = p;
        }
        uint32_t q = take();
        if (q) {
            if (!good((const uint8_t *)(uintptr_t)q)) bad++;
            free((void *)(uintptr_t)q);
        }
    }
    for (int i = 0; i < LIVE; i++) {
        if (live[i]) {
            if (!good(live[i])) bad++;
            free(live[i]);
        }
    }
    return bad;
}

/* After every thread is done: frees what is left in the ring; returns how many. */
int drain(void) {
    int n = 0;
    for (int i = 0; i < RING; i++) {
        uint32_t q = __atomic_exchange_n(&ring[i], 0, __ATOMIC_SEQ_CST);
        if (q) {
            free((void *)(uintptr_t)q);
            n++;
        }
    }
    return n;
}
