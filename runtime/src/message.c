/*
 * message.c — hp_msgf (module.h): the messages of patch modules, formatted
 * without libc (the freestanding build has none). Calls nothing: the OS layer
 * and every module file may use it.
 */
#include <stdarg.h>

#include "module.h"

typedef struct msg_writer {
    char *buf;
    size_t size, len;
    int cut;
} msg_writer;

static void mw_putc(msg_writer *w, char c)
{
    if (w->len + 1 < w->size)
        w->buf[w->len++] = c;
    else
        w->cut = 1;
}

static void mw_puts(msg_writer *w, const char *s)
{
    if (s == NULL)
        s = "(null)";
    while (*s != '\0' && !w->cut)
        mw_putc(w, *s++);
}

static void mw_putu(msg_writer *w, uint64_t v, unsigned base)
{
    char t[24];
    int n = 0;
    do {
        t[n++] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v != 0);
    while (n > 0)
        mw_putc(w, t[--n]);
}

void hp_msgf(char *buf, size_t size, const char *fmt, ...)
{
    if (buf == NULL || size == 0)
        return;
    msg_writer w = {buf, size, 0, 0};
    va_list ap;
    va_start(ap, fmt);
    for (const char *p = fmt; *p != '\0' && !w.cut; p++) {
        if (*p != '%') {
            mw_putc(&w, *p);
            continue;
        }
        p++;
        int longs = 0, z = 0;
        while (*p == 'l') {
            longs++;
            p++;
        }
        if (*p == 'z') {
            z = 1;
            p++;
        }
        switch (*p) {
        case 's':
            mw_puts(&w, va_arg(ap, const char *));
            break;
        case 'c':
            mw_putc(&w, (char)va_arg(ap, int));
            break;
        case 'd': {
            long long v = longs >= 2 ? va_arg(ap, long long) : longs == 1 ? va_arg(ap, long) : va_arg(ap, int);
            if (v < 0)
                mw_putc(&w, '-');
            mw_putu(&w, v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v, 10);
            break;
        }
        case 'u':
        case 'x': {
            uint64_t v = z           ? (uint64_t)va_arg(ap, size_t)
                         : longs >= 2 ? (uint64_t)va_arg(ap, unsigned long long)
                         : longs == 1 ? (uint64_t)va_arg(ap, unsigned long)
                                      : (uint64_t)va_arg(ap, unsigned);
            mw_putu(&w, v, *p == 'x' ? 16u : 10u);
            break;
        }
        case 'p':
            mw_puts(&w, "0x");
            mw_putu(&w, (uint64_t)(uintptr_t)va_arg(ap, void *), 16u);
            break;
        case '%':
            mw_putc(&w, '%');
            break;
        case '\0':
            p--; /* a lone '%' at the end */
            break;
        default:
            mw_putc(&w, '%');
            mw_putc(&w, *p);
            break;
        }
    }
    va_end(ap);
    if (w.cut) {
        /* every byte but the NUL is used: the last three say the message goes on */
        for (size_t i = w.len >= 3 ? w.len - 3 : 0; i < w.len; i++)
            buf[i] = '.';
    }
    buf[w.len] = '\0';
}
