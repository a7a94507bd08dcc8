/* A double free, which ralloc-wasm's debug build stops with its exact message
 * (docs/DEBUGGING.md): the address goes to stderr first so that the test knows it. */
#include <stdio.h>
#include <stdlib.h>

int main(void) {
    char *volatile p = malloc(24);
    fprintf(stderr, "block %p\n", (void *)p);
    free(p);
    free(p);
    puts("the second free returned");
    return 0;
}
