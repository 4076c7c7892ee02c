/* Compiled without the plugin: an empty function is a bare 1-byte `ret`, which no
   2-byte jump can replace atomically. The audit must name it. */
#define GREET_BUILDING
#include "greet.h"

GREET_API void unpatched_noop(void);
GREET_API void unpatched_noop(void)
{
}
