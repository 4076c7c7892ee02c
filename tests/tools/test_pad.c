/*
 * test_pad.c — hp_pad_parse(): the padding option of every tool.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "hp_tools.h"

Test(pad, accepts_the_runtime_minimum_to_the_maximum)
{
    uint32_t pad = 0;
    char msg[256];
    cr_expect_eq(hp_pad_parse("--pad", "5", &pad, msg, sizeof msg), HP_OK);
    cr_expect_eq(pad, 5u);
    cr_expect_eq(hp_pad_parse("--pad", "64", &pad, msg, sizeof msg), HP_OK);
    cr_expect_eq(pad, 64u);
    cr_expect_eq(hp_pad_parse("--pad", "16", &pad, NULL, 0), HP_OK, "msg may be NULL");
    cr_expect_eq(pad, 16u);
}

Test(pad, refuses_what_cannot_hold_the_long_jump)
{
    /* x86's E9 rel32 is 5 bytes: 1..4 can never be patched by the runtime */
    for (const char *const *v = (const char *const[]){"0", "1", "4", NULL}; *v; v++) {
        uint32_t pad = 99;
        char msg[256] = "";
        cr_expect_eq(hp_pad_parse("--hotpatch-pad", *v, &pad, msg, sizeof msg), HP_ERR_BAD_VALUE, "%s", *v);
        cr_expect_eq(pad, 99u, "nothing stored for %s", *v);
        cr_expect(strstr(msg, "--hotpatch-pad") && strstr(msg, "long jump"), "%s", msg);
    }
}

Test(pad, refuses_malformed_and_too_large)
{
    char msg[256];
    uint32_t pad = 7;
    for (const char *const *v = (const char *const[]){"", "65", "6x", "-6", " 6", "99999999999999999999", NULL}; *v; v++) {
        cr_expect_eq(hp_pad_parse("pad=", *v, &pad, msg, sizeof msg), HP_ERR_BAD_VALUE, "'%s'", *v);
        cr_expect(strstr(msg, "pad=") != NULL, "%s", msg);
    }
    cr_expect_eq(hp_pad_parse("pad=", NULL, &pad, msg, sizeof msg), HP_ERR_BAD_VALUE);
    cr_expect_eq(hp_pad_parse("pad=", "6", NULL, msg, sizeof msg), HP_ERR_ARGUMENT);
    cr_expect_eq(pad, 7u);
}
