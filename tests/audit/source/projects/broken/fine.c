/* fine.c — parses, and holds a hazard: the run went on past broken.c. */
__attribute__((naked)) void br_naked(void) /* HP4003 */
{
    __asm__("ret");
}
