/*
 * fix.c — fix.dll: the corrected functions. The host redirects service.dll's
 * svc_quote and svc_tax here with one transaction.
 */
#define API __declspec(dllexport)

API int svc_quote_fixed(int qty)
{
    int cents = qty * 1000;
    return qty >= 10 ? cents - cents / 10 : cents; /* 10% bulk discount from 10 items */
}

API int svc_tax_fixed(int cents)
{
    return cents * 21 / 100;
}
