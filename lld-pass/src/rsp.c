/*
 * rsp.c — response files: read one, split it by the GNU or the Windows
 * quoting rules (hp_link_rsp.h).
 */
#include "hp_link_rsp.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* The arguments split so far. */
typedef struct argvec {
    char **v;
    size_t n, cap;
} argvec;

static int argvec_push(argvec *a, const char *s, size_t len)
{
    char *c = malloc(len + 1);
    if (!c)
        return -1;
    memcpy(c, s, len);
    c[len] = 0;
    if (!HP_VEC_PUSH(a->v, a->n, a->cap, c)) {
        free(c);
        return -1;
    }
    return 0;
}

/* A token being built. */
typedef struct tok {
    char *buf;
    size_t len, cap;
    int started;
} tok;

static int tok_add(tok *t, char c)
{
    if (!HP_VEC_PUSH(t->buf, t->len, t->cap, c))
        return -1;
    t->started = 1;
    return 0;
}

static int tok_flush(tok *t, argvec *out)
{
    if (!t->started)
        return 0;
    int r = argvec_push(out, t->buf ? t->buf : "", t->len);
    t->len = 0;
    t->started = 0;
    return r;
}

/* End of a split: the last token (unless a step `failed` for lack of memory), then the buffer. 0 or -1. */
static int tok_end(tok *t, argvec *out, int failed)
{
    if (!failed && tok_flush(t, out))
        failed = 1;
    free(t->buf);
    return failed ? -1 : 0;
}

/* GNU rules (hp_link_quoting). */
static int split_gnu(const char *s, size_t n, argvec *out)
{
    tok t = {0};
    char quote = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (quote == '\'') {
            if (c == '\'')
                quote = 0;
            else if (tok_add(&t, c))
                goto oom;
            continue;
        }
        if (c == '\\' && i + 1 < n) {
            if (tok_add(&t, s[++i]))
                goto oom;
            continue;
        }
        if (quote == '"') {
            if (c == '"')
                quote = 0;
            else if (tok_add(&t, c))
                goto oom;
            continue;
        }
        if (c == '\'' || c == '"') {
            quote = c;
            t.started = 1;
            continue;
        }
        if (isspace((unsigned char)c)) {
            if (tok_flush(&t, out))
                goto oom;
            continue;
        }
        if (tok_add(&t, c))
            goto oom;
    }
    return tok_end(&t, out, 0);
oom:
    return tok_end(&t, out, 1);
}

/* Windows rules (hp_link_quoting). */
static int split_windows(const char *s, size_t n, argvec *out)
{
    tok t = {0};
    int quoted = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '\\') {
            size_t k = i;
            while (k < n && s[k] == '\\')
                k++;
            size_t count = k - i;
            if (k < n && s[k] == '"') {
                for (size_t q = 0; q < count / 2; q++)
                    if (tok_add(&t, '\\'))
                        goto oom;
                if (count % 2) {
                    if (tok_add(&t, '"'))
                        goto oom;
                    i = k;
                } else {
                    i = k - 1; /* the quote is handled next round */
                }
            } else {
                for (size_t q = 0; q < count; q++)
                    if (tok_add(&t, '\\'))
                        goto oom;
                i = k - 1;
            }
            continue;
        }
        if (c == '"') {
            if (quoted && i + 1 < n && s[i + 1] == '"') {
                if (tok_add(&t, '"'))
                    goto oom;
                i++;
                continue;
            }
            quoted = !quoted;
            t.started = 1;
            continue;
        }
        if (!quoted && (c == ' ' || c == '\t' || c == '\r' || c == '\n')) {
            if (tok_flush(&t, out))
                goto oom;
            continue;
        }
        if (tok_add(&t, c))
            goto oom;
    }
    return tok_end(&t, out, 0);
oom:
    return tok_end(&t, out, 1);
}

void hp_link_rsp_free(char **args, size_t count)
{
    if (!args)
        return;
    for (size_t i = 0; i < count; i++)
        free(args[i]);
    free(args);
}

hp_status hp_link_rsp_split(const char *text, size_t len, hp_link_quoting quoting, char ***out_args,
                            size_t *out_count)
{
    if ((!text && len) || !out_args || !out_count)
        return HP_ERR_ARGUMENT;
    argvec a = {0};
    int r = quoting == HP_LINK_QUOTING_WINDOWS ? split_windows(text, len, &a) : split_gnu(text, len, &a);
    /* the NULL after the last argument (also the whole array when the text holds none) */
    if (r || !HP_VEC_PUSH(a.v, a.n, a.cap, NULL)) {
        hp_link_rsp_free(a.v, a.n);
        return HP_ERR_NO_MEMORY;
    }
    *out_args = a.v;
    *out_count = a.n - 1;
    return HP_OK;
}

hp_status hp_link_rsp_read(const char *path, hp_link_quoting quoting, char ***out_args, size_t *out_count,
                           char *msg, size_t msg_size)
{
    if (!path || !out_args || !out_count)
        return HP_ERR_ARGUMENT;
    unsigned char *data = NULL;
    size_t size = 0;
    char why[512] = "";
    hp_status st = hp_file_read(path, &data, &size, why, sizeof why);
    if (st != HP_OK) {
        if (why[0])
            hp_msg_set(msg, msg_size, "cannot read response file %s", why);
        return st;
    }
    const char *text = (const char *)data;
    /* a UTF-8 byte order mark is not part of the first argument */
    if (size >= 3 && data[0] == 0xEF && data[1] == 0xBB && data[2] == 0xBF) {
        text += 3;
        size -= 3;
    }
    st = hp_link_rsp_split(text, size, quoting, out_args, out_count);
    free(data);
    return st;
}
