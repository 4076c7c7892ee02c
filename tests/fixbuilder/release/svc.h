/* svc.h — what svc.c and util.c share: a macro and a static inline helper. */
#ifndef SVC_H
#define SVC_H

#define SVC_SCALE 3 /* used in svc.c and util.c */

/* inlined into its three callers in svc.c */
static inline int tax_rate(int amount)
{
    return amount / 10;
}

#define SVC_API __declspec(dllexport)

#endif
