/* naked.c — a function without a compiler-made prologue. */
#define NAKED __attribute__((naked))

/* HP4003: naked (the attribute comes from a macro) */
NAKED void nk_trampoline(void)
{
    __asm__("jmp *%rax");
}

int nk_plain(void)
{
    return 1;
}
