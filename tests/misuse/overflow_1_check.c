/* A 1-byte write past the end of a 100-byte block, found by ralloc_check. */
#include "misuse.h"
int main(void) {
    char *a = launder(malloc(100));
    keep(100);
    memset(a, 'x', 100);
    a[100] = 'A'; /* the misuse */
    show("a", a);
    return after_misuse(); /* its ralloc_check finds it */
}
