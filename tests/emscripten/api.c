/* Functions a JavaScript host calls through Emscripten's glue (tests/emscripten.test.js): a string
 * made with malloc that the host frees, and a sum over bytes the host wrote into a block it got
 * from Module._malloc. */
#include <emscripten.h>
#include <stdlib.h>
#include <string.h>

EMSCRIPTEN_KEEPALIVE char *greet(const char *name) {
    size_t n = strlen(name);
    char *s = malloc(n + 8);
    if (s == NULL) return NULL;
    memcpy(s, "hello, ", 7);
    memcpy(s + 7, name, n + 1);
    return s;
}

EMSCRIPTEN_KEEPALIVE unsigned sum_bytes(const unsigned char *p, size_t n) {
    unsigned total = 0;
    for (size_t i = 0; i < n; i++) total += p[i];
    return total;
}

/* Allocates `count` blocks of `size` bytes and frees them: enough of them grows the memory. */
EMSCRIPTEN_KEEPALIVE int churn(int count, int size) {
    void **blocks = malloc(sizeof(void *) * (size_t)count);
    if (blocks == NULL) return -1;
    for (int i = 0; i < count; i++) {
        blocks[i] = malloc((size_t)size);
        if (blocks[i] == NULL) return i;
        memset(blocks[i], i, (size_t)size);
    }
    for (int i = 0; i < count; i++) free(blocks[i]);
    free(blocks);
    return count;
}
