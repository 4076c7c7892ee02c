/* ih.h — the public header of inline_header. */
#ifndef IH_H
#define IH_H

#ifdef IH_BUILDING
#define IH_API __declspec(dllexport)
#else
#define IH_API __declspec(dllimport)
#endif

/* HP4001: exported (ih.def), and its body is here, where every caller can inline it */
inline int ih_scale(int v)
{
    return v * 4;
}

IH_API int ih_get(void);

#endif
