/* free of static data: an array below the heap. */
#include "misuse.h"
static char table[64] __attribute__((aligned(16))) = "static data";
int main(void) {
    keep(100);
    void *x = launder(table);
    show("x", x);
    free(x); /* the misuse */
    printf("free returned\n");
    printf("table %s\n", table);
    return after_misuse();
}
