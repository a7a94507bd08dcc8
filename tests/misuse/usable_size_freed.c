/* malloc_usable_size of a freed block. */
#include "misuse.h"
int main(void) {
    keep(100);
    char *b = launder(malloc(100));
    keep(100);
    free(b);
    show("b", b);
    size_t n = malloc_usable_size(b); /* the misuse */
    printf("malloc_usable_size -> %u\n", (unsigned)n);
    return after_misuse();
}
