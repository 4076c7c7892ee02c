/*
 * service.c — service.dll, the code a running "service" depends on. Two of
 * its functions have a bug; fix1.patch corrects them, and the demo builds the
 * patch module service_fix1.dll from the corrected copy of this file.
 */
#define API __declspec(dllexport)

/* Quotes served since the service started: state of the running service that
   a fix must keep using, not copy. */
static int quotes_served;

/* Price in cents of `qty` items at 10.00 each. The bug: the bulk discount
   (10% from 10 items on) was forgotten. */
API int svc_quote(int qty)
{
    __atomic_add_fetch(&quotes_served, 1, __ATOMIC_RELAXED);
    return qty * 1000;
}

/* Not part of the fix: reads the counter that svc_quote keeps. */
API int svc_quotes_served(void)
{
    return __atomic_load_n(&quotes_served, __ATOMIC_RELAXED);
}

/* Tax on an amount in cents. The bug: 20% where the law now says 21%. */
API int svc_tax(int cents)
{
    return cents * 20 / 100;
}

/* Not part of the fix: stays as it is. */
API int svc_version(void)
{
    return 1;
}

/* An empty hook point: clang alone compiles it to a bare 1-byte `ret`. */
API void svc_on_idle(void)
{
}

/* A dispatch with a jump table. */
API int svc_dispatch(int op, int a, int b)
{
    switch (op) {
    case 0: return a + b;
    case 1: return a - b;
    case 2: return a * b;
    case 3: return b ? a / b : 0;
    case 4: return a & b;
    default: return -1;
    }
}
