/* greet's interface: exported from greet.dll / libgreet.so. */
#ifndef GREET_H
#define GREET_H

#if defined(_WIN32) && defined(GREET_BUILDING)
#define GREET_API __declspec(dllexport)
#elif defined(_WIN32)
#define GREET_API __declspec(dllimport)
#else
#define GREET_API __attribute__((visibility("default")))
#endif

GREET_API int greet_version(void);
GREET_API int greet_add(int a, int b);

#endif
