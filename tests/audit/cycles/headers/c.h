/* c.h — fixture: includes d.h, which includes c.h. */
#ifndef HPA_CYCLE_C_H
#define HPA_CYCLE_C_H
#include "d.h"
#endif
