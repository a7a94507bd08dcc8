/* Double free of a block that merged into the free block before it. */
#include "misuse.h"
int main(void) {
    keep(2000);
    char *a = launder(malloc(2000));
    char *b = launder(malloc(2000));
    keep(2000);
    free(a);
    free(b); /* b merges into a */
    precondition(block_info(b) == 0xFFFFFFFFu, "b is no block of its own any more");
    precondition(block_holding(b) == a, "a holds b");
    show("b", b);
    free(b); /* the misuse */
    printf("free returned\n");
    printf("malloc_usable_size(b) -> %u\n", (unsigned)malloc_usable_size(b));
    return after_misuse();
}
