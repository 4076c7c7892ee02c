/* data.h — a public header that exports a variable. */
#ifndef DATA_H
#define DATA_H

#ifdef DE_BUILDING
#define DE_API __declspec(dllexport)
#else
#define DE_API __declspec(dllimport)
#endif

DE_API extern int de_counter;
DE_API int de_next(void);

#endif
