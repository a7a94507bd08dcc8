/* lock.c -- lock reuse from C on the threads build (tests/threads.test.js): thread 0 takes the
 * global lock with ralloc_lock, makes blocks of the global part under it with
 * ralloc_locked_alloc, and keeps it while it counts for a while; thread 1, once thread 0 holds
 * it, calls ralloc_lock too and must wait until thread 0's ralloc_unlock: thread 0 lets go only
 * once the lock's word says a thread waits. Each returns 0, or what went wrong. */
#include <stddef.h>
#include <stdint.h>
#include "ralloc.h"

static uint32_t held, releasing;
extern unsigned char __heap_base;

/* The global lock's word: the first word of the global part's hub, at the heap base rounded up
 * to 16 (assembly/heaps/hub.ts); 2 while a thread waits for the lock. */
static uint32_t *lock_word(void) {
    return (uint32_t *)(((uintptr_t)&__heap_base + 15) & ~(uintptr_t)15);
}

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
        /* until thread 1 is waiting for the lock (it marked the word), however late it comes */
        uint64_t k = 0;
        while (__atomic_load_n(lock_word(), __ATOMIC_SEQ_CST) != 2) if (++k == 20000000000ull) return 7;
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
