/*
 * checks.c — layer 2 of the audit library (audit/README.md, "Source layout"):
 * the table of checks (stable IDs, never reused) and the check of each
 * failing site reason.
 *
 * May call: nothing of the audit (it names the site rules' reasons, hotpatch.h).
 */
#include <string.h>

#include "checks.h"

/* IDs are permanent: append new checks, never renumber or reuse one. The site checks carry the
   site rules' own identifier and explanation (hotpatch.h, HP_SITE_ID_*): one vocabulary. */
#define SITE_CHECK(id, reason) {id, HP_SITE_ID_##reason, HP_SITE_TEXT_##reason, HP_AUDIT_ERROR}
static const hp_audit_check checks[] = {
    SITE_CHECK("HP1001", PADDING_SHORT),
    SITE_CHECK("HP1002", PADDING_NOT_FILLER),
    SITE_CHECK("HP1003", ENTRY_SHORT),
    SITE_CHECK("HP1004", ENTRY_CROSSES_LINE),
    SITE_CHECK("HP1005", ENTRY_INVALID),
    SITE_CHECK("HP1006", TRUNCATED),
    SITE_CHECK("HP1007", ENDBR_ENTRY_SHORT),
    SITE_CHECK("HP1008", PATCHED),
    SITE_CHECK("HP1009", REDIRECTED),
    SITE_CHECK("HP1010", BRANCH_TO_ENTRY_1),
    SITE_CHECK("HP1011", BAD_MACHINE),
    SITE_CHECK("HP1012", PREVIOUSLY_PATCHED),
    {"HP2001", "folded-exports", "several exports share one entry (folded code): patching one patches all of them", HP_AUDIT_ERROR},
    {"HP2002", "forwarded-export", "the export forwards to another DLL: listed, not checked or counted", HP_AUDIT_NOTE},
    {"HP2003", "data-export", "the export is data, not code: listed, not checked or counted", HP_AUDIT_NOTE},
    {"HP2004", "padding-at-link-time", "object code: the padding before this function is added by the linker and cannot be checked here", HP_AUDIT_NOTE},
    {"HP2005", "member-skipped", "an archive member is not a COFF object (bitcode, other format) and was not checked", HP_AUDIT_NOTE},
    {"HP2006", "table-entry-not-code", "a record of the plugin's table points outside every code section", HP_AUDIT_ERROR},
    {"HP2007", "folded-functions", "several patchable functions (table records or function symbols) share one entry: patching one patches all of them", HP_AUDIT_ERROR},
    {"HP3001", "unused-exception", "an --allow exception matches no finding: remove it or fix its pattern", HP_AUDIT_ERROR},
    {"HP3002", "coverage-below-minimum", "patchable coverage is below --min-coverage", HP_AUDIT_ERROR},
    {"HP3003", "nothing-checked", "--min-coverage was asked for but no function was checked: coverage of nothing is no coverage", HP_AUDIT_ERROR},
    /* The source audit (hp_audit_source, --source): what only the source shows. */
    {"HP4001", "exported-inline-in-header", "an exported function is defined inline in a header: callers that include it may inline that body, and a patch of the export does not reach them", HP_AUDIT_ERROR},
    {"HP4002", "exported-inline", "an exported function is declared inline (or always_inline) where it is defined: callers in its unit may inline it, and a patch of the export does not reach them", HP_AUDIT_ERROR},
    {"HP4003", "naked-function", "a naked function has no compiler-made entry: it gets no padding or 2-byte entry, and the plugin leaves it as written", HP_AUDIT_ERROR},
    {"HP4004", "asm-at-entry", "the body begins with inline assembly and no plugin NOP precedes it (no plugin, or entry=widen): the first instruction is the assembly's, which LLVM cannot widen and a trampoline may not relocate", HP_AUDIT_ERROR},
    {"HP4005", "exported-variable", "an exported variable: data cannot be hotpatched, a fix that changes it needs a restart", HP_AUDIT_ERROR},
    {"HP4006", "entry-attribute-conflict", "an explicit patchable_function_entry gives fewer bytes before the entry or at it than hotpatching needs: the plugin leaves the function as written", HP_AUDIT_ERROR},
    {"HP4007", "excluded-by-plugin", "the function matches an exclude= glob of the plugin in its compile command: it is built without padding", HP_AUDIT_NOTE},
    {"HP4008", "scope-skips-export", "an export (.def) that is not declared dllexport, in a unit compiled with the plugin's scope=exported: the plugin leaves it without padding", HP_AUDIT_ERROR},
    {"HP4009", "unit-not-instrumented", "the unit's compile command makes the plugin leave every function as written (target, -fpatchable-function-entry=, -fsanitize=function)", HP_AUDIT_ERROR},
    {"HP4010", "parse-error", "a translation unit of the database could not be parsed: what it defines was not audited", HP_AUDIT_ERROR},
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
