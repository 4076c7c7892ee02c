/* arm.c — compiled for aarch64: the plugin instruments x86 only. */
int us_arm(void)
{
    return 2;
}
