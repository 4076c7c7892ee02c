/*
 * fmt.c — numbers as text for the tools' large writers (the map, the code digests): decimal two digits
 * at a time, hex eight nibbles at a time. printf parses its format on every call; these write the
 * same text (tests/tools/test_fmt.c compares them with snprintf) with no format and no locale. And
 * the buffer the writers format into (hp_outbuf).
 */
#include <stdlib.h>
#include <string.h>

#include "hp_tools.h"

/* "00" "01" ... "99" */
static const char two_digits[200] =
    "0001020304050607080910111213141516171819"
    "2021222324252627282930313233343536373839"
    "4041424344454647484950515253545556575859"
    "6061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

/* decimal digits of v: from its bit length (bits * 1233 / 4096 is floor(log10(2^bits)): v has that many
   digits or one more), then one comparison with a power of ten; no loop (every v checked against
   the loop it replaced) */
static unsigned digits10(uint32_t v)
{
    static const uint32_t pow10[10] = {1u, 10u, 100u, 1000u, 10000u, 100000u, 1000000u, 10000000u,
                                       100000000u, 1000000000u};
    unsigned bits = 32u - (unsigned)__builtin_clz(v | 1u);
    unsigned t = (bits * 1233u) >> 12, n = t + (v >= pow10[t]); /* t: 0..9 */
    return n ? n : 1; /* "0" */
}

char *hp_fmt_u32(char *w, uint32_t v)
{
    char *end = w + digits10(v), *p = end;
    while (v >= 100) {
        uint32_t q = v / 100;
        p -= 2;
        memcpy(p, two_digits + 2 * (v - q * 100), 2);
        v = q;
    }
    if (v >= 10) {
        p -= 2;
        memcpy(p, two_digits + 2 * v, 2);
    } else {
        *--p = (char)('0' + v);
    }
    return end;
}

/* The eight nibbles of v as the ASCII of eight lower-case hex digits, most significant first in memory. */
static uint64_t hex8(uint32_t v)
{
    uint64_t x = v;
    /* spread: nibble i of v into byte i of x (the least significant nibble in the lowest byte) */
    x = (x | (x << 16)) & 0x0000FFFF0000FFFFull;
    x = (x | (x << 8)) & 0x00FF00FF00FF00FFull;
    x = (x | (x << 4)) & 0x0F0F0F0F0F0F0F0Full;
    /* each byte 0..15 to '0'..'9' or 'a'..'f': +6 carries into bit 4 exactly for 10..15 */
    uint64_t letters = ((x + 0x0606060606060606ull) >> 4) & 0x0101010101010101ull;
    x += 0x3030303030303030ull + letters * ('a' - '0' - 10);
    /* the most significant nibble first in memory, whatever the host's byte order */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    return __builtin_bswap64(x);
#else
    unsigned char b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)(x >> (8 * (7 - i)));
    memcpy(&x, b, 8);
    return x;
#endif
}

char *hp_fmt_hex64(char *w, uint64_t v)
{
    uint64_t hi = hex8((uint32_t)(v >> 32)), lo = hex8((uint32_t)v);
    memcpy(w, &hi, 8);
    memcpy(w + 8, &lo, 8);
    return w + 16;
}

/* ---- the output buffer ---------------------------------------------------- */

enum { OUTBUF_BLOCK = 65536 };

int hp_outbuf_init(hp_outbuf *o, FILE *out)
{
    o->out = out;
    o->n = 0;
    o->failed = 0;
    o->cap = OUTBUF_BLOCK;
    o->buf = malloc(o->cap);
    return o->buf != NULL;
}

/* Write out what is in use. */
static void outbuf_flush(hp_outbuf *o)
{
    if (o->n && fwrite(o->buf, 1, o->n, o->out) != o->n)
        o->failed = 1;
    o->n = 0;
}

char *hp_outbuf_room_flush(hp_outbuf *o, size_t need)
{
    if (need > o->cap - o->n) {
        outbuf_flush(o);
        if (need > o->cap) {
            char *bigger = realloc(o->buf, need);
            if (!bigger) {
                o->failed = 1;
                return NULL;
            }
            o->buf = bigger;
            o->cap = need;
        }
    }
    return o->buf + o->n;
}

void hp_outbuf_write(hp_outbuf *o, const void *data, size_t n)
{
    if (n >= o->cap) {
        /* a block larger than the buffer (an object's carried digests): what is in use, then the block
           straight to the stream, neither copied nor the buffer grown for it */
        outbuf_flush(o);
        if (n && !o->failed && fwrite(data, 1, n, o->out) != n)
            o->failed = 1;
        return;
    }
    char *w = hp_outbuf_room(o, n);
    if (!w)
        return;
    memcpy(w, data, n);
    o->n += n;
}

int hp_outbuf_finish(hp_outbuf *o)
{
    outbuf_flush(o);
    free(o->buf);
    o->buf = NULL;
    o->cap = 0;
    return !o->failed;
}
