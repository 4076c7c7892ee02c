/*
 * service.c — the demo's sample DLL: a few exported functions of the kinds a
 * Windows service has, written plainly. Compiled by clang without help, many
 * of them start with a 1-byte instruction (push rbx, a bare ret) right after
 * the previous function: not hotpatchable. With the plugin, all are.
 */
#include <stddef.h>

#define API __declspec(dllexport)

static int config_level = 3;

/* A bare getter: at -O2 "mov eax, [rip+x]; ret" */
API int svc_get_level(void)
{
    return config_level;
}

/* A setter that does nothing but store: at -O2 the body may be a single ret-adjacent store */
API void svc_set_level(int level)
{
    config_level = level;
}

/* An empty hook point: at -O2 a bare "ret" (1 byte) */
API void svc_on_idle(void)
{
}

/* A checksum loop */
API unsigned svc_checksum(const unsigned char *p, size_t n)
{
    unsigned h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

/* Keeps callee-saved registers alive across calls: starts with push */
API int svc_process(int (*step)(int), int rounds)
{
    int acc = 0;
    for (int i = 0; i < rounds; i++)
        acc += step(i) ^ config_level;
    return acc;
}

/* A dispatch with a jump table */
API int svc_dispatch(int op, int a, int b)
{
    switch (op) {
    case 0: return a + b;
    case 1: return a - b;
    case 2: return a * b;
    case 3: return b ? a / b : 0;
    case 4: return a & b;
    case 5: return a | b;
    default: return -1;
    }
}
