/*
 * test_policy.c — suite "policy": the C policy core (plugin/src/, hp_policy.h)
 * on modules parsed from IR text through LLVM-C, without clang.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include <llvm-c/Analysis.h>
#include <llvm-c/Comdat.h>
#include <llvm-c/Core.h>
#include <llvm-c/IRReader.h>

#include "hp_policy.h"
#include "hotpatch_table.h"

/* ------------------------------------------------------------------------- */
/* Helpers                                                                    */
/* ------------------------------------------------------------------------- */

static LLVMContextRef g_ctx;

static void setup(void) { g_ctx = LLVMContextCreate(); }
static void teardown(void) { LLVMContextDispose(g_ctx); }

static LLVMModuleRef parse(const char *ir)
{
    LLVMMemoryBufferRef buf = LLVMCreateMemoryBufferWithMemoryRangeCopy(ir, strlen(ir), "test.ll");
    LLVMModuleRef m = NULL;
    char *err = NULL;
    cr_assert(LLVMParseIRInContext(g_ctx, buf, &m, &err) == 0, "bad test IR: %s", err ? err : "?");
    return m;
}

static hp_policy *policy_with(const char *const *opts)
{
    hp_policy *p = NULL;
    cr_assert_eq(hp_policy_create(&p), HP_OK);
    for (; opts && *opts; opts++) {
        char msg[200];
        cr_assert_eq(hp_policy_set_option(p, *opts, msg, sizeof msg), HP_OK, "%s: %s", *opts, msg);
    }
    return p;
}

/* Reports collected by the host callbacks. */
typedef struct reports {
    int count[HP_POLICY_DIAG_COUNT_];
    char last[HP_POLICY_DIAG_COUNT_][300];
} reports;

static void on_report(void *ctx, hp_policy_diag d, LLVMValueRef fn, const char *message)
{
    reports *r = ctx;
    (void)fn;
    r->count[d]++;
    snprintf(r->last[d], sizeof r->last[d], "%s", message);
}

static const char *str_attr(LLVMModuleRef m, const char *fn, const char *key)
{
    static char buf[4][64];
    static int next;
    LLVMValueRef f = LLVMGetNamedFunction(m, fn);
    LLVMAttributeRef a;
    unsigned len = 0;
    const char *v;
    char *out = buf[next++ & 3];

    cr_assert(f, "no function %s", fn);
    a = LLVMGetStringAttributeAtIndex(f, LLVMAttributeFunctionIndex, key, (unsigned)strlen(key));
    if (!a)
        return NULL;
    v = LLVMGetStringAttributeValue(a, &len);
    snprintf(out, sizeof buf[0], "%.*s", (int)len, v);
    return out;
}

/* Length of the function's prefix data when it is the policy's filler (an int3, then 0x90s: not
   one repeated byte, which the AsmPrinter would emit as a costly fill), else -1. */
/* The prefix data's bytes as codegen emits them: a packed struct of integers, little-endian; 0 when
   it is something else. */
static size_t prefix_bytes(LLVMValueRef c, uint8_t *out, size_t cap)
{
    size_t len = 0;
    unsigned i, k, n;

    if (!c || !LLVMIsAConstantStruct(c) || !LLVMIsPackedStruct(LLVMTypeOf(c)))
        return 0;
    n = LLVMCountStructElementTypes(LLVMTypeOf(c));
    for (i = 0; i < n; i++) {
        LLVMValueRef e = LLVMGetAggregateElement(c, i);
        unsigned bits = LLVMGetIntTypeWidth(LLVMTypeOf(e));
        unsigned long long v = LLVMConstIntGetZExtValue(e);
        for (k = 0; k < bits / 8 && len < cap; k++)
            out[len++] = (uint8_t)(v >> (8 * k));
    }
    return len;
}

/* The length of the function's padding as the policy writes it (prefix data, every byte int3), or -1. */
static int filler_len(LLVMModuleRef m, const char *fn)
{
    LLVMValueRef f = LLVMGetNamedFunction(m, fn);
    uint8_t bytes[HP_MAX_PAD + 8];
    size_t len, i;

    cr_assert(f, "no function %s", fn);
    if (!LLVMHasPrefixData(f))
        return -1;
    len = prefix_bytes(LLVMGetPrefixData(f), bytes, sizeof bytes);
    if (len < 2)
        return -1;
    for (i = 0; i < len; i++)
        if (bytes[i] != HP_FILLER_PREFERRED)
            return -1;
    return (int)len;
}

/* Does the function start with the prologue data 66 90 (i16 0x9066, little-endian)? */
static int entry_nop(LLVMModuleRef m, const char *fn)
{
    LLVMValueRef f = LLVMGetNamedFunction(m, fn), c;

    cr_assert(f, "no function %s", fn);
    if (!LLVMHasPrologueData(f))
        return 0;
    c = LLVMGetPrologueData(f);
    return LLVMIsAConstantInt(c) && LLVMGetIntTypeWidth(LLVMTypeOf(c)) == 16 &&
           LLVMConstIntGetZExtValue(c) == 0x9066;
}

