/* Double free of a block just freed to the general free lists (2000 bytes: no quick list). */
#include "misuse.h"
int main(void) {
    keep(2000);
    char *b = launder(malloc(2000));
    keep(2000);
    free(b);
    precondition(block_info(b) != 0xFFFFFFFFu && (block_info(b) & INFO_FREE), "b is a free block of its own");
    show("b", b);
    free(b); /* the misuse */
    printf("free returned\n");
    return after_misuse();
}
