/* app.exe: calls greet.dll, redirects greet_version to a new version with
   libhotpatch while running, calls the original through the returned pointer,
   then removes the patch. Prints each step; exit status 0 when all went right. */
#include <stdio.h>

#include "greet.h"
#include "hotpatch.h"

static int (*original_version)(void);

static int greet_version_v2(void)
{
    return 100 + original_version(); /* the fix wraps the old behaviour */
}

int main(void)
{
    int failures = 0;
    printf("before: greet_version() = %d\n", greet_version());
    failures += greet_version() != 1;

    hp_patch *patch = NULL;
    hp_status st = hp_apply((void *)greet_version, (const void *)greet_version_v2, (void **)&original_version, &patch);
    printf("hp_apply: %s\n", hp_status_str(st));
    failures += st != HP_OK;
    if (st == HP_OK) {
        printf("patched: greet_version() = %d\n", greet_version());
        failures += greet_version() != 101;
        st = hp_remove(patch);
        printf("hp_remove: %s\n", hp_status_str(st));
        failures += st != HP_OK;
    }
    printf("after: greet_version() = %d\n", greet_version());
    failures += greet_version() != 1;
    printf("%s\n", failures ? "consumer: FAILED" : "consumer: OK");
    return failures != 0;
}
