/*
 * test_engine.c — Criterion suite "engine": the portable engine cases
 * (portable/cases_engine.c), one Test each, plus Linux-only cases:
 *   - a W^X policy (seccomp refuses mprotect with PROT_WRITE|PROT_EXEC):
 *     HP_ERR_PROTECT with nothing changed;
 *   - no free address space within ±2 GiB of a target: HP_ERR_NO_SLOT_MEMORY
 *     with nothing written, while the inline form (padding >= 14) still works;
 *   - a RIP-relative first instruction whose operand the trampoline cannot
 *     reach: HP_ERR_RELOCATE with nothing written (a near twin relocates).
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <stdlib.h>
#include <unistd.h>

#include "hp_test.h"

#include "criterion_cases.h"
#include "fixtures.h"


HP_ENGINE_CASES(HP_CRITERION_CASE)

#define FP(f) ((void *)(uintptr_t)(f))

static const uint8_t *code_bytes(uintptr_t f)
{
    volatile uintptr_t a = f;
    return (const uint8_t *)a;
}

static int rep_7(int x)
{
    (void)x;
    return 7;
}

/* Refuse mprotect(..., PROT_WRITE | PROT_EXEC) with EACCES, as a W^X policy does. */
static void forbid_wx(void)
{
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_mprotect, 0, 4),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[2])),
        BPF_STMT(BPF_ALU | BPF_AND | BPF_K, PROT_WRITE | PROT_EXEC),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PROT_WRITE | PROT_EXEC, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EACCES & SECCOMP_RET_DATA)),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {(unsigned short)(sizeof f / sizeof f[0]), f};
    cr_assert_eq(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 0);
    cr_assert_eq(syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog), 0, "seccomp: %s", strerror(errno));
    /* the policy is in force */
    void *probe = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    cr_assert_neq(probe, MAP_FAILED);
    cr_assert_eq(mprotect(probe, 4096, PROT_READ | PROT_WRITE | PROT_EXEC), -1);
    munmap(probe, 4096);
}

Test(engine, wx_policy_refuses_with_nothing_changed)
{
    uint8_t before[48], after[48];
    hp_patch *p = NULL, *q = NULL;
    /* a patch made before the policy, to remove and retarget under it */
    cr_assert_eq(hp_apply(FP(fx_nop6_2), FP(rep_7), NULL, &q), HP_OK);
    forbid_wx();

    memcpy(before, code_bytes((uintptr_t)fx_nop6_1) - 32, sizeof before);
    void *orig = (void *)1;
    hp_status st = hp_apply(FP(fx_nop6_1), FP(rep_7), &orig, &p);
    cr_expect_eq(st, HP_ERR_PROTECT, "apply under W^X: %s", hp_status_str(st));
    memcpy(after, code_bytes((uintptr_t)fx_nop6_1) - 32, sizeof after);
    cr_expect(memcmp(before, after, sizeof before) == 0, "bytes changed");
    cr_expect(p == NULL && orig == (void *)1, "out pointers written");
    cr_expect_eq(fx_nop6_1(1), 2);

    /* retarget writes only the slot page (read-only data -> RW, never X): allowed */
    cr_expect_eq(hp_retarget(q, FP(fx_nop6_3)), HP_OK);
    cr_expect_eq(fx_nop6_2(1), 4, "retargeted to fx_nop6_3");
    /* remove needs the code page writable: refused, the patch stays whole */
    st = hp_remove(q);
    cr_expect_eq(st, HP_ERR_PROTECT, "remove under W^X: %s", hp_status_str(st));
    cr_expect_eq(fx_nop6_2(1), 4, "still redirected");
    cr_expect_eq(hp_test_count_wx(), 0u);
}

