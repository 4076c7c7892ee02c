/*
 * hpt_portable.c — see hpt_portable.h. Output goes straight to the OS (write(2)
 * or WriteFile) so it works without a C library and is never lost in a buffer
 * when a test crashes.
 */
#include "hpt_portable.h"

#include <stdarg.h>
#include <stdint.h>

#if defined(_WIN32)
typedef void *HANDLE;
__declspec(dllimport) HANDLE __stdcall GetStdHandle(unsigned long);
__declspec(dllimport) int __stdcall WriteFile(HANDLE, const void *, unsigned long, unsigned long *, void *);
static void write_out(const char *p, size_t n)
{
    unsigned long done = 0;
    WriteFile(GetStdHandle((unsigned long)-11), p, (unsigned long)n, &done, 0); /* STD_OUTPUT_HANDLE */
}
#else
#include <unistd.h>
static void write_out(const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(1, p, n);
        if (w <= 0)
            return;
        p += w;
        n -= (size_t)w;
    }
}
#endif

/* Test-program state: these programs are single-threaded at check time. */
static unsigned passed, failed;

typedef struct outbuf {
    char buf[512];
    size_t len;
} outbuf;

static void put(outbuf *o, char c)
{
    if (o->len == sizeof o->buf) {
        write_out(o->buf, o->len);
        o->len = 0;
    }
    o->buf[o->len++] = c;
}

static void put_u(outbuf *o, unsigned long long v, unsigned base)
{
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v);
    while (n)
        put(o, tmp[--n]);
}

static void vformat(outbuf *o, const char *fmt, va_list ap)
{
    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            put(o, *fmt);
            continue;
        }
        int longs = 0, size = 0;
        fmt++;
        while (*fmt == 'l') {
            longs++;
            fmt++;
        }
        if (*fmt == 'z') {
            size = 1;
            fmt++;
        }
        unsigned long long u;
        long long s;
        switch (*fmt) {
        case 's': {
            const char *str = va_arg(ap, const char *);
            for (str = str ? str : "(null)"; *str; str++)
                put(o, *str);
            break;
        }
        case 'c':
            put(o, (char)va_arg(ap, int));
            break;
        case 'd':
            s = longs >= 2 ? va_arg(ap, long long) : longs ? va_arg(ap, long) : va_arg(ap, int);
            if (s < 0) {
                put(o, '-');
                u = (unsigned long long)-(s + 1) + 1;
            } else {
                u = (unsigned long long)s;
            }
            put_u(o, u, 10);
            break;
        case 'u':
        case 'x':
            u = size ? va_arg(ap, size_t)
                : longs >= 2 ? va_arg(ap, unsigned long long)
                : longs ? va_arg(ap, unsigned long)
                : va_arg(ap, unsigned);
            put_u(o, u, *fmt == 'x' ? 16 : 10);
            break;
        case 'p':
            put(o, '0');
            put(o, 'x');
            put_u(o, (uintptr_t)va_arg(ap, void *), 16);
            break;
        case '%':
            put(o, '%');
            break;
        default:
            put(o, '?');
            break;
        }
    }
}

void hpt_out(const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    write_out(s, n);
}

void hpt_outf(const char *fmt, ...)
{
    outbuf o;
    o.len = 0;
    va_list ap;
    va_start(ap, fmt);
    vformat(&o, fmt, ap);
    va_end(ap);
    write_out(o.buf, o.len);
}

int hpt_check(int ok, const char *expr, const char *file, int line)
{
    if (ok) {
        passed++;
    } else {
        failed++;
        hpt_outf("FAIL %s:%d: %s\n", file, line, expr);
    }
    return ok;
}

unsigned hpt_failures(void)
{
    return failed;
}

int hpt_finish(void)
{
    hpt_outf("%u passed, %u failed\n", passed, failed);
    return failed ? 1 : 0;
}
