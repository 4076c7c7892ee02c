/*
 * version.c — the version of the library that is running (hotpatch.h).
 */
#include "hotpatch.h"

const char *hp_version(void)
{
    return HP_VERSION_STRING;
}

uint32_t hp_version_number(void)
{
    return HP_VERSION_NUMBER;
}