/* Reserve every free range of [lo, hi) with PROT_NONE mappings (one pass over /proc/self/maps). */
static void reserve_gaps(uintptr_t lo, uintptr_t hi)
{
    FILE *f = fopen("/proc/self/maps", "r");
    cr_assert_not_null(f);
    uintptr_t prev = 0x10000, s, e;
    char line[512];
    uintptr_t gaps[256][2];
    int n = 0;
    while (fgets(line, sizeof line, f) && n < 256) {
        if (sscanf(line, "%lx-%lx", &s, &e) != 2)
            continue;
        if (s > prev && s > lo && prev < hi) {
            gaps[n][0] = prev < lo ? lo : prev;
            gaps[n][1] = s > hi ? hi : s;
            n++;
        }
        if (e > prev)
            prev = e;
    }
    fclose(f);
    if (prev < hi && n < 256) {
        gaps[n][0] = prev < lo ? lo : prev;
        gaps[n][1] = hi;
        n++;
    }
    for (int i = 0; i < n; i++) {
        if (gaps[i][1] <= gaps[i][0])
            continue;
        void *p = mmap((void *)gaps[i][0], gaps[i][1] - gaps[i][0], PROT_NONE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
        if (getenv("HP_DEBUG_EXHAUST"))
            fprintf(stderr, "gap %lx-%lx -> %p\n", gaps[i][0], gaps[i][1], p);
    }
}

/* Reserve every free range within ±2 GiB (+ margin) of addr. */
static void exhaust_around(uintptr_t addr)
{
    const uintptr_t reach = (uintptr_t)1 << 31;
    uintptr_t lo = addr > reach + (1u << 20) ? addr - reach - (1u << 20) : 0x10000;
    uintptr_t hi = addr + reach + (1u << 20);
    lo = (lo + 4095u) & ~(uintptr_t)4095u;
    hi &= ~(uintptr_t)4095u;
    for (int round = 0; round < 4; round++) /* a mapping made in one pass can split a gap of the next */
        reserve_gaps(lo, hi);
}

Test(engine, no_reachable_slot_memory)
{
    uint8_t before[48], after[48];
    hp_patch *p = NULL;
    exhaust_around((uintptr_t)fx_nop6_1);
    memcpy(before, code_bytes((uintptr_t)fx_nop6_1) - 32, sizeof before);
    hp_status st = hp_apply(FP(fx_nop6_1), FP(rep_7), NULL, &p);
    cr_expect_eq(st, HP_ERR_NO_SLOT_MEMORY, "apply: %s", hp_status_str(st));
    memcpy(after, code_bytes((uintptr_t)fx_nop6_1) - 32, sizeof after);
    cr_expect(memcmp(before, after, sizeof before) == 0, "bytes changed");
    cr_expect(p == NULL);
    /* a trampoline needs reachable code memory too */
    cr_expect_eq(hp_apply(FP(fx_hot_add), FP(rep_7), NULL, NULL), HP_ERR_NO_SLOT_MEMORY);
    /* the inline form holds its address in the padding: no slot memory needed */
    cr_expect_eq(hp_apply(FP(fx_nop16), FP(rep_7), NULL, &p), HP_OK);
    cr_expect_eq(fx_nop16(5), 7);
    cr_expect_eq(hp_remove(p), HP_OK);
    cr_expect_eq(fx_nop16(5), 10);
}

/*
 * A first instruction whose RIP-relative operand the trampoline cannot reach:
 * `mov eax, [rip + disp32]` at an entry E whose operand lies 2 GiB below it,
 * with every free range below E reserved so that the trampoline lands above
 * E. The re-encoded displacement would not fit in 32 bits: HP_ERR_RELOCATE,
 * nothing written. A twin whose operand is near is relocated and works.
 */
static uint8_t *code_page(void)
{
    uint8_t *c = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    cr_assert(c != MAP_FAILED);
    memset(c, 0xCC, 4096);
    return c;
}

/* At `e`: mov eax, [rip + disp]; ret — with 16 bytes of 0xCC padding before it (from code_page). */
static void put_rip_load(uint8_t *e, int32_t disp)
{
    e[0] = 0x8B; /* mov eax, dword ptr [rip + disp32] */
    e[1] = 0x05;
    memcpy(e + 2, &disp, 4);
    e[6] = 0xC3; /* ret */
}

Test(engine, rip_relative_operand_out_of_reach)
{
    uint8_t *c = code_page();
    uint8_t *far_fn = c + 64, *near_fn = c + 128;
    int32_t near_value = 0x1234;
    memcpy(c + 512, &near_value, 4);
    put_rip_load(far_fn, INT32_MIN);                                  /* operand at E + 6 - 2 GiB */
    put_rip_load(near_fn, (int32_t)((c + 512) - (near_fn + 6)));      /* operand in the same page */
    cr_assert_eq(mprotect(c, 4096, PROT_READ | PROT_EXEC), 0);

    /* every free range from 2 GiB below the page up to it: the runtime's code memory goes above */
    reserve_gaps((uintptr_t)c - ((uintptr_t)1 << 31) - (1u << 20), (uintptr_t)c);

    uint8_t before[64];
    hp_patch *p = NULL;
    void *orig = NULL;
    hp_site site;
    cr_expect_eq(hp_probe(far_fn, &site), HP_OK, "the site rules accept it: only relocation can fail");
    memcpy(before, c + 32, sizeof before);
    hp_status st = hp_apply(far_fn, FP(rep_7), &orig, &p);
    cr_expect_eq(st, HP_ERR_RELOCATE, "apply: %s", hp_status_str(st));
    cr_expect(memcmp(before, c + 32, sizeof before) == 0, "bytes changed");
    cr_expect(p == NULL && orig == NULL, "out pointers written");
    cr_expect_eq(hp_test_count_wx(), 0u);

    /* the twin: the relocated load still reads its word */
    cr_assert_eq(hp_apply(near_fn, FP(rep_7), &orig, &p), HP_OK);
    cr_expect_eq(((int (*)(int))(uintptr_t)near_fn)(0), 7);
    cr_expect_eq(((int (*)(void))(uintptr_t)orig)(), 0x1234, "the trampoline's re-encoded operand");
    cr_expect_eq(hp_remove(p), HP_OK);
    cr_expect_eq(((int (*)(void))(uintptr_t)near_fn)(), 0x1234);
}
