/*
 * wordfreq: counts the words read from stdin and prints them by frequency.
 *
 *   wordfreq [N]      prints the N most frequent words (default 20; 0 for all)
 *
 * A word is a run of letters, digits or apostrophes, folded to lower case. The
 * words live in a hash table with separate chaining that doubles when it gets
 * full; each word is a strdup'ed copy; the input line buffer and the final
 * array of entries grow with realloc. Everything is freed before exit.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct entry {
    char *word;
    unsigned long count;
    struct entry *next;
};

struct table {
    struct entry **buckets;
    size_t nbuckets;
    size_t count;
};

static void *xmalloc(size_t n) {
    void *p = malloc(n);
    if (p == NULL) {
        fprintf(stderr, "wordfreq: out of memory (%zu bytes)\n", n);
        exit(2);
    }
    return p;
}

static void *xrealloc(void *p, size_t n) {
    void *q = realloc(p, n);
    if (q == NULL) {
        fprintf(stderr, "wordfreq: out of memory (%zu bytes)\n", n);
        exit(2);
    }
    return q;
}

/* FNV-1a */
static unsigned long hash(const char *s) {
    unsigned long h = 2166136261u;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

static void grow(struct table *t) {
    size_t n = t->nbuckets * 2;
    struct entry **b = calloc(n, sizeof *b);
    if (b == NULL) {
        fprintf(stderr, "wordfreq: out of memory\n");
        exit(2);
    }
    for (size_t i = 0; i < t->nbuckets; i++) {
        struct entry *e = t->buckets[i];
        while (e) {
            struct entry *next = e->next;
            size_t k = hash(e->word) & (n - 1);
            e->next = b[k];
            b[k] = e;
            e = next;
        }
    }
    free(t->buckets);
    t->buckets = b;
    t->nbuckets = n;
}

static void add(struct table *t, const char *word) {
    size_t k = hash(word) & (t->nbuckets - 1);
    for (struct entry *e = t->buckets[k]; e; e = e->next) {
        if (strcmp(e->word, word) == 0) {
            e->count++;
            return;
        }
    }
    struct entry *e = xmalloc(sizeof *e);
    e->word = strdup(word);
    if (e->word == NULL) {
        fprintf(stderr, "wordfreq: out of memory\n");
        exit(2);
    }
    e->count = 1;
    e->next = t->buckets[k];
    t->buckets[k] = e;
    if (++t->count > t->nbuckets * 3 / 4) grow(t);
}

static int by_count(const void *a, const void *b) {
    const struct entry *x = *(const struct entry *const *)a;
    const struct entry *y = *(const struct entry *const *)b;
    if (x->count != y->count) return x->count > y->count ? -1 : 1;
    return strcmp(x->word, y->word);
}

int main(int argc, char **argv) {
    long limit = argc > 1 ? strtol(argv[1], NULL, 10) : 20;
    struct table t = { calloc(16, sizeof(struct entry *)), 16, 0 };
    if (t.buckets == NULL) return 2;

    size_t cap = 16, len = 0;
    char *word = xmalloc(cap);
    unsigned long total = 0;
    int c;
    do {
        c = getchar();
        if (c != EOF && (isalnum(c) || c == '\'')) {
            if (len + 1 >= cap) word = xrealloc(word, cap *= 2);
            word[len++] = (char)tolower(c);
        } else if (len > 0) {
            word[len] = '\0';
            add(&t, word);
            total++;
            len = 0;
        }
    } while (c != EOF);
    free(word);

    struct entry **all = NULL;
    size_t n = 0, allcap = 0;
    for (size_t i = 0; i < t.nbuckets; i++) {
        for (struct entry *e = t.buckets[i]; e; e = e->next) {
            if (n == allcap) all = xrealloc(all, (allcap = allcap ? allcap * 2 : 64) * sizeof *all);
            all[n++] = e;
        }
    }
    if (n > 0) qsort(all, n, sizeof *all, by_count);

    printf("%lu words, %zu distinct\n", total, n);
    size_t shown = (limit <= 0 || (size_t)limit > n) ? n : (size_t)limit;
    for (size_t i = 0; i < shown; i++) printf("%7lu %s\n", all[i]->count, all[i]->word);

    for (size_t i = 0; i < n; i++) {
        free(all[i]->word);
        free(all[i]);
    }
    free(all);
    free(t.buckets);
    return 0;
}
