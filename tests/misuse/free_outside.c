/* free of a pointer outside the heap: beyond the end of memory. */
#include "misuse.h"
int main(void) {
    keep(100);
    void *x = (void *)(uintptr_t)0x40000000u;
    precondition(__builtin_wasm_memory_size(0) * 65536ull < 0x40000000ull, "memory ends below 1 GiB");
    show("x", x);
    free(x); /* the misuse */
    printf("free returned\n");
    return after_misuse();
}