static int count_records(LLVMModuleRef m, const char *section)
{
    LLVMValueRef g;
    int n = 0;
    for (g = LLVMGetFirstGlobal(m); g; g = LLVMGetNextGlobal(g)) {
        const char *s = LLVMGetSection(g);
        if (s && strcmp(s, section) == 0)
            n++;
    }
    return n;
}

#define MINGW64 "target triple = \"x86_64-w64-windows-gnu\"\n"
#define MINGW32 "target triple = \"i686-w64-windows-gnu\"\n"
#define LINUX64 "target triple = \"x86_64-unknown-linux-gnu\"\n"

/* ------------------------------------------------------------------------- */
/* Options and globs                                                          */
/* ------------------------------------------------------------------------- */

Test(policy, options_report_precise_statuses)
{
    hp_policy *p = policy_with(NULL);
    char msg[200];

    cr_expect_eq(hp_policy_set_option(p, "pad=12", msg, sizeof msg), HP_OK);
    cr_expect_eq(hp_policy_set_option(p, "exclude=a*", msg, sizeof msg), HP_OK);
    cr_expect_eq(hp_policy_set_option(p, "exclude=b?", msg, sizeof msg), HP_OK);
    cr_expect_eq(hp_policy_set_option(p, "no-warn-skipped", msg, sizeof msg), HP_OK);
    cr_expect_eq(hp_policy_set_option(p, "frobnicate", msg, sizeof msg), HP_ERR_USAGE);
    cr_expect_str_eq(msg, "unknown option 'frobnicate'");
    cr_expect_eq(hp_policy_set_option(p, "pad=-1", msg, sizeof msg), HP_ERR_BAD_VALUE);
    cr_expect_eq(hp_policy_set_option(p, "pad=99999999999", msg, sizeof msg), HP_ERR_BAD_VALUE);
    cr_expect_eq(hp_policy_set_option(p, "pad", msg, sizeof msg), HP_ERR_USAGE, "a value is missing");
    cr_expect_str_eq(msg, "option 'pad' needs a value ('pad=...')");
    cr_expect_eq(hp_policy_set_option(p, "verbose=1", msg, sizeof msg), HP_ERR_USAGE, "a switch takes no value");
    cr_expect_eq(hp_policy_set_option(p, "=x", msg, sizeof msg), HP_ERR_USAGE);
    cr_expect_eq(hp_policy_set_option(p, NULL, msg, sizeof msg), HP_ERR_ARGUMENT);
    cr_expect_eq(hp_policy_set_option(NULL, "pad=6", NULL, 0), HP_ERR_ARGUMENT);
    cr_expect_eq(hp_policy_set_option(p, "scope=exported", NULL, 0), HP_OK, "msg may be NULL");
    hp_policy_destroy(p);
    hp_policy_destroy(NULL);
}

Test(policy, pad_takes_1_to_64_except_63)
{
    /* The tools' parser (hp_pad_parse) takes 5..64; the plugin also takes 1..4, which
       hp_policy_instrument raises to the target's minimum with a warning. */
    static const char *const good[] = {"pad=1", "pad=4", "pad=04", "pad=5", "pad=62", "pad=64", NULL};
    static const char *const bad[] = {"pad=0", "pad=00", "pad=", "pad=65", "pad=63", "pad=4x", "pad= 4", NULL};
    hp_policy *p = policy_with(NULL);
    char msg[200];
    size_t i;

    for (i = 0; good[i]; i++)
        cr_expect_eq(hp_policy_set_option(p, good[i], msg, sizeof msg), HP_OK, "%s: %s", good[i], msg);
    for (i = 0; bad[i]; i++)
        cr_expect_eq(hp_policy_set_option(p, bad[i], msg, sizeof msg), HP_ERR_BAD_VALUE, "%s", bad[i]);
    cr_expect_eq(hp_policy_set_option(p, "pad=0", msg, sizeof msg), HP_ERR_BAD_VALUE);
    cr_expect_str_eq(msg, "invalid value '0' for 'pad': expected a number of bytes from 1 to 64");
    cr_expect_eq(hp_policy_set_option(p, "pad=exclude=abc", msg, 16), HP_ERR_BAD_VALUE);
    cr_expect_str_eq(msg, "invalid valu...", "a cut message says so");
    hp_policy_destroy(p);
    hp_policy_destroy(NULL);
}

Test(policy, exclude_globs_match_whole_names)
{
    static const char *const opts[] = {"exclude=fib", "exclude=*_table", "exclude=v?r", "exclude=[ab]x",
                                       "exclude=[!a-c]y", "exclude=lit[", NULL};
    hp_policy *p = policy_with(opts);

    cr_expect(hp_policy_excluded(p, "fib"));
    cr_expect(!hp_policy_excluded(p, "fib2"), "a glob matches the whole name");
    cr_expect(!hp_policy_excluded(p, "xfib"));
    cr_expect(hp_policy_excluded(p, "jump_table"));
    cr_expect(hp_policy_excluded(p, "_table"));
    cr_expect(!hp_policy_excluded(p, "jump_tables"));
    cr_expect(hp_policy_excluded(p, "var"));
    cr_expect(!hp_policy_excluded(p, "vr"));
    cr_expect(hp_policy_excluded(p, "ax"));
    cr_expect(hp_policy_excluded(p, "bx"));
    cr_expect(!hp_policy_excluded(p, "cx"));
    cr_expect(hp_policy_excluded(p, "dy"));
    cr_expect(!hp_policy_excluded(p, "by"));
    cr_expect(hp_policy_excluded(p, "lit["), "an unclosed '[' is literal");
    cr_expect(!hp_policy_excluded(p, "main"));
    hp_policy_destroy(p);
}

