/*
 * misuse.h -- what every misuse case program shares (tests/misuse-c.test.js runs them).
 *
 * Protocol, on stdout:
 *   name=0x%08x (or name=%u) lines, flushed, BEFORE the misuse: the addresses the test needs to
 *     build the exact message the debug build stops with;
 *   after the misuse (only a build that does not stop gets there): what the call returned, then
 *     after_misuse(): "check N" (ralloc_check), "live ok" (the live blocks kept their bytes),
 *     "batch ok" (a batch of new blocks: no address twice, no overlap with each other or with a
 *     live block), "check N" again. The program returns 0 unless a precondition failed (2).
 */
#ifndef MISUSE_H
#define MISUSE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <malloc.h>
#include "ralloc.h"

#define INFO_FREE 1u
#define INFO_CACHED 4u

/* Hides where a pointer came from, so the compiler neither rejects the misuse (free of a static
 * array) nor reasons about it (a write past what malloc was asked for). */
static __attribute__((unused)) void *launder(void *p) {
    void *volatile v = p;
    return v;
}

/* The release build serves a size class from pages once the class asked for 16 objects (its
 * first requests are blocks with a header); these programs stand for a program that has run a
 * while, so before main every class asks 16 times (what it got is freed). The other builds do
 * the same calls, which change nothing the tests look at. */
static __attribute__((constructor)) void warm_pages(void) {
    void *got[16];
    for (int c = 1; c <= 64; c++) {
        for (int i = 0; i < 16; i++) got[i] = launder(malloc(16 * c)); /* (escaping: clang keeps it) */
        for (int i = 0; i < 16; i++) free(got[i]);
    }
}

static __attribute__((unused)) void show(const char *name, const void *p) {
    printf("%s=0x%08x\n", name, (unsigned)(uintptr_t)p);
    fflush(stdout);
}

static __attribute__((unused)) void show_num(const char *name, unsigned v) {
    printf("%s=%u\n", name, v);
    fflush(stdout);
}

static __attribute__((unused)) int precondition(int ok, const char *what) {
    if (!ok) {
        printf("precondition failed: %s\n", what);
        fflush(stdout);
        exit(2);
    }
    return ok;
}

/* ralloc_block_info of the block at p, or 0xFFFFFFFF when no block of the walk starts at p. */
static __attribute__((unused)) uint32_t block_info(const void *p) {
    for (void *b = ralloc_walk(NULL); b; b = ralloc_walk(b))
        if (b == p) return ralloc_block_info(b);
    return 0xFFFFFFFFu;
}

/* The block of the walk whose payload holds p (b <= p < end of b's payload), or NULL. */
static __attribute__((unused)) char *block_holding(const void *p) {
    for (char *b = ralloc_walk(NULL); b; b = ralloc_walk(b)) {
        uint32_t size = ralloc_block_info(b) & ~15u;
        if (b <= (const char *)p && (const char *)p < b + size - 4) return b;
    }
    return NULL;
}

/* Live blocks the program keeps: each filled with its own byte, checked after the misuse. */
#define MAX_LIVE 8
static unsigned char *live_p[MAX_LIVE];
static size_t live_n[MAX_LIVE];
static int live_count;

static __attribute__((unused)) void *keep(size_t n) {
    unsigned char *p = malloc(n);
    precondition(p != NULL && live_count < MAX_LIVE, "malloc for a live block");
    memset(p, 0xE1 + 2 * live_count, n);
    live_p[live_count] = p;
    live_n[live_count] = n;
    live_count++;
    return p;
}

static __attribute__((unused)) int overlaps(uintptr_t a, size_t an, uintptr_t b, size_t bn) {
    if (an == 0) an = 1;
    if (bn == 0) bn = 1;
    return a < b + bn && b < a + an;
}

/* What release must still guarantee after a misuse it could ignore. */
static __attribute__((unused)) int after_misuse(void) {
    printf("check %d\n", ralloc_check());
    int intact = 1;
    for (int i = 0; i < live_count; i++)
        for (size_t k = 0; k < live_n[i]; k++)
            if (live_p[i][k] != (unsigned char)(0xE1 + 2 * i)) intact = 0;
    printf(intact ? "live ok\n" : "live CHANGED\n");
    static const size_t sizes[] = {0, 1, 12, 16, 24, 32, 32, 32, 40, 64, 100, 100, 100, 128, 200, 500, 1000, 2000, 2000, 2000, 4000, 10000};
    enum { N = sizeof sizes / sizeof sizes[0] };
    void *got[N];
    int ok = 1;
    for (int i = 0; i < N; i++) {
        got[i] = malloc(sizes[i]);
        if (!got[i]) { printf("batch: malloc(%u) failed\n", (unsigned)sizes[i]); ok = 0; continue; }
        for (int j = 0; j < i; j++)
            if (got[j] && overlaps((uintptr_t)got[i], sizes[i], (uintptr_t)got[j], sizes[j])) {
                printf("batch: 0x%08x overlaps 0x%08x\n", (unsigned)(uintptr_t)got[i], (unsigned)(uintptr_t)got[j]);
                ok = 0;
            }
        for (int j = 0; j < live_count; j++)
            if (overlaps((uintptr_t)got[i], sizes[i], (uintptr_t)live_p[j], live_n[j])) {
                printf("batch: 0x%08x overlaps live 0x%08x\n", (unsigned)(uintptr_t)got[i], (unsigned)(uintptr_t)live_p[j]);
                ok = 0;
            }
    }
    if (ok) printf("batch ok\n");
    for (int i = 0; i < N; i++) free(got[i]);
    printf("check %d\n", ralloc_check());
    return 0;
}

#endif
