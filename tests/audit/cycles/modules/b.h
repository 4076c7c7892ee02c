/* b.h — fixture: module b, which calls module a (and a calls b back). */
#ifndef HPA_CYCLE_B_H
#define HPA_CYCLE_B_H
int hpa_cycle_b(int n);
#endif
