/* app.c — a program that uses the clean DLL. */
#include "clean.h"

int main(void)
{
    int h = clean_open("x");
    clean_close(h);
    return clean_version() == 3 ? 0 : 1;
}
