/* A 12-byte write past the end of a 100-byte block (a string running on), found by free. On
 * release it reaches the next block's header: not detected; ralloc_check names BOUNDS. */
#include "misuse.h"
int main(void) {
    char *a = launder(malloc(100));
    char *b = launder(malloc(100));
    precondition(b != NULL, "b");
    memset(a, 'x', 100);
    memset(a + 100, 'A', 12); /* the misuse */
    show("a", a);
    free(a);
    printf("free returned\n");
    printf("check %d\n", ralloc_check());
    return 0;
}
