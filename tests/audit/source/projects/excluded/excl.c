/* excl.c — one function the build excludes from the plugin. */
int ex_work(int v)
{
    return v + 1;
}

int test_hook(int v) /* HP4007: exclude=test_* */
{
    return v;
}
