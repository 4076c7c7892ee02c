/*
 * site_cases.c — see site_cases.h. The expected verdicts are what the bytes
 * mean (each row's comment says why), not what the implementation answered.
 */
#include "site_cases.h"

#define X64 HP_MACHINE_X64
#define X86 HP_MACHINE_X86
#define LINE 0x401000u /* a 64-byte aligned address: entries at LINE + entry offset */
#define CC6 0xCC, 0xCC, 0xCC, 0xCC, 0xCC, 0xCC
#define CC5 0xCC, 0xCC, 0xCC, 0xCC, 0xCC
#define NOP2 0x66, 0x90
#define ENDBR64 0xF3, 0x0F, 0x1E, 0xFA
#define ENDBR32 0xF3, 0x0F, 0x1E, 0xFB
#define NOPF HP_SITE_F_ENTRY_NOP

const hpt_site_case hpt_site_cases[] = {
    /* 6 x int3 then the plugin's 2-byte NOP, then push rbp; ret */
    {"x64_cc_padding_nop_entry", X64, 0, LINE + 6, {CC6, NOP2, 0x55, 0xC3}, 10, 6, 0, HP_SITE_OK, 6, 2, NOPF, 0},
    /* what -fpatchable-function-entry prefix gives: single-byte NOPs */
    {"x64_nop_padding", X64, 0, LINE + 6, {0x90, 0x90, 0x90, 0x90, 0x90, 0x90, NOP2, 0xC3}, 9, 6, 0, HP_SITE_OK, 6, 2, NOPF, 0},
    /* zero fill counts; first instruction mov rbp, rsp (3 bytes) is not a NOP */
    {"x64_zero_padding_real_insn", X64, 0, LINE + 6, {0, 0, 0, 0, 0, 0, 0x48, 0x89, 0xE5, 0xC3}, 10, 6, 0, HP_SITE_OK, 6, 3, 0, 0},
    /* more padding than required is reported as found */
    {"x64_long_padding", X64, 0, LINE + 16, {CC6, CC6, 0xCC, 0xCC, 0xCC, 0xCC, NOP2, 0xC3}, 19, 16, 0, HP_SITE_OK, 16, 2, NOPF, 0},
    /* only 4 bytes exist before the entry (start of a section) */
    {"x64_padding_short", X64, 0, LINE + 4, {0xCC, 0xCC, 0xCC, 0xCC, NOP2, 0xC3}, 7, 4, 0, HP_SITE_PADDING_SHORT, 4, 2, NOPF, 0},
    /* ret of the previous function, then only 5 int3 */
    {"x64_padding_five_of_six", X64, 0, LINE + 6, {0xC3, CC5, NOP2, 0xC3}, 9, 6, 0, HP_SITE_PADDING_NOT_FILLER, 5, 2, NOPF, 0},
    /* the previous function's code runs right up to the entry (mov eax, 1; ret / pop rbx) */
    {"x64_no_padding", X64, 0, LINE + 7, {0xB8, 1, 0, 0, 0, 0xC3, 0x5B, 0x48, 0x89, 0xE5}, 10, 7, 0, HP_SITE_PADDING_NOT_FILLER, 0, 3, 0, 0},
    /* push rbp is one byte */
    {"x64_push_rbp_entry", X64, 0, LINE + 6, {CC6, 0x55, 0x48, 0x89, 0xE5}, 10, 6, 0, HP_SITE_ENTRY_SHORT, HPT_ANY, 1, 0, 0},
    /* a bare ret is one byte */
    {"x64_bare_ret", X64, 0, LINE + 6, {CC6, 0xC3}, 7, 6, 0, HP_SITE_ENTRY_SHORT, HPT_ANY, 1, 0, 0},
    /* entry at offset 63 of a line: its 2 bytes straddle two lines */
    {"x64_entry_crosses_line", X64, 0, LINE + 63, {CC6, NOP2, 0xC3}, 9, 6, 0, HP_SITE_ENTRY_CROSSES_LINE, HPT_ANY, 2, NOPF, 0},
    /* offset 62: both bytes in one line */
    {"x64_entry_end_of_line", X64, 0, LINE + 62, {CC6, NOP2, 0xC3}, 9, 6, 0, HP_SITE_OK, 6, 2, NOPF, 0},
    /* 0x06 (push es) does not exist in 64-bit mode */
    {"x64_entry_invalid", X64, 0, LINE + 6, {CC6, 0x06, 0xC3}, 8, 6, 0, HP_SITE_ENTRY_INVALID, HPT_ANY, 0, 0, 0},
    /* a REX prefix and then the end of the readable bytes */
    {"x64_truncated", X64, 0, LINE + 6, {CC6, 0x48}, 7, 6, 0, HP_SITE_TRUNCATED, HPT_ANY, 0, 0, 0},
    /* no byte at all after the entry */
    {"x64_nothing_after", X64, 0, LINE + 6, {CC6}, 6, 6, 0, HP_SITE_TRUNCATED, HPT_ANY, 0, 0, 0},
    /* CET: endbr64 stays first, the site is the NOP after it */
    {"x64_endbr_then_nop", X64, 0, LINE + 6, {CC6, ENDBR64, NOP2, 0xC3}, 13, 6, 0, HP_SITE_OK, 6, 2,
     HP_SITE_F_ENDBR | NOPF, 4},
    /* CET: endbr64 then push rbp */
    {"x64_endbr_then_push", X64, 0, LINE + 6, {CC6, ENDBR64, 0x55, 0xC3}, 12, 6, 0, HP_SITE_ENDBR_ENTRY_SHORT, HPT_ANY, 1,
     HP_SITE_F_ENDBR, 4},
    /* patched by the protocol, x64 slot form: FF 25 disp32 in the padding, EB F8 (-8) at the entry */
    {"x64_patched_slot", X64, 0, LINE + 6, {0xFF, 0x25, 0x10, 0x20, 0x30, 0x00, 0xEB, 0xF8, 0xC3}, 9, 6, 0, HP_SITE_PATCHED,
     HPT_ANY, 2, HPT_ANY, 0},
    /* patched, x64 absolute inline form: FF 25 00000000 + 8-byte address, EB F0 (-16) */
    {"x64_patched_inline", X64, 14, LINE + 14,
     {0xFF, 0x25, 0, 0, 0, 0, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 0xEB, 0xF0, 0xC3}, 17, 14, 0,
     HP_SITE_PATCHED, HPT_ANY, 2, HPT_ANY, 0},
    /* patched after endbr: the short jump at entry+4 goes back 10 bytes to the E9 at entry-5: EB F5 (-11) */
    {"x64_patched_after_endbr", X64, 0, LINE + 6, {0xCC, 0xE9, 0x44, 0x33, 0x22, 0x11, ENDBR64, 0xEB, 0xF5, 0xC3}, 13, 6, 0,
     HP_SITE_PATCHED, HPT_ANY, 2, HP_SITE_F_ENDBR | HPT_AT_LEAST, 4},
    /* someone else's E9 rel32 at the entry */
    {"x64_redirected_e9", X64, 0, LINE + 6, {CC6, 0xE9, 0x00, 0x10, 0x00, 0x00, 0xC3}, 12, 6, 0, HP_SITE_REDIRECTED, HPT_ANY,
     5, HPT_ANY, 0},
    /* a short jump forward, not into the padding */
    {"x64_redirected_short_forward", X64, 0, LINE + 6, {CC6, 0xEB, 0x10, 0xC3}, 9, 6, 0, HP_SITE_REDIRECTED, HPT_ANY, 2,
     HPT_ANY, 0},
    /* a short jump into the padding where no long jump of ours is (plain int3s) */
    {"x64_redirected_short_into_cc", X64, 0, LINE + 6, {CC6, 0xEB, 0xF8, 0xC3}, 9, 6, 0, HP_SITE_REDIRECTED, HPT_ANY, 2,
     HPT_ANY, 0},
    /* movabs rax, imm64 ; jmp rax */
    {"x64_redirected_movabs", X64, 0, LINE + 6,
     {CC6, 0x48, 0xB8, 1, 2, 3, 4, 5, 6, 7, 8, 0xFF, 0xE0}, 18, 6, 0, HP_SITE_REDIRECTED, HPT_ANY, 10, HPT_ANY, 0},
    /* jmp [rip+0] at the entry (the classic 14-byte absolute hook) */
    {"x64_redirected_ff25", X64, 0, LINE + 6, {CC6, 0xFF, 0x25, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8}, 20, 6, 0,
     HP_SITE_REDIRECTED, HPT_ANY, 6, HPT_ANY, 0},
    /* padding holds an old FF 25 slot jump, the entry is back to its NOP */
    {"x64_previously_patched", X64, 0, LINE + 6, {0xFF, 0x25, 0x44, 0x33, 0x22, 0x11, NOP2, 0xC3}, 9, 6, 0,
     HP_SITE_PREVIOUSLY_PATCHED, HPT_ANY, 2, NOPF, 0},
    /* multi-byte NOP padding after a ret: ret; nopl 0(rax,rax,1) (5); xchg ax,ax (2); then sub rsp, 40 */
    {"x64_multibyte_nop_padding", X64, 0, LINE + 8, {0xC3, 0x0F, 0x1F, 0x44, 0x00, 0x00, NOP2, 0x48, 0x83, 0xEC, 0x28}, 12, 8,
     0, HP_SITE_OK, 7, 4, HP_SITE_F_PADDING_NOPS, 0},
    /* the same NOPs after an add: code falls through into them, so they are not padding */
    {"x64_nops_after_fallthrough", X64, 0, LINE + 9,
     {0x01, 0xC0, 0x0F, 0x1F, 0x44, 0x00, 0x00, NOP2, 0x48, 0x83, 0xEC, 0x28}, 13, 9, 0, HP_SITE_PADDING_NOT_FILLER, 1, 4, 0,
     0},
    /* jne back to entry+1 inside the function: 66 90 | 31 C0 | 75 FB (to offset 1) | C3 */
    {"x64_branch_to_entry_plus_1", X64, 0, LINE + 6, {CC6, NOP2, 0x31, 0xC0, 0x75, 0xFB, 0xC3}, 13, 6, 7,
     HP_SITE_BRANCH_TO_ENTRY_1, 6, 2, NOPF, 0},
    /* the same bytes with no extent given: the branch is not looked for */
    {"x64_branch_not_scanned", X64, 0, LINE + 6, {CC6, NOP2, 0x31, 0xC0, 0x75, 0xFB, 0xC3}, 13, 6, 0, HP_SITE_OK, 6, 2, NOPF,
     0},
    /* a loop back to the entry itself is fine */
    {"x64_branch_to_entry", X64, 0, LINE + 6, {CC6, NOP2, 0x31, 0xC0, 0x75, 0xFA, 0xC3}, 13, 6, 7, HP_SITE_OK, 6, 2, NOPF, 0},
    /* mov rax, [rip+0]: RIP-relative first instruction */
    {"x64_rip_relative_entry", X64, 0, LINE + 6, {CC6, 0x48, 0x8B, 0x05, 0, 0, 0, 0, 0xC3}, 14, 6, 0, HP_SITE_OK, 6, 7,
     HP_SITE_F_RIP_RELATIVE, 0},
    /* call rel32 first */
    {"x64_call_entry", X64, 0, LINE + 6, {CC6, 0xE8, 0, 0, 0, 0, 0xC3}, 12, 6, 0, HP_SITE_OK, 6, 5, HP_SITE_F_BRANCH, 0},
    /* mov edi, edi on x64 is not a NOP (it clears the upper half of rdi), still >= 2 bytes */
    {"x64_mov_edi_edi", X64, 0, LINE + 6, {CC6, 0x8B, 0xFF, 0xC3}, 9, 6, 0, HP_SITE_OK, 6, 2, 0, 0},
    /* pad=14 asked, only 8 bytes before the entry */
    {"x64_pad14_short", X64, 14, LINE + 8, {CC6, 0xCC, 0xCC, NOP2}, 10, 8, 0, HP_SITE_PADDING_SHORT, 8, 2, NOPF, 0},
    /* pad=14 asked and given */
    {"x64_pad14_ok", X64, 14, LINE + 14, {CC6, CC6, 0xCC, 0xCC, NOP2}, 16, 14, 0, HP_SITE_OK, 14, 2, NOPF, 0},
    /* MSVC x86 hotpatch: 5 x int3, mov edi, edi; push ebp; mov ebp, esp */
    {"x86_msvc_hotpatch", X86, 0, LINE + 5, {CC5, 0x8B, 0xFF, 0x55, 0x8B, 0xEC}, 10, 5, 0, HP_SITE_OK, 5, 2, NOPF, 0},
    /* x86 default pad is 5: four bytes are too few */
    {"x86_padding_short", X86, 0, LINE + 4, {0xCC, 0xCC, 0xCC, 0xCC, 0x8B, 0xFF}, 6, 4, 0, HP_SITE_PADDING_SHORT, 4, 2, NOPF,
     0},
    /* x86 push ebp first */
    {"x86_push_ebp_entry", X86, 0, LINE + 5, {CC5, 0x55, 0x89, 0xE5}, 8, 5, 0, HP_SITE_ENTRY_SHORT, HPT_ANY, 1, 0, 0},
    /* 0x06 is push es on x86: valid, 1 byte */
    {"x86_push_es", X86, 0, LINE + 5, {CC5, 0x06, 0xC3}, 7, 5, 0, HP_SITE_ENTRY_SHORT, HPT_ANY, 1, 0, 0},
    /* patched on x86: E9 rel32 at entry-5, EB F9 (-7) at the entry */
    {"x86_patched", X86, 0, LINE + 5, {0xE9, 0x44, 0x33, 0x22, 0x11, 0xEB, 0xF9, 0xC3}, 8, 5, 0, HP_SITE_PATCHED, HPT_ANY, 2,
     HPT_ANY, 0},
    /* previously patched on x86 */
    {"x86_previously_patched", X86, 0, LINE + 5, {0xE9, 0x44, 0x33, 0x22, 0x11, 0x8B, 0xFF, 0xC3}, 8, 5, 0,
     HP_SITE_PREVIOUSLY_PATCHED, HPT_ANY, 2, NOPF, 0},
    /* CET on x86: endbr32 then mov edi, edi */
    {"x86_endbr32", X86, 0, LINE + 5, {CC5, ENDBR32, 0x8B, 0xFF, 0xC3}, 12, 5, 0, HP_SITE_OK, 5, 2, HP_SITE_F_ENDBR | NOPF,
     4},
    /* an unknown machine */
    {"bad_machine", HP_MACHINE_UNKNOWN, 0, LINE + 6, {CC6, NOP2}, 8, 6, 0, HP_SITE_BAD_MACHINE, HPT_ANY, HPT_ANY, HPT_ANY,
     HPT_ANY},
};

