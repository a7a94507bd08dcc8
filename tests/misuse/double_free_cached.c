/* Double free of a block that sits in a quick list. */
#include "misuse.h"
int main(void) {
    keep(32);
    char *b = launder(malloc(32));
    keep(32);
    free(b);
    precondition(block_info(b) != 0xFFFFFFFFu && (block_info(b) & INFO_CACHED), "b is cached");
    show("b", b);
    free(b); /* the misuse */
    printf("free returned\n");
    return after_misuse();
}
