/*
 * rewrite.c — one bitcode module under the plugin's policy, through LLVM-C (hp_link_rewrite.h).
 */
#include "hp_link_rewrite.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <llvm-c/BitReader.h>
#include <llvm-c/BitWriter.h>
#include <llvm-c/Core.h>

#include "hp_policy.h"

#define TABLE_GUARD "hotpatch.table" /* the policy core's marker: the module's table is written */

static void set_msg(char *msg, size_t size, const char *fmt, const char *a, const char *b)
{
    if (msg && size)
        snprintf(msg, size, fmt, a ? a : "", b ? b : "");
}

/* LLVM's diagnostics go to the caller's message, never to stderr (the library does not print). */
typedef struct diag_ctx {
    char *msg;
    size_t size;
} diag_ctx;

static void on_diag(LLVMDiagnosticInfoRef info, void *ctx)
{
    diag_ctx *d = ctx;
    char *text = LLVMGetDiagInfoDescription(info);
    if (d->msg && d->size && LLVMGetDiagInfoSeverity(info) == LLVMDSError && text)
        snprintf(d->msg, d->size, "%s", text);
    LLVMDisposeMessage(text);
}

hp_status hp_link_bitcode_rewrite(const unsigned char *data, size_t size, const char *name, unsigned pad,
                                       unsigned char **out_data, size_t *out_size, char *msg, size_t msg_size)
{
    if (!data || !name || !out_data || !out_size)
        return HP_ERR_ARGUMENT;
    *out_data = NULL;
    *out_size = 0;
    hp_status ret = HP_OK;
    hp_policy *policy = NULL;
    LLVMContextRef ctx = LLVMContextCreate();
    LLVMModuleRef mod = NULL;
    LLVMMemoryBufferRef in = LLVMCreateMemoryBufferWithMemoryRange((const char *)data, size, name, 0);
    char detail[256] = "";
    diag_ctx dc = {detail, sizeof detail};
    if (!ctx || !in) {
        ret = HP_ERR_NO_MEMORY;
        goto out;
    }
    LLVMContextSetDiagnosticHandler(ctx, on_diag, &dc);
    if (LLVMParseBitcodeInContext2(ctx, in, &mod)) {
        set_msg(msg, msg_size, "llvm cannot read the bitcode of '%s': %s", name, detail[0] ? detail : "invalid");
        ret = HP_ERR_BITCODE;
        goto out;
    }
    if (LLVMGetNamedMetadataNumOperands(mod, TABLE_GUARD) > 0)
        goto out; /* compiled with the plugin */
    if (hp_policy_create(&policy) != HP_OK) {
        ret = HP_ERR_NO_MEMORY;
        goto out;
    }
    if (pad) {
        char opt[32], err[128];
        snprintf(opt, sizeof opt, "pad=%u", pad);
        if (hp_policy_set_option(policy, opt, err, sizeof err) != HP_OK) {
            set_msg(msg, msg_size, "the policy refuses %s: %s", opt, err);
            ret = HP_ERR_USAGE;
            goto out;
        }
    }
    if (hp_policy_instrument(policy, mod, NULL, NULL) != HP_OK ||
        hp_policy_emit_table(policy, mod, NULL) != HP_OK) {
        set_msg(msg, msg_size, "the hotpatch policy cannot rewrite '%s'%s", name, NULL);
        ret = HP_ERR_BITCODE;
        goto out;
    }
    LLVMMemoryBufferRef outbuf = LLVMWriteBitcodeToMemoryBuffer(mod);
    if (!outbuf) {
        ret = HP_ERR_NO_MEMORY;
        goto out;
    }
    size_t n = LLVMGetBufferSize(outbuf);
    unsigned char *copy = malloc(n ? n : 1);
    if (copy) {
        memcpy(copy, LLVMGetBufferStart(outbuf), n);
        *out_data = copy;
        *out_size = n;
    } else {
        ret = HP_ERR_NO_MEMORY;
    }
    LLVMDisposeMemoryBuffer(outbuf);

out:
    hp_policy_destroy(policy);
    if (mod)
        LLVMDisposeModule(mod);
    if (in)
        LLVMDisposeMemoryBuffer(in);
    if (ctx)
        LLVMContextDispose(ctx);
    return ret;
}

