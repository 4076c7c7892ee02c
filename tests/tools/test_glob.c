/*
 * test_glob.c — hp_glob_match(), the one pattern dialect of exclude= and --allow.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "hp_tools.h"

static int m(const char *pat, const char *name)
{
    return hp_glob_match(pat, name, strlen(name));
}

Test(glob, star_and_question_mark)
{
    cr_expect(m("svc_*", "svc_quote"));
    cr_expect(m("*", ""));
    cr_expect(m("a*b*c", "axxbyyc"));
    cr_expect(!m("a*b*c", "axxbyy"));
    cr_expect(m("svc_?", "svc_a"));
    cr_expect(!m("svc_?", "svc_ab"));
    cr_expect(!m("svc", "svc_a"), "a pattern covers the whole name");
}

Test(glob, brackets_sets_ranges_and_negation)
{
    cr_expect(m("f[abc]", "fb"));
    cr_expect(!m("f[abc]", "fd"));
    cr_expect(m("f[a-c]x", "fbx"));
    cr_expect(!m("f[a-c]x", "fdx"));
    cr_expect(m("f[!a-c]", "fd"));
    cr_expect(m("f[^a-c]", "fd"));
    cr_expect(!m("f[!a-c]", "fa"));
    cr_expect(m("f[]]", "f]"), "']' first in a bracket is a member");
    cr_expect(m("f[", "f["), "an unclosed '[' is a literal");
    cr_expect(m("*[0-9]", "item7"));
}

Test(glob, length_bounds_the_name)
{
    cr_expect(hp_glob_match("ab", "abc", 2), "only len bytes of the name count");
    cr_expect(!hp_glob_match("abc", "abc", 2));
    cr_expect(!hp_glob_match(NULL, "a", 1));
}

Test(glob, hostile_pattern_is_fast)
{
    /* a*a*a*...b against a long run of 'a': exponential for a naive backtracker */
    char name[4096], pat[201];
    memset(name, 'a', sizeof name - 1);
    name[sizeof name - 1] = 0;
    for (int i = 0; i < 100; i++) {
        pat[2 * i] = 'a';
        pat[2 * i + 1] = '*';
    }
    pat[200] = 0;
    pat[199] = 'b';
    cr_expect(!m(pat, name));
}
