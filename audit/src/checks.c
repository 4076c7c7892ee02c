/*
 * checks.c — the table of checks (stable IDs, never reused) and the one place
 * where the audit asks the site rules (hp_site_analyze) about a function.
 */
#include <stdlib.h>
#include <string.h>

#include "audit_internal.h"

/* IDs are permanent: append new checks, never renumber or reuse one. */
static const hp_audit_check checks[] = {
    {"HP1001", "padding-short", "fewer filler bytes before the entry than the required padding: no room for the long jump", HP_AUDIT_ERROR},
    {"HP1002", "padding-not-filler", "a byte of the padding is code or data, not filler (0xCC, 0x00, 0x90, or NOPs after a jump)", HP_AUDIT_ERROR},
    {"HP1003", "entry-short", "the first instruction is 1 byte: one atomic 2-byte write cannot replace it", HP_AUDIT_ERROR},
    {"HP1004", "entry-crosses-line", "the 2 entry bytes straddle a 64-byte cache line: the 16-bit store would not be atomic", HP_AUDIT_ERROR},
    {"HP1005", "entry-invalid", "the bytes at the entry do not decode as an instruction", HP_AUDIT_ERROR},
    {"HP1006", "entry-truncated", "the function's bytes end before its first instruction does", HP_AUDIT_ERROR},
    {"HP1007", "endbr-entry-short", "the entry is endbr32/endbr64 but the instruction after it is 1 byte", HP_AUDIT_ERROR},
    {"HP1008", "already-patched", "the entry is already redirected by this protocol (short jump into the padding)", HP_AUDIT_ERROR},
    {"HP1009", "redirected", "the entry is a jump placed by something else (another hooking tool or a thunk)", HP_AUDIT_ERROR},
    {"HP1010", "branch-to-entry-plus-1", "a branch inside the function targets entry+1, which the 2-byte swap overwrites", HP_AUDIT_ERROR},
    {"HP1011", "bad-machine", "the machine is not one the site rules understand", HP_AUDIT_ERROR},
    {"HP1012", "previously-patched", "the padding holds this protocol's long jump but the entry is intact: patched before, now removed", HP_AUDIT_NOTE},
    {"HP2001", "folded-exports", "several exports share one entry (folded code): patching one patches all of them", HP_AUDIT_ERROR},
    {"HP2002", "forwarded-export", "the export forwards to another DLL: listed, not checked or counted", HP_AUDIT_NOTE},
    {"HP2003", "data-export", "the export is data, not code: listed, not checked or counted", HP_AUDIT_NOTE},
    {"HP2004", "padding-at-link-time", "object code: the padding before this function is added by the linker and cannot be checked here", HP_AUDIT_NOTE},
    {"HP2005", "member-skipped", "an archive member is not a COFF object (bitcode, other format) and was not checked", HP_AUDIT_NOTE},
    {"HP2006", "table-entry-not-code", "a record of the plugin's table points outside every code section", HP_AUDIT_ERROR},
    {"HP3001", "unused-exception", "an --allow exception matches no finding: remove it or fix its pattern", HP_AUDIT_ERROR},
    {"HP3002", "coverage-below-minimum", "patchable coverage is below --min-coverage", HP_AUDIT_ERROR},
};

const hp_audit_check *hp_audit_checks(size_t *out_count)
{
    if (out_count)
        *out_count = sizeof checks / sizeof checks[0];
    return checks;
}

const hp_audit_check *hp_audit_check_find(const char *id)
{
    if (!id)
        return NULL;
    for (size_t i = 0; i < sizeof checks / sizeof checks[0]; i++)
        if (strcmp(checks[i].id, id) == 0)
            return &checks[i];
    return NULL;
}

