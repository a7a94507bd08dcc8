/*
 * exprtree: parses arithmetic expressions, one per line of stdin, into trees,
 * prints each tree as an S-expression with its value, and frees it.
 *
 *   1 + 2 * (3 - x)        numbers, + - * / %, unary minus, parentheses, and
 *   let x = 4 * 5          variables bound with `let` (kept in a linked list)
 *
 * Every node is a separate malloc; names are strdup'ed; the S-expression is
 * built in a buffer that grows with realloc. A line that does not parse prints
 * an error with its column; division by zero is reported, not computed.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum kind { NUM, VAR, NEG, ADD, SUB, MUL, DIV, MOD };

struct node {
    enum kind kind;
    long long value;       /* NUM */
    char *name;            /* VAR */
    struct node *left, *right;
};

struct binding {
    char *name;
    long long value;
    struct binding *next;
};

struct parser {
    const char *text;
    size_t pos;
    const char *error;
    size_t error_pos;
};

static void *xmalloc(size_t n) {
    void *p = malloc(n);
    if (!p) { fputs("exprtree: out of memory\n", stderr); exit(2); }
    return p;
}

static struct node *make(enum kind kind, struct node *l, struct node *r) {
    struct node *n = xmalloc(sizeof *n);
    n->kind = kind;
    n->value = 0;
    n->name = NULL;
    n->left = l;
    n->right = r;
    return n;
}

static void free_tree(struct node *n) {
    if (!n) return;
    free_tree(n->left);
    free_tree(n->right);
    free(n->name);
    free(n);
}

static void skip_space(struct parser *p) {
    while (p->text[p->pos] == ' ' || p->text[p->pos] == '\t') p->pos++;
}

static void fail(struct parser *p, const char *what) {
    if (!p->error) { p->error = what; p->error_pos = p->pos; }
}

static struct node *parse_sum(struct parser *p);

static struct node *parse_atom(struct parser *p) {
    skip_space(p);
    char c = p->text[p->pos];
    if (c == '(') {
        p->pos++;
        struct node *n = parse_sum(p);
        skip_space(p);
        if (p->text[p->pos] != ')') { fail(p, "expected ')'"); free_tree(n); return NULL; }
        p->pos++;
        return n;
    }
    if (c == '-') {
        p->pos++;
        struct node *inner = parse_atom(p);
        if (!inner) return NULL;
        return make(NEG, inner, NULL);
    }
    if (isdigit((unsigned char)c)) {
        long long v = 0;
        while (isdigit((unsigned char)p->text[p->pos])) {
            v = v * 10 + (p->text[p->pos++] - '0');
            if (v > 1000000000000LL) { fail(p, "number too large"); return NULL; }
        }
        struct node *n = make(NUM, NULL, NULL);
        n->value = v;
        return n;
    }
    if (isalpha((unsigned char)c) || c == '_') {
        size_t start = p->pos;
        while (isalnum((unsigned char)p->text[p->pos]) || p->text[p->pos] == '_') p->pos++;
        struct node *n = make(VAR, NULL, NULL);
        n->name = strndup(p->text + start, p->pos - start);
        if (!n->name) { fputs("exprtree: out of memory\n", stderr); exit(2); }
        return n;
    }
    fail(p, c ? "unexpected character" : "unexpected end of line");
    return NULL;
}

static struct node *parse_product(struct parser *p) {
    struct node *left = parse_atom(p);
    while (left) {
        skip_space(p);
        char c = p->text[p->pos];
        enum kind k = c == '*' ? MUL : c == '/' ? DIV : c == '%' ? MOD : NUM;
        if (k == NUM) break;
        p->pos++;
        struct node *right = parse_atom(p);
        if (!right) { free_tree(left); return NULL; }
        left = make(k, left, right);
    }
    return left;
}

static struct node *parse_sum(struct parser *p) {
    struct node *left = parse_product(p);
    while (left) {
        skip_space(p);
        char c = p->text[p->pos];
        enum kind k = c == '+' ? ADD : c == '-' ? SUB : NUM;
        if (k == NUM) break;
        p->pos++;
        struct node *right = parse_product(p);
        if (!right) { free_tree(left); return NULL; }
        left = make(k, left, right);
    }
    return left;
}

/* A growable string. */
struct buf { char *data; size_t len, cap; };