const unsigned hpt_site_case_count = sizeof hpt_site_cases / sizeof hpt_site_cases[0];

int hpt_site_case_run(const hpt_site_case *c, hp_site *out, const char **why)
{
    hp_site_input in = {c->bytes + c->entry, c->entry, (size_t)(c->len - c->entry), c->address, c->machine, c->pad, c->body};
    hp_site_reason r = hp_site_analyze(&in, out);
    *why = "";
    if (r != c->expect || out->reason != r) {
        *why = "reason";
        return 0;
    }
    if (c->expect_pad_found != HPT_ANY && out->pad_found != c->expect_pad_found) {
        *why = "pad_found";
        return 0;
    }
    if (c->expect_entry_len != HPT_ANY && out->entry_len != c->expect_entry_len) {
        *why = "entry_len";
        return 0;
    }
    if (c->expect_flags != HPT_ANY) {
        uint32_t want = c->expect_flags & ~HPT_AT_LEAST;
        int at_least = (c->expect_flags & HPT_AT_LEAST) != 0;
        if (at_least ? (out->flags & want) != want : out->flags != c->expect_flags) {
            *why = "flags";
            return 0;
        }
    }
    if (c->expect_site_offset != HPT_ANY && out->site_offset != c->expect_site_offset) {
        *why = "site_offset";
        return 0;
    }
    return 1;
}