const char *hpa_reason_check(hp_site_reason reason)
{
    switch (reason) {
    case HP_SITE_OK: return NULL;
    case HP_SITE_PADDING_SHORT: return "HP1001";
    case HP_SITE_PADDING_NOT_FILLER: return "HP1002";
    case HP_SITE_ENTRY_SHORT: return "HP1003";
    case HP_SITE_ENTRY_CROSSES_LINE: return "HP1004";
    case HP_SITE_ENTRY_INVALID: return "HP1005";
    case HP_SITE_TRUNCATED: return "HP1006";
    case HP_SITE_ENDBR_ENTRY_SHORT: return "HP1007";
    case HP_SITE_PATCHED: return "HP1008";
    case HP_SITE_REDIRECTED: return "HP1009";
    case HP_SITE_BRANCH_TO_ENTRY_1: return "HP1010";
    case HP_SITE_PREVIOUSLY_PATCHED: return "HP1012";
    case HP_SITE_BAD_MACHINE: return "HP1011";
    }
    return "HP1005";
}

/* Specific message for a failing site: what the rule expected and what the bytes hold. */
static void site_finding(hpa_file *f, const char *id, const hpa_site_request *req, const hp_site *s)
{
    switch (s->reason) {
    case HP_SITE_PADDING_SHORT:
    case HP_SITE_PADDING_NOT_FILLER:
        hpa_finding(f, id, req->name, 1, req->address, "%s: %u of %u bytes of filler before the entry",
                    hp_site_reason_str(s->reason), s->pad_found, s->pad_required);
        break;
    case HP_SITE_ENTRY_SHORT:
    case HP_SITE_ENDBR_ENTRY_SHORT:
        hpa_finding(f, id, req->name, 1, req->address, "%s: first instruction is %u byte(s) (%02x)",
                    hp_site_reason_str(s->reason), s->entry_len, s->entry_bytes[0]);
        break;
    default:
        hpa_finding(f, id, req->name, 1, req->address, "%s: %s", hp_site_reason_str(s->reason),
                    hp_site_reason_text(s->reason));
        break;
    }
}

int hpa_check_site(hpa_file *f, const hpa_site_request *req)
{
    const hp_audit_options *opt = &f->report->opt;
    hp_site_input in;
    memset(&in, 0, sizeof in);
    in.entry = req->entry;
    in.before = req->before;
    in.after = req->after;
    in.address = req->address;
    in.machine = req->machine;
    in.pad = opt->pad;
    in.body_size = req->body_size <= req->after ? req->body_size : req->after;

    uint8_t *synthetic = NULL;
    if (req->link_time) {
        /* The linker will put filler before this entry: judge the entry (and
           the body) as if the padding were there, with exactly the bytes the
           object holds after it. */
        uint32_t pad = opt->pad ? opt->pad
                                : (req->machine == HP_MACHINE_X86 ? HP_DEFAULT_PAD_X86 : HP_DEFAULT_PAD_X64);
        synthetic = malloc(pad + req->after + 1);
        if (!synthetic) {
            f->oom = 1;
            return 0;
        }
        memset(synthetic, 0xCC, pad); /* CC: int3, the filler lld and MSVC use */
        if (req->after)
            memcpy(synthetic + pad, req->entry, req->after);
        in.entry = synthetic + pad;
        in.before = pad;
    }

    hp_site site;
    memset(&site, 0, sizeof site);
    hp_site_reason reason = hp_site_analyze(&in, &site);
    free(synthetic);

    int patchable = reason == HP_SITE_OK || reason == HP_SITE_PREVIOUSLY_PATCHED;
    hp_audit_function fn;
    memset(&fn, 0, sizeof fn);
    fn.name = req->name;
    fn.member = f->member;
    fn.address = req->address;
    fn.section = req->section;
    fn.from = req->from;
    fn.site = site;
    fn.patchable = patchable;
    fn.link_time = req->link_time;
    fn.check_id = patchable ? NULL : hpa_reason_check(reason);
    hpa_add_function(f, &fn);

    if (reason == HP_SITE_PREVIOUSLY_PATCHED)
        hpa_finding(f, "HP1012", req->name, 1, req->address, "%s: %s", hp_site_reason_str(reason),
                    hp_site_reason_text(reason));
    else if (!patchable)
        site_finding(f, fn.check_id, req, &site);
    else if (req->link_time)
        hpa_finding(f, "HP2004", req->name, 1, req->address,
                    "padding before '%s' is added at link time (entry checked: %u-byte first instruction)", req->name,
                    site.entry_len);
    return patchable;
}
