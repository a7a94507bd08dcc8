/* free of a misaligned pointer (4 bytes into a live block). */
#include "misuse.h"
int main(void) {
    char *a = keep(100);
    keep(100);
    show("x", a + 4);
    free(a + 4); /* the misuse */
    printf("free returned\n");
    return after_misuse();
}
