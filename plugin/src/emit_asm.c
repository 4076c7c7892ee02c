/*
 * emit_asm.c — table records as module assembly, for COFF objects compiled
 * straight to machine code (plugin/README.md, "The table"): no IR global and no
 * constant expression per function, only a symbol reference, which costs the
 * compiler a fraction of an IR record.
 *   - RVA blocks (format 3), for functions in a section that stays whole:
 *     per distinct header word `.long N, word` then `.rva` with the N functions
 *     (and a zero word when N is odd, so that the next record is 8-aligned);
 *   - associative records, for functions in a section of their own (function
 *     sections): per function a plain self-relative record `.long f-., word`
 *     in a `.hotp$m` section associative to the function's COMDAT.
 * Symbols cost the assembler little; an integer token costs it far more, so
 * there is one pair of them per block, not per function, and an associative
 * record's word is a symbol set once per distinct value.
 */
#include "policy_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void hpp_asm_put(hpp_asm_text *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        char *p;
        while (cap < b->n + n + 1)
            cap *= 2;
        p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}

void hpp_asm_puts(hpp_asm_text *b, const char *s)
{
    hpp_asm_put(b, s, strlen(s));
}

/* x86 COFF symbols carry the '_' prefix unless the IR name starts with \1 (an asm label: taken
   as is). The C calling convention only (no @N decoration), not private (no local label
   prefix), a plain identifier. */
int hpp_asm_symbol(LLVMValueRef fn, const hpp_target *t, const char **prefix, const char **sym, size_t *len)
{
    const char *raw;
    size_t n, i;

    if (LLVMGetFunctionCallConv(fn) != LLVMCCallConv || LLVMGetLinkage(fn) == LLVMPrivateLinkage)
        return 0;
    raw = LLVMGetValueName2(fn, &n);
    *prefix = t->arch == HPP_ARCH_X86 ? "_" : "";
    if (n > 0 && raw[0] == '\1') {
        raw++;
        n--;
        *prefix = "";
    }
    if (n == 0 || n > 1024 || (raw[0] >= '0' && raw[0] <= '9') || raw[0] == '.')
        return 0;
    for (i = 0; i < n; i++) {
        char c = raw[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.'))
            return 0;
    }
    *sym = raw;
    *len = n;
    return 1;
}

void hpp_emit_blocks(hpp_asm_text *b, hpp_asm_rec *recs, size_t n)
{
    size_t i, done = 0;
    char line[96];

    if (n > 0)
        hpp_asm_puts(b, "\n\t.section\t" HP_TABLE_COFF_SECTION "$m,\"dr\"\n\t.p2align\t2\n");
    while (done < n) {
        unsigned word = 0;
        size_t count = 0, k = 0;
        /* the first word not written yet; writing clears the records' words (0 is never a word) */
        for (i = 0; i < n; i++)
            if (recs[i].word) {
                word = recs[i].word;
                break;
            }
        for (i = 0; i < n; i++)
            count += recs[i].word == word;
        snprintf(line, sizeof line, "\t.long\t%zu, %u\n\t.rva\t", count, word);
        hpp_asm_puts(b, line);
        for (i = 0; i < n; i++) {
            if (recs[i].word != word)
                continue;
            if (k++)
                hpp_asm_put(b, ", ", 2);
            hpp_asm_puts(b, recs[i].prefix);
            hpp_asm_put(b, recs[i].sym, recs[i].len);
            recs[i].word = 0;
        }
        hpp_asm_puts(b, count % 2 ? "\n\t.long\t0\n" : "\n");
        done += count;
    }
}

/* These sections keep the default alignment of 1 (a `.p2align` per record cost 4k instructions):
   every contribution to .hotp is a whole number of 8-byte records, so they stay 8-aligned within
   it all the same. */
void hpp_emit_assoc_records(hpp_asm_text *b, const hpp_asm_rec *recs, size_t n)
{
    size_t i, j;
    char line[96];

    for (i = 0; i < n; i++) {
        /* the word's symbol, at the first record that uses it */
        for (j = 0; j < i && recs[j].word != recs[i].word; j++)
            ;
        if (j == i) {
            snprintf(line, sizeof line, "\t.set\t.Lhp_word_%u, %u\n", recs[i].word, recs[i].word);
            hpp_asm_puts(b, line);
        }
        hpp_asm_puts(b, "\t.section\t" HP_TABLE_COFF_SECTION "$m,\"dr\",associative,");
        hpp_asm_puts(b, recs[i].prefix);
        hpp_asm_put(b, recs[i].sym, recs[i].len);
        hpp_asm_puts(b, "\n\t.long\t");
        hpp_asm_puts(b, recs[i].prefix);
        hpp_asm_put(b, recs[i].sym, recs[i].len);
        snprintf(line, sizeof line, "-., .Lhp_word_%u\n", recs[i].word);
        hpp_asm_puts(b, line);
    }
}

hp_status hpp_asm_finish(LLVMModuleRef module, hpp_asm_text *b)
{
    hp_status st = HP_OK;

    hpp_asm_puts(b, "\t.text\n"); /* back to code for whatever assembly follows */
    if (b->oom)
        st = HP_ERR_NO_MEMORY;
    else
        LLVMAppendModuleInlineAsm(module, b->p, b->n);
    free(b->p);
    b->p = NULL;
    b->n = b->cap = 0;
    return st;
}
