/* asm.c — inline assembly first, and after the first statement. */
unsigned long long ae_cycles(void)
{
    unsigned lo, hi;                                   /* no initialiser: makes no code */
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));   /* the first code: HP4004 on ae_cycles */
    return ((unsigned long long)hi << 32) | lo;
}

int ae_later(int v)
{
    int w = v * 3;                                     /* code first: the assembly is not at the entry */
    __asm__ volatile("" : "+r"(w));
    return w;
}