/* ------------------------------------------------------------------------- */
/* Phase 1                                                                    */
/* ------------------------------------------------------------------------- */

static const char k_module[] =
    MINGW64
    "define dso_local void @plain() {\n  ret void\n}\n"
    "define dso_local dllexport i32 @exported(i32 %x) {\n  ret i32 %x\n}\n"
    "define internal i32 @local(i32 %x) {\n  ret i32 %x\n}\n"
    "define dso_local void @naked_fn() #0 {\n  unreachable\n}\n"
    "define dso_local void @explicit_small() #1 {\n  ret void\n}\n"
    "define dso_local void @explicit_ok() #2 {\n  ret void\n}\n"
    "define available_externally void @elsewhere() {\n  ret void\n}\n"
    "declare void @undefined()\n"
    "attributes #0 = { naked noinline }\n"
    "attributes #1 = { \"patchable-function-entry\"=\"2\" \"patchable-function-prefix\"=\"2\" }\n"
    "attributes #2 = { \"patchable-function-entry\"=\"2\" \"patchable-function-prefix\"=\"8\" }\n";

Test(policy, instrument_sets_the_site_attributes, .init = setup, .fini = teardown)
{
    LLVMModuleRef m = parse(k_module);
    hp_policy *p = policy_with(NULL);
    reports r;
    hp_policy_host host = {&r, NULL, on_report, NULL, NULL};
    hp_policy_stats st = {0, 0, 0, 0};

    memset(&r, 0, sizeof r);
    cr_assert_eq(hp_policy_instrument(p, m, &host, &st), HP_OK);
    /* plain, exported, local, naked_fn, explicit_small, explicit_ok: 6 bodies (elsewhere is not emitted) */
    cr_expect_eq(st.defined, 6);
    cr_expect_eq(st.instrumented, 4, "plain, exported, local, explicit_ok");
    cr_expect_eq(st.skipped, 2, "naked_fn, explicit_small");

    /* padding as prefix data, the entry NOP as prologue data: no attribute to rebuild */
    cr_expect_eq(filler_len(m, "plain"), 6);
    cr_expect(entry_nop(m, "plain"));
    cr_expect_eq(str_attr(m, "plain", "patchable-function-prefix"), NULL);
    cr_expect_eq(str_attr(m, "plain", "patchable-function-entry"), NULL);
    cr_expect_eq(str_attr(m, "plain", "hotpatch"), NULL, "prefix data identifies the function: no mark");
    cr_expect_eq(filler_len(m, "exported"), 6);
    cr_expect(entry_nop(m, "exported"));
    cr_expect_eq(filler_len(m, "local"), 6);
    cr_expect_eq(LLVMGetAlignment(LLVMGetNamedFunction(m, "plain")), 2, "pad 6: an even entry never straddles");
    cr_expect_eq(filler_len(m, "naked_fn"), -1);
    cr_expect(!entry_nop(m, "naked_fn"));
    cr_expect_eq(str_attr(m, "naked_fn", "patchable-function-prefix"), NULL);
    cr_expect_str_eq(str_attr(m, "explicit_small", "patchable-function-prefix"), "2", "left as written");
    cr_expect_eq(filler_len(m, "explicit_small"), -1);
    cr_expect_eq(str_attr(m, "explicit_small", "hotpatch"), NULL);
    cr_expect_str_eq(str_attr(m, "explicit_ok", "patchable-function-prefix"), "8", "compatible: kept");
    cr_expect_eq(filler_len(m, "explicit_ok"), -1);
    cr_expect_str_eq(str_attr(m, "explicit_ok", "hotpatch"), "1", "attribute padding: marked");
    cr_expect_eq(filler_len(m, "elsewhere"), -1);
    cr_expect_eq(str_attr(m, "elsewhere", "hotpatch"), NULL);

    cr_expect_eq(r.count[HP_POLICY_DIAG_NAKED], 1);
    cr_expect_str_eq(r.last[HP_POLICY_DIAG_NAKED],
                     "naked function 'naked_fn' cannot be made hotpatchable; it is left without padding");
    cr_expect_eq(r.count[HP_POLICY_DIAG_CONFLICT], 1);
    cr_expect_eq(r.count[HP_POLICY_DIAG_VERBOSE], 0, "remarks only with verbose");
    hp_policy_destroy(p);
}

/* -fsanitize=function data (!func_sanitize) goes right before the entry: the function is skipped
   with a report, and gets no record. With the check turned off (what the plugin does when the
   sanitizer is not enabled) the same IR is instrumented, so the check is what skips it. */
