/*
 * status.c — names of hp_status values and of site reasons.
 */
#include "hotpatch.h"

#define HP_CASE(x) \
    case x:        \
        return #x

const char *hp_status_str(hp_status status)
{
    switch (status) {
        HP_CASE(HP_OK);
        HP_CASE(HP_ERR_ARGUMENT);
        HP_CASE(HP_ERR_NOT_PATCHABLE);
        HP_CASE(HP_ERR_ALREADY_PATCHED);
        HP_CASE(HP_ERR_REDIRECTED);
        HP_CASE(HP_ERR_NO_SLOT_MEMORY);
        HP_CASE(HP_ERR_PROTECT);
        HP_CASE(HP_ERR_NO_MEMORY);
        HP_CASE(HP_ERR_STALE_HANDLE);
        HP_CASE(HP_ERR_UNSUPPORTED);
        HP_CASE(HP_ERR_RELOCATE);
        HP_CASE(HP_ERR_TXN_STATE);
        HP_CASE(HP_ERR_DUPLICATE);
        HP_CASE(HP_ERR_MODULE);
        HP_CASE(HP_ERR_IO);
        HP_CASE(HP_ERR_FORMAT);
        HP_CASE(HP_ERR_USAGE);
        HP_CASE(HP_ERR_BAD_VALUE);
        HP_CASE(HP_ERR_NO_LINKER);
        HP_CASE(HP_ERR_LINKER_FAILED);
        HP_CASE(HP_ERR_BITCODE);
        HP_CASE(HP_ERR_VIOLATIONS);
        HP_CASE(HP_ERR_TOOL);
        HP_CASE(HP_ERR_NOT_PATCHED);
        HP_CASE(HP_ERR_NO_MANIFEST);
        HP_CASE(HP_ERR_MANIFEST_VERSION);
        HP_CASE(HP_ERR_TARGET_NOT_LOADED);
        HP_CASE(HP_ERR_IDENTITY);
        HP_CASE(HP_ERR_HASH);
        HP_CASE(HP_ERR_REFUSED);
    }
    return "HP_STATUS_UNKNOWN";
}

/* One row per reason: its identifier and explanation (hotpatch.h, HP_SITE_ID_* / HP_SITE_TEXT_*). */
#define REASON(r) [HP_SITE_##r] = {HP_SITE_ID_##r, HP_SITE_TEXT_##r}
static const struct {
    const char *id;
    const char *text;
} reason_table[] = {
    REASON(OK),
    REASON(PADDING_SHORT),
    REASON(PADDING_NOT_FILLER),
    REASON(ENTRY_SHORT),
    REASON(ENTRY_CROSSES_LINE),
    REASON(ENTRY_INVALID),
    REASON(TRUNCATED),
    REASON(ENDBR_ENTRY_SHORT),
    REASON(PATCHED),
    REASON(REDIRECTED),
    REASON(BRANCH_TO_ENTRY_1),
    REASON(PREVIOUSLY_PATCHED),
    REASON(BAD_MACHINE),
};
#undef REASON

const char *hp_site_reason_str(hp_site_reason reason)
{
    if ((unsigned)reason < sizeof reason_table / sizeof reason_table[0] && reason_table[reason].id)
        return reason_table[reason].id;
    return "unknown";
}

const char *hp_site_reason_text(hp_site_reason reason)
{
    if ((unsigned)reason < sizeof reason_table / sizeof reason_table[0] && reason_table[reason].text)
        return reason_table[reason].text;
    return "unknown reason";
}
