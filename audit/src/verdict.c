/*
 * verdict.c — layer 5 of the audit library (audit/README.md, "Source layout"):
 * the one place where the audit asks the site rules (hp_site_analyze) about a
 * function, and records the verdict and its finding in the file's builder.
 *
 * May call: builder, checks (and the runtime's site rules).
 */
#include <stdlib.h>
#include <string.h>

#include "builder.h"
#include "checks.h"
#include "verdict.h"

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
        /* The linker will put filler before this entry: judge the entry (and the body) as if the
           padding were there, with exactly the bytes the object holds after it. */
        uint32_t pad = hp_site_pad(req->machine, opt->pad);
        synthetic = malloc(pad + req->after + 1);
        if (!synthetic) {
            f->oom = 1;
            return 0;
        }
        memset(synthetic, HP_FILLER_PREFERRED, pad);
        if (req->after)
            memcpy(synthetic + pad, req->entry, req->after);
        in.entry = synthetic + pad;
        in.before = pad;
    }

    hp_site site;
    memset(&site, 0, sizeof site);
    hp_site_reason reason = hp_site_analyze(&in, &site);
    free(synthetic);

    hp_site_context ctx = req->link_time ? HP_SITE_CONTEXT_OBJECT : HP_SITE_CONTEXT_IMAGE;
    int patchable = hp_site_verdict(ctx, reason) == HP_OK;
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
    fn.extent = (uint32_t)in.body_size;
    fn.anonymous = req->anonymous;
    hpa_add_function(f, &fn);

    if (!patchable)
        site_finding(f, fn.check_id, req, &site);
    else if (req->link_time)
        hpa_finding(f, "HP2004", req->name, 1, req->address,
                    "padding before '%s' is added at link time (entry checked: %u-byte first instruction)", req->name,
                    site.entry_len);
    return patchable;
}
