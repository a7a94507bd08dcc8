/* lock.c -- lock reuse from C on the threads build (tests/threads.test.js): thread 0 takes the
 * global lock with ralloc_lock, makes blocks of the global part under it with
 * ralloc_locked_alloc, and keeps it while it counts for a while; thread 1, once thread 0 holds
 * it, calls ralloc_lock too and must wait until thread 0's ralloc_unlock. Each returns 0, or what
 * went wrong. */
#include <stddef.h>
#include <stdint.h>
#include "ralloc.h"

static uint32_t held, releasing;
static uint32_t spins;

int run(int index) {
    if (index == 0) {
        ralloc_lock();
        void *blocks[8];
        for (int i = 0; i < 8; i++) {
            blocks[i] = ralloc_locked_alloc(100 + 1000 * (size_t)i, 64);
            if (!blocks[i] || ((uintptr_t)blocks[i] & 63) != 0) return 1;
        }
        if (!ralloc_lock_held()) return 2;
        __atomic_store_n(&held, 1, __ATOMIC_SEQ_CST);
        for (uint32_t k = 0; k < 20000000u; k++) __atomic_fetch_add(&spins, 1, __ATOMIC_SEQ_CST); /* thread 1 waits meanwhile */
        for (int i = 0; i < 8; i++) ralloc_locked_free(blocks[i]);
        __atomic_store_n(&releasing, 1, __ATOMIC_SEQ_CST);
        if (ralloc_unlock() != 0) return 3;
        if (ralloc_lock_held() || ralloc_unlock() != 28) return 4; /* EINVAL: not held any more */
        return 0;
    }
    while (!__atomic_load_n(&held, __ATOMIC_SEQ_CST)) {}
    ralloc_lock(); /* waits in memory.atomic.wait32 until thread 0 lets go */
    int order = __atomic_load_n(&releasing, __ATOMIC_SEQ_CST) == 1 ? 0 : 5;
    void *p = ralloc_locked_alloc(5000, 16);
    ralloc_locked_free(p);
    ralloc_unlock();
    return p ? order : 6;
}
