/*
 * svc.c — the released service (tests/fix): its state is a file-static
 * counter and an external total; fixes in this directory change svc_quote.
 */
#define API __declspec(dllexport)

static int count;  /* quotes served: svc_quote counts, svc_count reads */
int total = 0;     /* cents quoted */

/* Inlined into svc_quote by the release build: no symbol of its own. */
static inline int unit_price(void)
{
    return 1000;
}

API int svc_quote(int qty)
{
    __atomic_add_fetch(&count, 1, __ATOMIC_RELAXED);
    int cents = qty * unit_price();
    __atomic_add_fetch(&total, cents, __ATOMIC_RELAXED);
    return cents;
}

API int svc_count(void)
{
    return __atomic_load_n(&count, __ATOMIC_RELAXED);
}

API int svc_total(void)
{
    return __atomic_load_n(&total, __ATOMIC_RELAXED);
}
