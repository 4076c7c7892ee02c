/*
 * sub/other.c — a second unit of the released service with a file-static of
 * the same name as svc.c's: a fix of one must touch its own.
 */
#define API __declspec(dllexport)

static int count = 0; /* this unit's own counter */

API int other_bump(void)
{
    return __atomic_add_fetch(&count, 1, __ATOMIC_RELAXED);
}

API int other_count(void)
{
    return __atomic_load_n(&count, __ATOMIC_RELAXED);
}
