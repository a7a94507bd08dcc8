/*
 * records: reads CSV records (name,team,score) from stdin, sorts them with
 * qsort by team, then score (highest first), then name, and prints a report
 * built with a growable string builder: one line per record and a summary
 * per team (count, total, mean, best).
 *
 * Each record owns malloc'ed copies of its fields; the record array grows with
 * realloc; the report is assembled with vsnprintf into a buffer that doubles
 * as needed and is written out at the end. Malformed lines are counted and
 * reported on stderr.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct record {
    char *name;
    char *team;
    long score;
};

struct builder {
    char *data;
    size_t len, cap;
};

static void die(const char *what) {
    fprintf(stderr, "records: %s\n", what);
    exit(2);
}

static void appendf(struct builder *b, const char *fmt, ...) {
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        size_t room = b->cap - b->len;
        int n = vsnprintf(b->data ? b->data + b->len : NULL, room, fmt, ap);
        va_end(ap);
        if (n < 0) die("formatting failed");
        if ((size_t)n < room) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap ? b->cap * 2 : 64;
        while (cap - b->len <= (size_t)n) cap *= 2;
        char *d = realloc(b->data, cap);
        if (!d) die("out of memory");
        b->data = d;
        b->cap = cap;
    }
}

static int compare(const void *a, const void *b) {
    const struct record *x = a, *y = b;
    int c = strcmp(x->team, y->team);
    if (c) return c;
    if (x->score != y->score) return x->score > y->score ? -1 : 1;
    return strcmp(x->name, y->name);
}

/* Splits line at commas into at most max fields; returns how many. */
static size_t split(char *line, char **fields, size_t max) {
    size_t n = 0;
    char *s = line;
    while (n < max) {
        fields[n++] = s;
        char *comma = strchr(s, ',');
        if (!comma) break;
        *comma = '\0';
        s = comma + 1;
    }
    return n;
}

static char *copy(const char *s) {
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\r')) n--;
    while (*s == ' ') { s++; n--; }
    char *d = malloc(n + 1);
    if (!d) die("out of memory");
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

int main(void) {
    struct record *recs = NULL;
    size_t n = 0, cap = 0, bad = 0, lineno = 0;
    char *line = NULL;
    size_t linecap = 0;
    ssize_t len;
    while ((len = getline(&line, &linecap, stdin)) != -1) {
        lineno++;
        if (len > 0 && line[len - 1] == '\n') line[--len] = '\0';
        if (len == 0 || line[0] == '#') continue;
        char *f[4];
        char *end;
        if (split(line, f, 4) != 3 || !*f[0] || !*f[1]) { bad++; fprintf(stderr, "records: line %zu: expected name,team,score\n", lineno); continue; }
        long score = strtol(f[2], &end, 10);
        if (end == f[2] || (*end && *end != '\r' && *end != ' ')) { bad++; fprintf(stderr, "records: line %zu: bad score\n", lineno); continue; }
        if (n == cap) {
            cap = cap ? cap * 2 : 8;
            struct record *r = realloc(recs, cap * sizeof *recs);
            if (!r) die("out of memory");
            recs = r;
        }
        recs[n].name = copy(f[0]);
        recs[n].team = copy(f[1]);
        recs[n].score = score;
        n++;
    }
    free(line);

    if (n > 0) qsort(recs, n, sizeof *recs, compare);

    struct builder out = { NULL, 0, 0 };
    appendf(&out, "%zu records", n);
    if (bad) appendf(&out, " (%zu malformed lines skipped)", bad);
    appendf(&out, "\n");
    for (size_t i = 0; i < n;) {
        size_t j = i;
        long total = 0;
        while (j < n && strcmp(recs[j].team, recs[i].team) == 0) total += recs[j++].score;
        appendf(&out, "\n== %s: %zu members, total %ld, mean %.2f, best %s (%ld)\n",
                recs[i].team, j - i, total, (double)total / (double)(j - i), recs[i].name, recs[i].score);
        for (size_t k = i; k < j; k++) appendf(&out, "  %3zu. %-24s %8ld\n", k - i + 1, recs[k].name, recs[k].score);
        i = j;
    }
    if (out.data) fwrite(out.data, 1, out.len, stdout);

    for (size_t i = 0; i < n; i++) {
        free(recs[i].name);
        free(recs[i].team);
    }
    free(recs);
    free(out.data);
    return bad ? 1 : 0;
}
