/*
 * test_insn_diff.c — instruction lengths from our decoder (Zydis, through
 * hp_insn_length) against LLVM's disassembler (LLVM-C LLVMCreateDisasm), on
 * every byte offset of the site-rule fixtures and on real compiler output
 * built at test time. Two independent decoders disagreeing about a length
 * would make the site rules wrong, so any disagreement fails.
 */
#include <criterion/criterion.h>
#include <llvm-c/Disassembler.h>
#include <llvm-c/Target.h>
#include <stdio.h>
#include <string.h>

#include "hotpatch.h"
#include "hpt.h"
#include "site_cases.h"

static LLVMDisasmContextRef dis64, dis32;

static void setup(void)
{
    LLVMInitializeX86TargetInfo();
    LLVMInitializeX86TargetMC();
    LLVMInitializeX86Disassembler();
    dis64 = LLVMCreateDisasm("x86_64-unknown-linux-gnu", NULL, 0, NULL, NULL);
    dis32 = LLVMCreateDisasm("i386-unknown-linux-gnu", NULL, 0, NULL, NULL);
    cr_assert(dis64 && dis32, "LLVMCreateDisasm failed");
}

static void teardown(void)
{
    LLVMDisasmDispose(dis64);
    LLVMDisasmDispose(dis32);
}

static unsigned llvm_length(hp_machine m, const uint8_t *p, size_t n)
{
    char text[256];
    return (unsigned)LLVMDisasmInstruction(m == HP_MACHINE_X64 ? dis64 : dis32, (uint8_t *)p, n, 0, text, sizeof text);
}

static int is_legacy_prefix(uint8_t b)
{
    return b == 0xF0 || b == 0xF2 || b == 0xF3 || b == 0x2E || b == 0x36 || b == 0x3E || b == 0x26 || b == 0x64 ||
           b == 0x65 || b == 0x66 || b == 0x67;
}

/* Linear sweep with LLVM as the reference: at every instruction LLVM decodes, Zydis must give the
   same length. Returns the number of instructions compared. */
static unsigned sweep(hp_machine m, const uint8_t *p, size_t n, const char *what)
{
    unsigned compared = 0;
    size_t off = 0;
    while (off < n) {
        unsigned l = llvm_length(m, p + off, n - off);
        if (l == 0) {
            off++;
            continue;
        }
        unsigned z = hp_insn_length(m, p + off, n - off);
        if (z == 0 && l == 1 && is_legacy_prefix(p[off])) {
            /* LLVM prints a prefix that cannot apply to what follows (lock ret) as an instruction of
               its own; Zydis rejects the whole sequence. Both say: no valid instruction starts here. */
            off++;
            continue;
        }
        cr_expect_eq(z, l, "%s +%zu: zydis %u, llvm %u (bytes %02x %02x %02x %02x)", what, off, z, l, p[off],
                     off + 1 < n ? p[off + 1] : 0, off + 2 < n ? p[off + 2] : 0, off + 3 < n ? p[off + 3] : 0);
        compared++;
        off += l;
    }
    return compared;
}

Test(insn_diff, site_fixture_bytes, .init = setup, .fini = teardown)
{
    unsigned compared = 0;
    for (unsigned i = 0; i < hpt_site_case_count; i++) {
        const hpt_site_case *c = &hpt_site_cases[i];
        if (c->machine != HP_MACHINE_X64 && c->machine != HP_MACHINE_X86)
            continue;
        /* from every start offset, so padding, entries and bodies are all covered */
        for (unsigned start = 0; start < c->len; start++)
            compared += sweep(c->machine, c->bytes + start, c->len - start, c->name);
    }
    cr_expect_gt(compared, 500u);
}

/* Compile the corpus for a target and return its .text bytes. */
static uint8_t *corpus_text(const char *triple, const char *opt, size_t *n)
{
    char obj[4200], bin[4200];
    const char *dir = hpt_scratch(triple);
    cr_assert(dir);
    snprintf(obj, sizeof obj, "%s/corpus%s.o", dir, opt);
    snprintf(bin, sizeof bin, "%s/corpus%s.text", dir, opt);
    const char *cc[] = {"-c", opt, "-fno-asynchronous-unwind-tables", HPT_FIXTURE_DIR "/diff_corpus.c", "-o", obj, NULL};
    hpt_proc p;
    cr_assert_eq(hpt_cc(triple, cc, &p), 0, "clang failed: %s", p.err);
    hpt_proc_free(&p);
    const char *oc[] = {"/usr/lib/llvm-19/bin/llvm-objcopy", "-O", "binary", "--only-section=.text", obj, bin, NULL};
    cr_assert_eq(hpt_run(oc, NULL, 60, &p), 0);
    cr_assert_eq(p.status, 0, "llvm-objcopy: %s", p.err);
    hpt_proc_free(&p);
    uint8_t *b = hpt_read_file(bin, n);
    cr_assert(b && *n > 100, "no .text from %s", obj);
    return b;
}

Test(insn_diff, compiler_output_x64, .init = setup, .fini = teardown)
{
    static const char *const opts[] = {"-O0", "-O2", "-Os"};
    for (int i = 0; i < 3; i++) {
        size_t n;
        uint8_t *t = corpus_text("x86_64-linux-gnu", opts[i], &n);
        cr_expect_gt(sweep(HP_MACHINE_X64, t, n, opts[i]), 50u);
        free(t);
    }
}

Test(insn_diff, compiler_output_x86, .init = setup, .fini = teardown)
{
    static const char *const opts[] = {"-O0", "-O2", "-Os"};
    for (int i = 0; i < 3; i++) {
        size_t n;
        uint8_t *t = corpus_text("i386-linux-gnu", opts[i], &n);
        cr_expect_gt(sweep(HP_MACHINE_X86, t, n, opts[i]), 50u);
        free(t);
    }
}