Test(policy, function_sanitizer_data_skips_the_function, .init = setup, .fini = teardown)
{
    static const char ir[] = LINUX64 "define void @typed() !func_sanitize !0 {\n  ret void\n}\n"
                                     "define void @other() {\n  ret void\n}\n"
                                     "!0 = !{i32 -1056584962, i32 1}\n";
    LLVMModuleRef m = parse(ir);
    hp_policy *p = policy_with(NULL);
    reports r;
    hp_policy_host host = {&r, NULL, on_report, NULL, NULL};
    hp_policy_stats st = {0, 0, 0, 0};

    memset(&r, 0, sizeof r);
    cr_assert_eq(hp_policy_instrument(p, m, &host, &st), HP_OK);
    cr_expect_eq(st.skipped, 1);
    cr_expect_eq(filler_len(m, "typed"), -1);
    cr_expect(!entry_nop(m, "typed"));
    cr_expect_eq(filler_len(m, "other"), 6);
    cr_expect_eq(r.count[HP_POLICY_DIAG_SKIPPED], 1);
    cr_expect_str_eq(r.last[HP_POLICY_DIAG_SKIPPED],
                     "'typed' cannot be made hotpatchable: -fsanitize=function puts its type data right before the "
                     "entry; it is left without padding");
    cr_assert_eq(hp_policy_emit_table(p, m, &st), HP_OK);
    cr_expect_eq(st.records, 1, "only other");
    hp_policy_destroy(p);

    m = parse(ir);
    p = policy_with(NULL);
    hp_policy_set_function_sanitizer(p, 0);
    memset(&r, 0, sizeof r);
    cr_assert_eq(hp_policy_instrument(p, m, &host, NULL), HP_OK);
    cr_expect_eq(filler_len(m, "typed"), 6, "not checked: instrumented");
    cr_expect_eq(r.count[HP_POLICY_DIAG_SKIPPED], 0);
    hp_policy_destroy(p);
}

Test(policy, instrument_is_idempotent, .init = setup, .fini = teardown)
{
    LLVMModuleRef m = parse(k_module);
    hp_policy *p = policy_with(NULL);
    reports r;
    hp_policy_host host = {&r, NULL, on_report, NULL, NULL};
    hp_policy_stats st = {0, 0, 0, 0};
    char *once, *twice;

    memset(&r, 0, sizeof r);
    hp_policy_instrument(p, m, &host, NULL);
    once = LLVMPrintModuleToString(m);
    memset(&r, 0, sizeof r);
    cr_assert_eq(hp_policy_instrument(p, m, &host, &st), HP_OK);
    twice = LLVMPrintModuleToString(m);
    cr_expect_str_eq(once, twice);
    cr_expect_eq(st.instrumented, 4, "already marked functions still count");
    LLVMDisposeMessage(once);
    LLVMDisposeMessage(twice);
    hp_policy_destroy(p);
}

/* Bitcode from a plugin that wrote its padding as bytes (CC 90 90 ..., or all 90): recognised as the
   policy's, so a second run neither pads again nor adds the attribute, and the table records it. */
Test(policy, earlier_byte_padding_is_recognised, .init = setup, .fini = teardown)
{
    static const char *const forms[] = {"c\"\\CC\\90\\90\\90\\90\\90\"", "c\"\\90\\90\\90\\90\\90\\90\""};
    for (size_t i = 0; i < 2; i++) {
        char ir[400];
        snprintf(ir, sizeof ir,
                 MINGW64 "define void @f() prefix [6 x i8] %s prologue i16 -28570 {\n  ret void\n}\n", forms[i]);
        LLVMModuleRef m = parse(ir);
        hp_policy *p = policy_with(NULL);
        hp_policy_stats st = {0, 0, 0, 0};
        cr_assert_eq(hp_policy_instrument(p, m, NULL, NULL), HP_OK);
        LLVMValueRef f = LLVMGetNamedFunction(m, "f");
        cr_expect(LLVMIsAConstantDataSequential(LLVMGetPrefixData(f)), "form %zu: the bytes are kept", i);
        cr_expect_eq(str_attr(m, "f", "patchable-function-prefix"), NULL, "form %zu", i);
        cr_assert_eq(hp_policy_emit_table(p, m, &st), HP_OK);
        cr_expect_eq(st.records, 1, "form %zu: recorded", i);
        hp_policy_destroy(p);
    }
}

Test(policy, disabled_diagnostics_are_not_reported, .init = setup, .fini = teardown)
{
    static const char *const opts[] = {"no-warn-naked", "no-warn-conflict", NULL};
    LLVMModuleRef m = parse(k_module);
    hp_policy *p = policy_with(opts);
    reports r;
    hp_policy_host host = {&r, NULL, on_report, NULL, NULL};

    memset(&r, 0, sizeof r);
    hp_policy_instrument(p, m, &host, NULL);
    cr_expect_eq(r.count[HP_POLICY_DIAG_NAKED], 0);
    cr_expect_eq(r.count[HP_POLICY_DIAG_CONFLICT], 0);
    hp_policy_destroy(p);
}

