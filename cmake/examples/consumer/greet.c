/* greet.dll: two exported functions, built hotpatchable by hotpatch_enable(). */
__declspec(dllexport) int greet_version(void)
{
    return 1;
}

__declspec(dllexport) int greet_add(int a, int b)
{
    return a + b;
}
