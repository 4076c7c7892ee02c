/* pfe.c — explicit patchable_function_entry: the usual opt-out, and a compatible one. */

/* HP4006: 0 bytes before the entry and 0 at it */
__attribute__((patchable_function_entry(0))) int ec_optout(void)
{
    return 1;
}

/* 6 bytes before, 2 at: what hotpatching needs on x64, kept by the plugin (no finding) */
__attribute__((patchable_function_entry(8, 6))) int ec_compatible(void)
{
    return 2;
}
