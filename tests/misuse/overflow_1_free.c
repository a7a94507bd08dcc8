/* A 1-byte write past the end of a 100-byte block, found by free. On release the byte lands in
 * the block's rounding slack (it has 108 usable bytes), so nothing breaks. */
#include "misuse.h"
int main(void) {
    char *a = launder(malloc(100));
    keep(100);
    memset(a, 'x', 100);
    a[100] = 'A'; /* the misuse */
    show("a", a);
    free(a);
    printf("free returned\n");
    return after_misuse();
}
