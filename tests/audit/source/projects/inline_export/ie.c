/* ie.c — an export its own unit may inline. */
#define IE_API __declspec(dllexport)

/* HP4002: exported and inline where defined: ie_total's call may be inlined */
IE_API inline int ie_rate(int v)
{
    return v + 7;
}

IE_API int ie_total(int v)
{
    return ie_rate(v) * 2;
}

/* inline and exported, but noinline: its calls stay calls (no finding) */
IE_API __attribute__((noinline)) inline int ie_kept(int v)
{
    return v - 1;
}
