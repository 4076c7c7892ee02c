/*
 * thunk.h — following thunks to the function they lead to (internal).
 *
 * How Windows code takes addresses: `&f` of a DLL function declared without
 * __declspec(dllimport) is the caller's import thunk, `jmp [__imp_f]`, which
 * the linker adds to the caller's image (MinGW and MSVC alike); with
 * incremental linking (MSVC /INCREMENTAL) `&f` is f's entry in the image's
 * table of `jmp rel32`. Every call through either lands in f, so patching f is
 * what the caller means, as Detours does. Unlike Detours (which follows every
 * E9), a jump at an entry is followed only when it is provably one of these;
 * any other jump (a hook) stays refused (HP_ERR_REDIRECTED):
 *
 *   import thunk  FF 25 disp32      jmp [cell]: x64 cell = end of the instruction + disp32
 *                                   (RIP-relative), x86 cell = disp32 (absolute)
 *                 48 FF 25 disp32   the same with REX.W (x64)
 *                 where the cell is one of the import address table (the IAT
 *                 data directory) of the image the thunk lies in; f is the
 *                 address the loader stored in the cell.
 *   table entry   E9 rel32          jmp f, lying in a code section of an image
 *                 whose code also holds f, next to another such entry (the 5
 *                 bytes after it or before it are E9 rel32 into the image's code
 *                 too): a table of jumps, not a function whose first bytes a
 *                 hook overwrote (its relay lies outside the image, and what
 *                 follows its E9 is the rest of the overwritten code).
 *
 * Linux: nothing is followed (hp_os_image_of knows no images; ELF takes
 * addresses through the GOT).
 *
 * No state: reads the thunk's bytes (the caller has made sure they are
 * readable), the headers of the image it lies in and the IAT cell.
 */
#ifndef HP_THUNK_H
#define HP_THUNK_H

#include <stddef.h>
#include <stdint.h>

#include "hotpatch.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Is the code at `at` a thunk (see above)? `before` and `after` bytes around
 * `at` are readable (the engine's live view of an entry).
 * @return 1 with *dest set to where the thunk leads; 0 otherwise (*dest = 0).
 */
int hp_thunk_follow(hp_machine machine, uintptr_t at, size_t before, size_t after, uintptr_t *dest);

#ifdef __cplusplus
}
#endif

#endif /* HP_THUNK_H */
