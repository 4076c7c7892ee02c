/*
 * archive.c — layer 6 of the audit library (audit/README.md, "Source layout"),
 * a reader: `ar` archives in the GNU and MSVC (.lib) variants. Linker members
 * and the long-name table are read, import members (short import objects and
 * GNU-style .idata objects) are counted and skipped, every other COFF member
 * is audited as an object under its member name.
 *
 * May call: coff.c (the object reader), builder, arena.
 */
#include <string.h>

#include "arena.h"
#include "builder.h"
#include "readers.h"

enum {
    AR_MAGIC_SIZE = 8,   /* "!<arch>\n" */
    AR_HEADER_SIZE = 60, /* name[16] date[12] uid[6] gid[6] mode[8] size[10] fmag[2] */
};

/* Decimal field of a member header (space padded). 0 on a malformed field. */
static int ar_decimal(const uint8_t *p, size_t n, uint64_t *out)
{
    uint64_t v = 0;
    size_t i = 0;
    while (i < n && p[i] == ' ')
        i++;
    if (i == n || p[i] < '0' || p[i] > '9')
        return 0;
    for (; i < n && p[i] >= '0' && p[i] <= '9'; i++) {
        if (v > (UINT64_MAX - 9) / 10)
            return 0;
        v = v * 10 + (uint64_t)(p[i] - '0');
    }
    for (; i < n; i++)
        if (p[i] != ' ')
            return 0;
    *out = v;
    return 1;
}

/* Member name: short "name/" (GNU, MSVC), "/123" into the long-name table, BSD "#1/len" handled by caller. */
static const char *member_name(hpa_file *f, const uint8_t *field, hp_pe_span longnames)
{
    hpa_arena *ar = &f->report->arena;
    if (field[0] == '/' && field[1] >= '0' && field[1] <= '9') {
        uint64_t off;
        if (!ar_decimal(field + 1, 15, &off) || off >= longnames.size)
            return hpa_strdup(ar, "?");
        size_t end = (size_t)off;
        /* GNU ends a long name with "/\n", MSVC with NUL */
        while (end < longnames.size && longnames.data[end] != 0 && longnames.data[end] != '\n')
            end++;
        size_t len = end - (size_t)off;
        if (len && longnames.data[off + len - 1] == '/')
            len--;
        return hpa_strndup(ar, (const char *)longnames.data + off, len);
    }
    size_t len = 16;
    while (len && field[len - 1] == ' ')
        len--;
    if (len && field[len - 1] == '/')
        len--;
    return hpa_strndup(ar, (const char *)field, len);
}

hp_status hpa_archive(hpa_file *f, hp_pe_span b, const char **detail)
{
    hp_pe_span longnames = {NULL, 0};
    uint64_t off = AR_MAGIC_SIZE;
    while (off < b.size) {
        hp_pe_span hdr, data;
        if (!hp_pe_span_sub(b, off, AR_HEADER_SIZE, &hdr)) {
            *detail = "truncated archive member header";
            return HP_ERR_FORMAT;
        }
        if (hdr.data[58] != '`' || hdr.data[59] != '\n') {
            *detail = "bad archive member header";
            return HP_ERR_FORMAT;
        }
        uint64_t size;
        if (!ar_decimal(hdr.data + 48, 10, &size)) {
            *detail = "bad archive member size";
            return HP_ERR_FORMAT;
        }
        if (!hp_pe_span_sub(b, off + AR_HEADER_SIZE, size, &data)) {
            *detail = "archive member extends past the end of the file";
            return HP_ERR_FORMAT;
        }
        const uint8_t *name = hdr.data;
        const char *mname = NULL;
        if (name[0] == '/' && (name[1] == ' ' || name[1] == '/')) {
            /* "/" linker members (symbol indexes), "//" the long-name table */
            if (name[1] == '/')
                longnames = data;
        } else if (memcmp(name, "__.SYMDEF", 9) == 0) {
            /* BSD symbol index */
        } else {
            if (memcmp(name, "#1/", 3) == 0) {
                /* BSD: the name's length follows "#1/", the name starts the data */
                uint64_t nlen;
                if (!ar_decimal(name + 3, 13, &nlen) || nlen > data.size) {
                    *detail = "bad archive member name";
                    return HP_ERR_FORMAT;
                }
                size_t l = 0;
                while (l < nlen && data.data[l])
                    l++;
                mname = hpa_strndup(&f->report->arena, (const char *)data.data, l);
                data.data += nlen;
                data.size -= (size_t)nlen;
            } else {
                mname = member_name(f, name, longnames);
            }
            if (!mname)
                return HP_ERR_NO_MEMORY;
            f->member = mname;
            if (hpa_is_short_import(data)) {
                f->res.coverage.import_members++;
            } else if (hpa_is_coff_object(data)) {
                hp_status st = hpa_object(f, data, detail);
                if (st != HP_OK) {
                    *detail = hpa_printf(&f->report->arena, "member %s: %s", mname, *detail);
                    if (!*detail)
                        *detail = "out of memory";
                    return st;
                }
            } else {
                hpa_finding(f, "HP2005", NULL, 0, 0, "member %s is not a coff object: not checked", mname);
            }
            f->member = NULL;
        }
        /* members start on even offsets */
        off += AR_HEADER_SIZE + size + (size & 1);
    }
    return HP_OK;
}
