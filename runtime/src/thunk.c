/*
 * thunk.c — following import thunks and incremental-link jump tables. See thunk.h.
 */
#include "thunk.h"

#include "hotpatch_pe.h"
#include "os.h"

static int32_t get32le(const uint8_t *p)
{
    return (int32_t)((uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24));
}

/* Do the `len` bytes at `addr` lie in one code section of the image at `base`? */
static int in_code(const hp_pe *pe, uintptr_t base, uintptr_t addr, size_t len)
{
    hp_pe_section s;
    if (addr < base || addr - base >= pe->size_of_image)
        return 0;
    uint32_t rva = (uint32_t)(addr - base);
    if (hp_pe_section_of_rva(pe, rva, &s, NULL) != HP_OK || !hp_pe_section_is_code(&s))
        return 0;
    uint32_t size = s.virtual_size != 0 ? s.virtual_size : s.raw_size;
    return len <= size - (rva - s.virtual_address);
}

/* Where the `jmp rel32` (E9) at `p` (address `at`) leads. */
static uintptr_t rel32_dest(const uint8_t *p, uintptr_t at)
{
    return at + 5 + (uintptr_t)(intptr_t)get32le(p + 1);
}

int hp_thunk_follow(hp_machine machine, uintptr_t at, size_t before, size_t after, uintptr_t *dest)
{
    const uint8_t *p = (const uint8_t *)at;
    size_t len = 0; /* length of an import thunk's jmp [cell]; 0 for E9 */
    *dest = 0;
    if (after >= 6 && p[0] == 0xFF && p[1] == 0x25)
        len = 6; /* FF 25 disp32: jmp [cell] */
    else if (machine == HP_MACHINE_X64 && after >= 7 && p[0] == 0x48 && p[1] == 0xFF && p[2] == 0x25)
        len = 7; /* 48 FF 25 disp32: rex.w jmp [rip+disp32] */
    else if (!(after >= 5 && p[0] == 0xE9))
        return 0;

    uintptr_t base;
    size_t header_len;
    hp_pe pe;
    if (!hp_os_image_of(at, &base, &header_len) ||
        hp_pe_open(&pe, (const void *)base, header_len, HP_PE_LAYOUT_MAPPED, 0, NULL) != HP_OK ||
        pe.machine != machine || !in_code(&pe, base, at, len != 0 ? len : 5))
        return 0;

    if (len != 0) {
        int32_t disp = get32le(p + len - 4);
        uintptr_t cell = machine == HP_MACHINE_X64 ? at + len + (uintptr_t)(intptr_t)disp : (uintptr_t)(uint32_t)disp;
        hp_pe_dir iat = pe.dir_count > HP_PE_DIR_IAT ? pe.dirs[HP_PE_DIR_IAT] : (hp_pe_dir){0, 0};
        /* the cell: an aligned pointer inside the IAT, which lies inside the image */
        if (iat.rva == 0 || iat.size < sizeof(uintptr_t) || iat.rva > pe.size_of_image ||
            iat.size > pe.size_of_image - iat.rva || cell < base + iat.rva ||
            cell - (base + iat.rva) > iat.size - sizeof(uintptr_t) || (cell & (sizeof(uintptr_t) - 1)) != 0)
            return 0;
        *dest = __atomic_load_n((const uintptr_t *)cell, __ATOMIC_ACQUIRE);
        return *dest != 0;
    }

    /* E9: an entry of a jump table inside the image, leading into the image's code */
    uintptr_t to = rel32_dest(p, at);
    if (!in_code(&pe, base, to, 1))
        return 0;
    int table = after >= 10 && p[5] == 0xE9 && in_code(&pe, base, at + 5, 5) &&
                in_code(&pe, base, rel32_dest(p + 5, at + 5), 1);
    if (!table)
        table = before >= 5 && p[-5] == 0xE9 && in_code(&pe, base, at - 5, 5) &&
                in_code(&pe, base, rel32_dest(p - 5, at - 5), 1);
    if (!table)
        return 0;
    *dest = to;
    return 1;
}