static void put(struct buf *b, const char *s) {
    size_t n = strlen(s);
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 16;
        while (b->len + n + 1 > cap) cap *= 2;
        char *d = realloc(b->data, cap);
        if (!d) { fputs("exprtree: out of memory\n", stderr); exit(2); }
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n + 1);
    b->len += n;
}

static void show(struct buf *b, const struct node *n) {
    static const char *ops[] = { "", "", "neg", "+", "-", "*", "/", "%" };
    char num[32];
    switch (n->kind) {
    case NUM: snprintf(num, sizeof num, "%lld", n->value); put(b, num); return;
    case VAR: put(b, n->name); return;
    default:
        put(b, "(");
        put(b, ops[n->kind]);
        put(b, " ");
        show(b, n->left);
        if (n->right) { put(b, " "); show(b, n->right); }
        put(b, ")");
    }
}

static const char *eval(const struct node *n, const struct binding *env, long long *out) {
    long long a, b;
    const char *err;
    switch (n->kind) {
    case NUM: *out = n->value; return NULL;
    case VAR:
        for (; env; env = env->next) if (strcmp(env->name, n->name) == 0) { *out = env->value; return NULL; }
        return "unbound variable";
    case NEG:
        if ((err = eval(n->left, env, &a))) return err;
        *out = -a;
        return NULL;
    default:
        if ((err = eval(n->left, env, &a)) || (err = eval(n->right, env, &b))) return err;
        switch (n->kind) {
        case ADD: *out = a + b; return NULL;
        case SUB: *out = a - b; return NULL;
        case MUL: *out = a * b; return NULL;
        case DIV: if (b == 0) return "division by zero"; *out = a / b; return NULL;
        case MOD: if (b == 0) return "division by zero"; *out = a % b; return NULL;
        default: return "bad node";
        }
    }
}

static char *read_line(void) {
    size_t cap = 32, len = 0;
    char *line = xmalloc(cap);
    int c;
    while ((c = getchar()) != EOF && c != '\n') {
        if (len + 1 >= cap) {
            char *l = realloc(line, cap *= 2);
            if (!l) { fputs("exprtree: out of memory\n", stderr); exit(2); }
            line = l;
        }
        line[len++] = (char)c;
    }
    if (c == EOF && len == 0) { free(line); return NULL; }
    line[len] = '\0';
    return line;
}

int main(void) {
    struct binding *env = NULL;
    unsigned lineno = 0, errors = 0;
    char *line;
    while ((line = read_line()) != NULL) {
        lineno++;
        struct parser p = { line, 0, NULL, 0 };
        skip_space(&p);
        if (line[p.pos] == '\0' || line[p.pos] == '#') { free(line); continue; }
        char *name = NULL;
        if (strncmp(line + p.pos, "let ", 4) == 0) {
            p.pos += 4;
            skip_space(&p);
            size_t start = p.pos;
            while (isalnum((unsigned char)line[p.pos]) || line[p.pos] == '_') p.pos++;
            name = strndup(line + start, p.pos - start);
            skip_space(&p);
            if (!name || !*name || line[p.pos] != '=') fail(&p, "expected `let name = expression`");
            else p.pos++;
        }
        struct node *tree = p.error ? NULL : parse_sum(&p);
        if (tree) {
            skip_space(&p);
            if (line[p.pos] != '\0') { fail(&p, "unexpected text after the expression"); free_tree(tree); tree = NULL; }
        }
        if (!tree) {
            printf("%u:%zu: error: %s\n", lineno, p.error_pos + 1, p.error);
            errors++;
        } else {
            struct buf b = { NULL, 0, 0 };
            show(&b, tree);
            long long v;
            const char *err = eval(tree, env, &v);
            if (err) {
                printf("%u: %s => error: %s\n", lineno, b.data, err);
                errors++;
            } else if (name) {
                struct binding *bnd = xmalloc(sizeof *bnd);
                bnd->name = name;
                bnd->value = v;
                bnd->next = env;
                env = bnd;
                name = NULL;
                printf("%u: %s = %s => %lld\n", lineno, bnd->name, b.data, v);
            } else {
                printf("%u: %s => %lld\n", lineno, b.data, v);
            }
            free(b.data);
            free_tree(tree);
        }
        free(name);
        free(line);
    }
    while (env) {
        struct binding *next = env->next;
        free(env->name);
        free(env);
        env = next;
    }
    printf("%u lines, %u errors\n", lineno, errors);
    return errors ? 1 : 0;
}
