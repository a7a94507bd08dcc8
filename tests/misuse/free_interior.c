/* free of an interior pointer (32 bytes into a live 100-byte block). */
#include "misuse.h"
int main(void) {
    char *a = keep(100);
    keep(100);
    show("a", a);
    show("x", a + 32);
    free(a + 32); /* the misuse */
    printf("free returned\n");
    return after_misuse();
}