static unsigned explicit_pfe_zero(void *ctx, LLVMValueRef fn)
{
    size_t len;
    const char *name = LLVMGetValueName2(fn, &len);
    (void)ctx;
    /* the host saw __attribute__((patchable_function_entry(0))) on `plain` */
    return HP_POLICY_DECL_KNOWN | (strcmp(name, "plain") == 0 ? HP_POLICY_DECL_EXPLICIT_PFE : 0u);
}

Test(policy, an_explicit_zero_entry_from_the_ast_is_a_conflict, .init = setup, .fini = teardown)
{
    LLVMModuleRef m = parse(k_module);
    hp_policy *p = policy_with(NULL);
    reports r;
    hp_policy_host host = {&r, explicit_pfe_zero, on_report, NULL, NULL};

    memset(&r, 0, sizeof r);
    hp_policy_instrument(p, m, &host, NULL);
    cr_expect_eq(str_attr(m, "plain", "hotpatch"), NULL);
    cr_expect_eq(filler_len(m, "plain"), -1);
    cr_expect_eq(r.count[HP_POLICY_DIAG_CONFLICT], 2, "explicit_small and plain");
    hp_policy_destroy(p);
}

Test(policy, alignment_keeps_the_entry_in_one_cache_line, .init = setup, .fini = teardown)
{
    /* entry = k*A + P straddles a 64-byte line only if P = A-1 (mod A); A = 1 allows any entry:
       P=5 -> A=4 (x86), P=6 -> A=2, P=7 -> A=16, P=15 -> A=32, P=16 -> A=2 */
    static const struct {
        const char *pad;
        unsigned align;
        const char *triple;
    } cases[] = {{"pad=5", 4, MINGW32}, {"pad=6", 2, MINGW64}, {"pad=7", 16, MINGW64},
                 {"pad=15", 32, MINGW64}, {"pad=16", 2, MINGW64}};
    size_t i;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *opts[2] = {cases[i].pad, NULL};
        char ir[200];
        LLVMModuleRef m;
        hp_policy *p = policy_with(opts);
        snprintf(ir, sizeof ir, "%sdefine void @f() {\n  ret void\n}\n", cases[i].triple);
        m = parse(ir);
        hp_policy_instrument(p, m, NULL, NULL);
        cr_expect_eq(LLVMGetAlignment(LLVMGetNamedFunction(m, "f")), cases[i].align, "%s", cases[i].pad);
        hp_policy_destroy(p);
        LLVMDisposeModule(m);
    }
}

Test(policy, unsupported_target_is_reported_and_left_alone, .init = setup, .fini = teardown)
{
    LLVMModuleRef m = parse("target triple = \"aarch64-unknown-linux-gnu\"\ndefine void @f() {\n  ret void\n}\n");
    hp_policy *p = policy_with(NULL);
    reports r;
    hp_policy_host host = {&r, NULL, on_report, NULL, NULL};

    memset(&r, 0, sizeof r);
    cr_assert_eq(hp_policy_instrument(p, m, &host, NULL), HP_OK);
    cr_expect_eq(r.count[HP_POLICY_DIAG_SKIPPED], 1);
    cr_expect_eq(str_attr(m, "f", "hotpatch"), NULL);
    cr_expect_eq(filler_len(m, "f"), -1);
    cr_expect_eq(hp_policy_emit_table(p, m, NULL), HP_OK);
    cr_expect_eq(count_records(m, ".hotp$m") + count_records(m, "hotp_table"), 0);
    hp_policy_destroy(p);
}

/* ------------------------------------------------------------------------- */
/* Phase 2                                                                    */
/* ------------------------------------------------------------------------- */

Test(policy, table_records_only_functions_that_survived, .init = setup, .fini = teardown)
{
    LLVMModuleRef m = parse(k_module);
    hp_policy *p = policy_with(NULL);
    hp_policy_stats st = {0, 0, 0, 0};
    LLVMValueRef local;

    hp_policy_instrument(p, m, NULL, NULL);
    /* the optimizer inlined and deleted `local` */
    local = LLVMGetNamedFunction(m, "local");
    LLVMDeleteFunction(local);
    cr_assert_eq(hp_policy_emit_table(p, m, &st), HP_OK);
    cr_expect_eq(st.records, 3, "plain, exported, explicit_ok");
    cr_expect_eq(count_records(m, ".hotp$m"), 3);
    cr_expect_eq(count_records(m, ".hotp$a"), 1, "begin marker");
    cr_expect_eq(count_records(m, ".hotp$z"), 1, "end marker");
    /* records are associative: each function sits in a COMDAT the record shares */
    cr_expect(LLVMGetComdat(LLVMGetNamedFunction(m, "plain")) != NULL);
    /* a second run adds nothing */
    cr_assert_eq(hp_policy_emit_table(p, m, &st), HP_OK);
    cr_expect_eq(count_records(m, ".hotp$m"), 3);
    {
        char *err = NULL;
        cr_expect(LLVMVerifyModule(m, LLVMReturnStatusAction, &err) == 0, "invalid module: %s", err);
        LLVMDisposeMessage(err);
    }
    hp_policy_destroy(p);
}

