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
    }
    return "HP_STATUS_UNKNOWN";
}

/* One row per reason: stable identifier (used in reports and check IDs) and explanation. */
static const struct {
    const char *id;
    const char *text;
} reason_table[] = {
    [HP_SITE_OK] = {"ok", "patchable"},
    [HP_SITE_PADDING_SHORT] = {"padding-short", "fewer bytes exist before the entry than the required padding"},
    [HP_SITE_PADDING_NOT_FILLER] = {"padding-not-filler",
                                    "the padding before the entry is not filler (0xCC, 0x00, 0x90, or NOPs after a jump)"},
    [HP_SITE_ENTRY_SHORT] = {"entry-short", "the first instruction is 1 byte: a 2-byte jump cannot replace it atomically"},
    [HP_SITE_ENTRY_CROSSES_LINE] = {"entry-crosses-line",
                                    "the 2 entry bytes straddle a 64-byte line: one 16-bit store is not atomic"},
    [HP_SITE_ENTRY_INVALID] = {"entry-invalid", "the bytes at the entry are not a valid instruction"},
    [HP_SITE_TRUNCATED] = {"truncated", "not enough bytes after the entry to decode its first instruction"},
    [HP_SITE_ENDBR_ENTRY_SHORT] = {"endbr-entry-short", "the instruction after endbr is 1 byte: no 2-byte site after it"},
    [HP_SITE_PATCHED] = {"patched", "already redirected by the hotpatch protocol"},
    [HP_SITE_REDIRECTED] = {"redirected", "the entry is a jump placed by something else (another hooking tool)"},
    [HP_SITE_BRANCH_TO_ENTRY_1] = {"branch-to-entry-1",
                                   "a branch inside the function targets entry+1, inside the 2 swapped bytes"},
    [HP_SITE_PREVIOUSLY_PATCHED] = {"previously-patched",
                                    "the padding holds a hotpatch long jump from an earlier patch; the entry is intact"},
    [HP_SITE_BAD_MACHINE] = {"bad-machine", "the machine is not x86 or x86-64"},
};

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
