/*
 * service.c — service.dll, the code a running "service" depends on. Two of
 * its functions have a bug that fix.dll corrects while the host runs.
 */
#define API __declspec(dllexport)

/* Price in cents of `qty` items at 10.00 each. The bug: the bulk discount
   (10% from 10 items on) was forgotten. */
API int svc_quote(int qty)
{
    return qty * 1000;
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
