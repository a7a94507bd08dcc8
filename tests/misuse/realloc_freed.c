/* realloc of a freed block. */
#include "misuse.h"
int main(void) {
    keep(100);
    char *b = launder(malloc(100));
    keep(100);
    free(b);
    show("b", b);
    void *q = realloc(b, 200); /* the misuse */
    printf("realloc -> %u\n", (unsigned)(uintptr_t)q);
    return after_misuse();
}
