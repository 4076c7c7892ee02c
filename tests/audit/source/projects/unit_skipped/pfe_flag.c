/* pfe_flag.c — compiled with -fpatchable-function-entry=4,2: 2 bytes before each entry. */
int us_one(void)
{
    return 1;
}
