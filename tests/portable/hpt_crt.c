/*
 * hpt_crt.c — the little a freestanding MSVC-ABI test program needs in place
 * of a CRT: an entry point that calls main and exits, and the memory functions
 * the compiler may call (those come from runtime/src/crt_min.c, the same file
 * hotpatch.dll uses). Only linked into test programs for the
 * x86_64-pc-windows-msvc freestanding target.
 */
#include <stddef.h>

__declspec(dllimport) void __stdcall ExitProcess(unsigned);

int main(int argc, char **argv);

int _fltused = 0x9875; /* the MSVC ABI's marker that floating point is used */

void mainCRTStartup(void);
void mainCRTStartup(void)
{
    ExitProcess((unsigned)main(0, NULL));
}