Test(policy, table_off_writes_nothing, .init = setup, .fini = teardown)
{
    static const char *const opts[] = {"table=off", NULL};
    LLVMModuleRef m = parse(k_module);
    hp_policy *p = policy_with(opts);
    hp_policy_stats st = {0, 0, 0, 0};

    hp_policy_instrument(p, m, NULL, NULL);
    cr_assert_eq(hp_policy_emit_table(p, m, &st), HP_OK);
    cr_expect_eq(st.records, 0);
    cr_expect_eq(count_records(m, ".hotp$m"), 0);
    cr_expect_eq(filler_len(m, "plain"), 6, "padding is independent of the table");
    hp_policy_destroy(p);
}

Test(policy, elf_records_are_link_order_sections_through_local_aliases, .init = setup, .fini = teardown)
{
    LLVMModuleRef m = parse(LINUX64 "define void @ext() {\n  ret void\n}\n"
                                    "define internal void @loc() {\n  ret void\n}\n");
    hp_policy *p = policy_with(NULL);
    hp_policy_stats st = {0, 0, 0, 0};
    char *text;

    hp_policy_instrument(p, m, NULL, NULL);
    cr_assert_eq(hp_policy_emit_table(p, m, &st), HP_OK);
    cr_expect_eq(st.records, 2);
    cr_expect_eq(count_records(m, "hotp_table"), 2);
    text = LLVMPrintModuleToString(m);
    cr_expect(strstr(text, "@__hp_local.ext = private alias") != NULL, "no local alias for ext:\n%s", text);
    cr_expect(strstr(text, "__hp_local.loc") == NULL, "internal functions need no alias");
    cr_expect(strstr(text, "!associated") != NULL);
    cr_expect(strstr(text, "__hp_table_begin") == NULL, "no markers on ELF: __start_/__stop_ exist");
    LLVMDisposeMessage(text);
    hp_policy_destroy(p);
}

/* The padding is int3 (HP_FILLER_PREFERRED, what the link would otherwise rewrite it to), filler to
   the site rules, not one byte array (which the assembler would emit as a fill fragment), and a pad=
   below the target's minimum is raised as hp_site_pad() raises it. */
Test(policy, padding_is_filler_to_the_site_rules, .init = setup, .fini = teardown)
{
    static const struct {
        const char *pad;
        const char *triple;
        hp_machine machine;
        uint32_t requested;
    } cases[] = {{"pad=3", MINGW64, HP_MACHINE_X64, 3},  {"pad=5", MINGW64, HP_MACHINE_X64, 5},
                 {"pad=4", MINGW32, HP_MACHINE_X86, 4},  {"pad=16", MINGW64, HP_MACHINE_X64, 16},
                 {"pad=7", MINGW64, HP_MACHINE_X64, 7},  {"pad=64", LINUX64, HP_MACHINE_X64, 64},
                 {NULL, MINGW32, HP_MACHINE_X86, 0}};
    size_t i, k;

    cr_expect(hp_site_is_filler(HP_FILLER_PREFERRED));
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *opts[2] = {cases[i].pad, NULL};
        char ir[200];
        LLVMModuleRef m;
        hp_policy *p = policy_with(opts);
        LLVMValueRef f;
        uint8_t bytes[HP_MAX_PAD + 8];
        size_t len = 0;

        snprintf(ir, sizeof ir, "%sdefine void @f() {\n  ret void\n}\n", cases[i].triple);
        m = parse(ir);
        cr_assert_eq(hp_policy_instrument(p, m, NULL, NULL), HP_OK);
        f = LLVMGetNamedFunction(m, "f");
        cr_assert(LLVMHasPrefixData(f), "%s", cases[i].pad ? cases[i].pad : "default");
        cr_expect(!LLVMIsAConstantDataSequential(LLVMGetPrefixData(f)), "a byte array becomes an assembler fill");
        len = prefix_bytes(LLVMGetPrefixData(f), bytes, sizeof bytes);
        cr_expect_eq(len, hp_site_pad(cases[i].machine, cases[i].requested), "%s",
                     cases[i].pad ? cases[i].pad : "default");
        for (k = 0; k < len; k++) {
            cr_expect(hp_site_is_filler(bytes[k]), "byte %zu", k);
            cr_expect_eq(bytes[k], HP_FILLER_PREFERRED, "byte %zu", k);
        }
        hp_policy_destroy(p);
    }
}

Test(policy, x86_records_use_32_bit_differences, .init = setup, .fini = teardown)
{
    LLVMModuleRef m = parse(MINGW32 "define void @f() {\n  ret void\n}\n");
    hp_policy *p = policy_with(NULL);
    char *text;

    hp_policy_instrument(p, m, NULL, NULL);
    cr_expect_eq(filler_len(m, "f"), 5);
    cr_assert_eq(hp_policy_emit_table(p, m, NULL), HP_OK);
    text = LLVMPrintModuleToString(m);
    cr_expect(strstr(text, "i32 sub (i32 ptrtoint (ptr @f to i32), i32 ptrtoint (ptr @__hp_rec.f to i32))") != NULL,
              "%s", text);
    cr_expect(strstr(text, "-include:___hp_table_begin") != NULL, "x86 symbols carry '_':\n%s", text);
    LLVMDisposeMessage(text);
    hp_policy_destroy(p);
}

