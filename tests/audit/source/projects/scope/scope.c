/* scope.c — two exports: one dllexport, one by the .def only. */
__declspec(dllexport) int sc_api(void)
{
    return 1;
}

int sc_def_only(void) /* HP4008: exported by scope.def, not dllexport */
{
    return 2;
}

static int sc_helper(void) /* not exported: scope=exported leaves it, by design */
{
    return 3;
}

int sc_use(void)
{
    return sc_helper();
}
