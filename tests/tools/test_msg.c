/*
 * test_msg.c — hp_msg_set(): a cut message says so.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "hp_tools.h"

Test(msg, fits_unchanged)
{
    char b[32];
    hp_msg_set(b, sizeof b, "%s=%d", "pad", 6);
    cr_expect_str_eq(b, "pad=6");
}

Test(msg, cut_message_ends_in_an_ellipsis)
{
    char b[12];
    hp_msg_set(b, sizeof b, "%s", "a message far longer than the buffer");
    cr_expect_eq(strlen(b), sizeof b - 1);
    cr_expect_str_eq(b, "a messag...");
}

Test(msg, null_or_empty_buffer_is_a_no_op)
{
    char b[4] = "xyz";
    hp_msg_set(NULL, 10, "%s", "ignored");
    hp_msg_set(b, 0, "%s", "ignored");
    cr_expect_str_eq(b, "xyz");
}
