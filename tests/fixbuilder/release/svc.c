/* svc.c — the service of the fix-builder fixture: each function is the subject of one edit in
   ../edits (the edit's .expect file says which, and what hotpatch-fix must find). */
#include "svc.h"

static int served; /* how many quotes svc_quote gave */

/* a variable with an initial value: its layout and value belong to the running program */
static struct stats {
    int hits;
    char kind;
    double scale;
} stats = {.hits = 0, .kind = 'q', .scale = 1.5};

SVC_API int svc_quote(int qty)
{
    served++;
    return qty * 3;
}

SVC_API int svc_served(int unused)
{
    return served + unused * 0;
}

SVC_API int svc_tax(int amount)
{
    return amount + tax_rate(amount);
}

SVC_API int svc_total(int amount)
{
    return 2 * amount + tax_rate(amount);
}

SVC_API int svc_net(int amount)
{
    return amount - tax_rate(amount);
}

SVC_API int svc_scaled(int x)
{
    return x * SVC_SCALE;
}

SVC_API int svc_round(int x)
{
    return x;
}

SVC_API int svc_hits(int x)
{
    stats.hits++;
    return (int)(stats.scale * x) + (stats.kind == 'q');
}

/* inlined into both callers: the release has no code of its own for it */
static int clamp(int x)
{
    return x > 1000 ? 1000 : x;
}

SVC_API int svc_clamped(int x)
{
    return clamp(x) + 1;
}

SVC_API int svc_clamped2(int x)
{
    return clamp(x * 2);
}

/* the release is built with EXCLUDE svc_raw: not patchable */
SVC_API int svc_raw(int x)
{
    return x ^ 0x55;
}
