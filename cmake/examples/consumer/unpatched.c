/* Compiled without the plugin: an empty function is a bare 1-byte `ret`, which no
   2-byte jump can replace atomically. The audit must name it. */
__declspec(dllexport) void unpatched_noop(void)
{
}
