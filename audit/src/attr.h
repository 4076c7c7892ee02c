/*
 * attr.h — layer 0 of the audit library (audit/README.md, "Source layout"):
 * compiler attributes the internal headers share. No code; includes nothing.
 */
#ifndef HPA_ATTR_H
#define HPA_ATTR_H

#if defined(__GNUC__)
#define HPA_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define HPA_PRINTF(f, a)
#endif

#endif /* HPA_ATTR_H */
