/*
 * thunk_dll.c — hpt_thunk_dll.dll, the DLL of the thunk cases (cases_windows.c).
 * The test program declares these functions without __declspec(dllimport), so
 * that its calls and its `&thk_add` go through the import thunks the linker
 * makes in the program (`jmp [__imp_thk_add]`, FF 25): what a Windows program
 * gets when it takes the address of a DLL function that way.
 *
 *   thk_add(x)    = x + 10   patchable (66 90 entry, 6 bytes of padding)
 *   thk_hooked(x) = x + 20   patchable; the cases put a foreign hook on it
 */
#define THK_EXPORT __declspec(dllexport)
#define THK_SITE __attribute__((patchable_function_entry(8, 6), noinline))

THK_EXPORT THK_SITE int thk_add(int x);
THK_EXPORT THK_SITE int thk_hooked(int x);

THK_EXPORT THK_SITE int thk_add(int x)
{
    return x + 10;
}

THK_EXPORT THK_SITE int thk_hooked(int x)
{
    return x + 20;
}
