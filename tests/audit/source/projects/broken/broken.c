/* broken.c — includes a header that does not exist. */
#include "missing.h"

int br_value(void)
{
    return MISSING_VALUE;
}