/* KCFI puts its type hash between prefix data and the entry; CET needs endbr first, so the NOP
   comes after it: those modules get LLVM's attributes instead (and the mark, for the table). */
Test(policy, kcfi_and_cet_modules_use_the_attributes, .init = setup, .fini = teardown)
{
    LLVMModuleRef k = parse(LINUX64 "define void @f() {\n  ret void\n}\n"
                                    "!llvm.module.flags = !{!0}\n!0 = !{i32 4, !\"kcfi\", i32 1}\n");
    LLVMModuleRef c = parse(MINGW64 "define void @f() {\n  ret void\n}\n"
                                    "!llvm.module.flags = !{!0}\n!0 = !{i32 8, !\"cf-protection-branch\", i32 1}\n");
    hp_policy *p = policy_with(NULL);
    hp_policy_stats st = {0, 0, 0, 0};

    hp_policy_instrument(p, k, NULL, NULL);
    cr_expect_eq(filler_len(k, "f"), -1);
    cr_expect_str_eq(str_attr(k, "f", "patchable-function-prefix"), "6");
    cr_expect_str_eq(str_attr(k, "f", "hotpatch"), "3", "ENTRY_NOP | EXPORTED (default visibility)");
    cr_expect(entry_nop(k, "f"), "no CET: the NOP is prologue data");

    hp_policy_instrument(p, c, NULL, NULL);
    cr_expect_eq(filler_len(c, "f"), 6);
    cr_expect(!entry_nop(c, "f"));
    cr_expect_str_eq(str_attr(c, "f", "patchable-function-entry"), "2", "after endbr");
    cr_assert_eq(hp_policy_emit_table(p, c, &st), HP_OK);
    cr_expect_eq(st.records, 1);
    hp_policy_destroy(p);
}

/* A function with prefix data of its own keeps it: the padding goes after it (the attribute). */
Test(policy, foreign_prefix_data_is_kept, .init = setup, .fini = teardown)
{
    LLVMModuleRef m = parse(MINGW64 "define void @f() prefix i32 123 {\n  ret void\n}\n");
    hp_policy *p = policy_with(NULL);
    hp_policy_stats st = {0, 0, 0, 0};

    hp_policy_instrument(p, m, NULL, NULL);
    cr_expect_str_eq(str_attr(m, "f", "patchable-function-prefix"), "6");
    cr_expect_str_eq(str_attr(m, "f", "hotpatch"), "1");
    cr_expect(LLVMHasPrefixData(LLVMGetNamedFunction(m, "f")));
    cr_expect_eq(filler_len(m, "f"), -1, "its own prefix data is untouched");
    cr_assert_eq(hp_policy_emit_table(p, m, &st), HP_OK);
    cr_expect_eq(st.records, 1);
    hp_policy_destroy(p);
}

/* Without function sections, and when the module is not going straight to machine code (IR
   output, LTO), all COFF records of a unit form one array, a run: two i32 per record, `where` as a
   difference to the array's start, then pad | flags << 8 | version << 16: record 0 starts the run
   (6 | (ENTRY_NOP 1 | RUN_START 8) << 8 | 3 << 16 = 198918), record 1 is in it and exported
   (6 | (1 | EXPORTED 2 | IN_RUN 16) << 8 | 3 << 16 = 201478). */
Test(policy, coff_records_without_comdats_share_one_array, .init = setup, .fini = teardown)
{
    LLVMModuleRef m = parse(MINGW64 "define void @a() {\n  ret void\n}\n"
                                    "define dllexport void @b() {\n  ret void\n}\n");
    hp_policy *p = policy_with(NULL);
    hp_policy_stats st = {0, 0, 0, 0};
    char *text, *err = NULL;

    hp_policy_set_function_sections(p, 0);
    hp_policy_instrument(p, m, NULL, NULL);
    cr_assert_eq(hp_policy_emit_table(p, m, &st), HP_OK);
    cr_expect_eq(st.records, 2);
    cr_expect_eq(count_records(m, ".hotp$m"), 1, "one array");
    cr_expect(LLVMGetComdat(LLVMGetNamedFunction(m, "a")) == NULL);
    text = LLVMPrintModuleToString(m);
    cr_expect(strstr(text, "@__hp_recs = private constant [4 x i32] [i32 sub (i32 ptrtoint (ptr @a to i32), i32 "
                           "ptrtoint (ptr @__hp_recs to i32)), i32 198918, i32 sub (i32 ptrtoint (ptr @b to i32), "
                           "i32 ptrtoint (ptr @__hp_recs to i32)), i32 201478]") != NULL,
              "%s", text);
    cr_expect(LLVMVerifyModule(m, LLVMReturnStatusAction, &err) == 0, "invalid module: %s", err);
    LLVMDisposeMessage(err);
    LLVMDisposeMessage(text);
    hp_policy_destroy(p);
}

