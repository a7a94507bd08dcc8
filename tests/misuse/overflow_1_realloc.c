/* A 1-byte write past the end of a 100-byte block, found by realloc. */
#include "misuse.h"
int main(void) {
    char *a = launder(malloc(100));
    keep(100);
    memset(a, 'x', 100);
    a[100] = 'A'; /* the misuse */
    show("a", a);
    char *q = realloc(a, 300);
    int same = q != NULL;
    for (int i = 0; q && i < 100; i++) if (q[i] != 'x') same = 0;
    printf("realloc kept the bytes: %d\n", same);
    return after_misuse();
}
