/* realloc of an interior pointer (48 bytes into a live 100-byte block). */
#include "misuse.h"
int main(void) {
    char *a = keep(100);
    keep(100);
    show("a", a);
    show("x", a + 48);
    void *q = realloc(a + 48, 10); /* the misuse */
    printf("realloc -> %u\n", (unsigned)(uintptr_t)q);
    return after_misuse();
}
