/* util.c — the second unit of the fixture: SVC_SCALE is used here too. */
#include "svc.h"

SVC_API int util_scaled(int x)
{
    return x * SVC_SCALE + 1;
}

SVC_API int util_plain(int x)
{
    return x + 7;
}
