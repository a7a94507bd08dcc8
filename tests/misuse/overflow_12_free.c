/* A 12-byte write past the end of a 1124-byte block (a string running on), found by free. On
 * release (a block with a header: 1136 bytes, 1132 usable) it reaches the next block's header:
 * not detected; ralloc_check names BOUNDS. */
#include "misuse.h"
int main(void) {
    char *a = launder(malloc(1124));
    char *b = launder(malloc(1124));
    precondition(b != NULL, "b");
    memset(a, 'x', 1124);
    memset(a + 1124, 'A', 12); /* the misuse */
    show("a", a);
    free(a);
    printf("free returned\n");
    printf("check %d\n", ralloc_check());
    return 0;
}