/* Straight to machine code (hp_policy_set_object_output) the COFF records of functions without a
   COMDAT become module assembly: one block per header word, `.long count, word` and `.rva` with
   the assembler names (x86: '_' prefix, none for a \1 asm label), a zero word after an odd count.
   x86 default pad 5; non-exported word 5 | (ENTRY_NOP 1 | RVA_BLOCK 0x20) << 8 | 3 << 16 =
   205061, exported 5 | (1 | EXPORTED 2 | 0x20) << 8 | 3 << 16 = 205573. Names the assembler could
   not take as they are (stdcall decoration, a '$') stay IR records, in a run; COMDAT functions
   keep their associative records. The module's own assembly comes first, untouched. */
Test(policy, coff_records_become_rva_blocks_when_compiling_to_machine_code, .init = setup, .fini = teardown)
{
    LLVMModuleRef m = parse(MINGW32 "module asm \".globl user_sym\"\n"
                                    "$k = comdat any\n"
                                    "define void @a() {\n  ret void\n}\n"
                                    "define dllexport void @b() {\n  ret void\n}\n"
                                    "define internal void @c() {\n  ret void\n}\n"
                                    "define void @\"\\01raw\"() {\n  ret void\n}\n"
                                    "define x86_stdcallcc void @d(i32 %x) {\n  ret void\n}\n"
                                    "define void @\"we$ird\"() {\n  ret void\n}\n"
                                    "define linkonce_odr void @k() comdat {\n  ret void\n}\n");
    hp_policy *p = policy_with(NULL);
    hp_policy_stats st = {0, 0, 0, 0};
    const char *want = ".globl user_sym\n"
                       "\n\t.section\t.hotp$m,\"dr\"\n\t.p2align\t2\n"
                       "\t.long\t3, 205061\n\t.rva\t_a, _c, raw\n\t.long\t0\n"
                       "\t.long\t1, 205573\n\t.rva\t_b\n\t.long\t0\n"
                       "\t.text\n";
    const char *got;
    size_t len;
    char *err = NULL;

    hp_policy_set_function_sections(p, 0);
    hp_policy_set_object_output(p, 1);
    hp_policy_instrument(p, m, NULL, NULL);
    cr_assert_eq(hp_policy_emit_table(p, m, &st), HP_OK);
    cr_expect_eq(st.records, 7);
    got = LLVMGetModuleInlineAsm(m, &len);
    cr_expect(len == strlen(want) && memcmp(got, want, len) == 0, "module assembly:\n%.*s", (int)len, got);
    /* d and we$ird: one run of two IR records; k: its own associative record */
    cr_expect_eq(count_records(m, ".hotp$m"), 2);
    cr_expect(LLVMGetNamedGlobal(m, "__hp_recs") != NULL);
    cr_expect(LLVMVerifyModule(m, LLVMReturnStatusAction, &err) == 0, "invalid module: %s", err);
    LLVMDisposeMessage(err);
    hp_policy_destroy(p);
}

/* With function sections (straight to machine code) each function has a COMDAT section of its
   own, so its record is a plain self-relative record (`f-.`) in a .hotp$m section associative to
   it, the header word a symbol set once (x64 pad 6; 6 | (ENTRY_NOP 1) << 8 | 3 << 16 = 196870):
   an integer token per record would cost the assembler more than the record. A function with an explicit section lives in a section that stays whole: a block
   (word 6 | (1 | RVA_BLOCK 0x20) << 8 | 3 << 16 = 205062). No IR comdat is added for either. */
Test(policy, function_sections_give_associative_records_in_assembly, .init = setup, .fini = teardown)
{
    LLVMModuleRef m = parse(MINGW64 "define void @a() {\n  ret void\n}\n"
                                    "define void @b() {\n  ret void\n}\n"
                                    "define void @c() section \".text$keep\" {\n  ret void\n}\n");
    hp_policy *p = policy_with(NULL);
    hp_policy_stats st = {0, 0, 0, 0};
    const char *want = "\n\t.section\t.hotp$m,\"dr\"\n\t.p2align\t2\n"
                       "\t.long\t1, 205062\n\t.rva\tc\n\t.long\t0\n"
                       "\t.set\t.Lhp_word_196870, 196870\n"
                       "\t.section\t.hotp$m,\"dr\",associative,a\n"
                       "\t.long\ta-., .Lhp_word_196870\n"
                       "\t.section\t.hotp$m,\"dr\",associative,b\n"
                       "\t.long\tb-., .Lhp_word_196870\n"
                       "\t.text\n";
    const char *got;
    size_t len;

    hp_policy_set_object_output(p, 1);
    hp_policy_instrument(p, m, NULL, NULL);
    cr_assert_eq(hp_policy_emit_table(p, m, &st), HP_OK);
    cr_expect_eq(st.records, 3);
    got = LLVMGetModuleInlineAsm(m, &len);
    cr_expect(len == strlen(want) && memcmp(got, want, len) == 0, "module assembly:\n%.*s", (int)len, got);
    cr_expect_eq(count_records(m, ".hotp$m"), 0, "no IR records");
    cr_expect(LLVMGetComdat(LLVMGetNamedFunction(m, "a")) == NULL, "no IR comdat");
    hp_policy_destroy(p);
}
