/* d.h — fixture: includes c.h, which includes d.h. */
#ifndef HPA_CYCLE_D_H
#define HPA_CYCLE_D_H
#include "c.h"
#endif
