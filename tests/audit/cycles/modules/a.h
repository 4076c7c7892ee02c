/* a.h — fixture: module a, which calls module b (and b calls a back). */
#ifndef HPA_CYCLE_A_H
#define HPA_CYCLE_A_H
int hpa_cycle_a(int n);
#endif
