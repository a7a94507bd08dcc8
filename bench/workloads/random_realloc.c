#define WITH_REALLOC 1
#include "random.c"
