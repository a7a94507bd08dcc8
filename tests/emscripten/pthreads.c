/* pthreads.c -- an Emscripten -pthread program whose threads allocate at once from ralloc-wasm's
 * threads build (tests/emscripten.test.js; docs/THREADS.md). Four threads wait at a barrier,
 * then each allocates blocks of mixed sizes and fills them; at a second barrier each hands its
 * blocks to the next thread, which checks and frees them (every block freed by a thread that did
 * not allocate it), and allocates again. The main thread prints the totals. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define THREADS 4
#define BLOCKS 2000

static unsigned char *blocks[THREADS][BLOCKS];
static pthread_barrier_t barrier;

static void fill(unsigned char *p, size_t n, int tag) {
    memcpy(p, &n, sizeof n);
    for (size_t i = sizeof n; i < n; i++) p[i] = (unsigned char)(tag + i);
}

static int intact(const unsigned char *p, int tag) {
    size_t n;
    memcpy(&n, p, sizeof n);
    for (size_t i = sizeof n; i < n; i++) if (p[i] != (unsigned char)(tag + i)) return 0;
    return 1;
}

static void *run(void *arg) {
    int id = (int)(intptr_t)arg, bad = 0;
    pthread_barrier_wait(&barrier);
    for (int k = 0; k < BLOCKS; k++) {
        size_t n = 8 + (size_t)(k * 37 + id * 11) % 600;
        blocks[id][k] = malloc(n);
        if (!blocks[id][k]) { bad++; continue; } /* (counted, and on to the barrier: no thread waits for ever) */
        fill(blocks[id][k], n, id);
    }
    pthread_barrier_wait(&barrier);
    int from = (id + THREADS - 1) % THREADS;
    for (int k = 0; k < BLOCKS; k++) {
        if (blocks[from][k] && !intact(blocks[from][k], from)) bad++;
        free(blocks[from][k]);
        unsigned char *p = malloc(64);
        if (!p) { bad++; continue; }
        fill(p, 64, id);
        if (!intact(p, id)) bad++;
        free(p);
    }
    return (void *)(intptr_t)bad;
}

int main(void) {
    pthread_t t[THREADS];
    pthread_barrier_init(&barrier, NULL, THREADS);
    for (int i = 0; i < THREADS; i++) pthread_create(&t[i], NULL, run, (void *)(intptr_t)i);
    int bad = 0;
    for (int i = 0; i < THREADS; i++) {
        void *r;
        pthread_join(t[i], &r);
        bad += (int)(intptr_t)r;
    }
    printf("%d threads: %d blocks, each freed by another thread; %d bad\n", THREADS, THREADS * BLOCKS, bad);
    return bad != 0;
}
