/*
 * site_main.c — the site-rule table (site_cases.c) as a plain program, for the
 * targets Criterion does not exist for (Windows, Linux i386).
 */
#include "hpt_portable.h"
#include "site_cases.h"

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    for (unsigned i = 0; i < hpt_site_case_count; i++) {
        const hpt_site_case *c = &hpt_site_cases[i];
        hp_site s;
        const char *why;
        if (!hpt_check(hpt_site_case_run(c, &s, &why), c->name, __FILE__, __LINE__))
            hpt_outf("  %s differs: reason=%s pad_found=%u entry_len=%u flags=%x\n", why, hp_site_reason_str(s.reason),
                     s.pad_found, s.entry_len, s.flags);
    }
    return hpt_finish();
}
