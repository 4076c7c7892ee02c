/*
 * cases_manifest.c — the manifest reader (hp_mf_parse, runtime/src/module.h)
 * on bytes built here by hand, against a made-up image: two fragments with a
 * run of zeros between them and after them; every truncation, every byte
 * flipped in turn, bad versions, unchecked fragments, malformed records; and
 * the message formatter. Pure: runs the same on every target.
 */
#include "hp_test.h"

#include "cases.h"
#include "module.h"

/* The made-up image: code, writable data and read-only strings at fixed addresses. */
#define CODE_LO 0x10000u
#define DATA_LO 0x20000u
#define STR_LO 0x30000u

static const char g_strings[] = "tgt.dll\0unit.c\0fa\0fb\0fc\0slot_a\0slot_b\0other.dll\0nonul";
enum { S_TGT = 0, S_UNIT = 8, S_FA = 15, S_FB = 18, S_FC = 21, S_SLOT_A = 24, S_SLOT_B = 31, S_OTHER = 38,
       S_NONUL = 48 };
static uint8_t g_code[64], g_data[64];

static hp_mf_region g_regions[3];

static hp_mf_image image_of(unsigned ptr_size)
{
    hp_mf_region code = {CODE_LO, CODE_LO + 0x1000u, g_code, sizeof g_code, HP_MF_REGION_X};
    hp_mf_region data = {DATA_LO, DATA_LO + sizeof g_data, g_data, sizeof g_data, HP_MF_REGION_W};
    /* the last string has no NUL inside the region */
    hp_mf_region strs = {STR_LO, STR_LO + sizeof g_strings - 1, (const uint8_t *)g_strings, sizeof g_strings - 1, 0};
    g_regions[0] = code;
    g_regions[1] = data;
    g_regions[2] = strs;
    hp_mf_image img;
    memset(&img, 0, sizeof img);
    img.format = HP_FIX_FORMAT_ELF;
    img.machine = 62;
    img.ptr_size = ptr_size;
    img.lo = CODE_LO;
    img.hi = STR_LO + 0x1000u;
    img.regions = g_regions;
    img.nregions = 3;
    return img;
}

/* Layout of the buffer: A = header + 2 entries + 1 slot (240), 8 zeros, B = header + 1 entry + 1 slot
   (200), 8 zeros. */
enum { A_OFF = 0, A_SIZE = 240, Z1_OFF = 240, B_OFF = 248, B_SIZE = 200, Z2_OFF = 448, TOTAL = 456 };
#define HDR ((size_t)sizeof(hp_fix_header))
#define ENT ((size_t)sizeof(hp_fix_entry))
#define SLT ((size_t)sizeof(hp_fix_slot))

static void put_header(uint8_t *p, uint32_t size, uint32_t ne, uint32_t ns)
{
    hp_fix_header h;
    memset(&h, 0, sizeof h);
    memcpy(h.magic, HP_FIX_MAGIC, HP_FIX_MAGIC_SIZE);
    h.version = HP_FIX_VERSION;
    h.size = size;
    h.flags = HP_FIX_F_CHECKED;
    h.entry_count = ne;
    h.slot_count = ns;
    h.format = HP_FIX_FORMAT_ELF;
    h.machine = 62;
    h.build_id_len = 20;
    for (int i = 0; i < 20; i++)
        h.build_id[i] = (uint8_t)(i + 1);
    h.target_name.u = STR_LO + S_TGT;
    h.unit.u = STR_LO + S_UNIT;
    memcpy(p, &h, sizeof h);
}

static void put_entry(uint8_t *p, uint32_t name, uint32_t repl, uint32_t rva)
{
    hp_fix_entry e;
    memset(&e, 0, sizeof e);
    e.name.u = STR_LO + name;
    e.replacement.u = repl;
    e.target_rva = rva;
    e.hash_len = 6;
    e.hash = 0x0123456789ABCDEFull;
    memcpy(p, &e, sizeof e);
}

static void put_slot(uint8_t *p, uint32_t name, uint32_t slot, uint32_t kind, uint32_t rva, uint32_t size)
{
    hp_fix_slot s;
    memset(&s, 0, sizeof s);
    s.name.u = STR_LO + name;
    s.slot.u = slot;
    s.kind = kind;
    s.target_rva = rva;
    s.size = size;
    memcpy(p, &s, sizeof s);
}

static void build(uint8_t *b)
{
    memset(b, 0, TOTAL);
    put_header(b + A_OFF, A_SIZE, 2, 1);
    put_entry(b + A_OFF + HDR, S_FA, CODE_LO + 0x10, 0x1000);
    put_entry(b + A_OFF + HDR + ENT, S_FB, CODE_LO + 0x20, 0x1100);
    put_slot(b + A_OFF + HDR + 2 * ENT, S_SLOT_A, DATA_LO, HP_FIX_SLOT_PREVIOUS, 0x1000, 0);
    put_header(b + B_OFF, B_SIZE, 1, 1);
    put_entry(b + B_OFF + HDR, S_FC, CODE_LO + 0x30, 0x1200);
    put_slot(b + B_OFF + HDR + ENT, S_SLOT_B, DATA_LO + 8, HP_FIX_SLOT_SYMBOL, 0x5000, 4);
}

static hp_status parse(const uint8_t *b, size_t n, const hp_mf_image *img, hp_mf *m, char *msg, size_t msg_size)
{
    return hp_mf_parse(b, n, img, m, msg, msg_size);
}

static int contains(const char *hay, const char *needle)
{
    size_t n = 0;
    while (needle[n])
        n++;
    for (; *hay; hay++)
        if (memcmp(hay, needle, n) == 0)
            return 1;
    return n == 0;
}

static int known_status(hp_status st)
{
    return st == HP_OK || st == HP_ERR_MODULE || st == HP_ERR_NO_MANIFEST || st == HP_ERR_MANIFEST_VERSION;
}

void case_manifest_valid_two_fragments(void)
{
    static uint8_t b[TOTAL];
    build(b);
    hp_mf_image img = image_of(8);
    hp_mf m;
    char msg[256];
    HP_CHECK_ST(parse(b, TOTAL, &img, &m, msg, sizeof msg), HP_OK);
    HP_CHECK(m.nfragments == 2 && m.nentries == 3 && m.nslots == 2, "%zu fragments, %zu entries, %zu slots",
             m.nfragments, m.nentries, m.nslots);
    if (m.nentries == 3 && m.nslots == 2) {
        HP_CHECK(m.entries[0].target_rva == 0x1000 && m.entries[1].target_rva == 0x1100 &&
                     m.entries[2].target_rva == 0x1200 && m.entries[2].replacement == CODE_LO + 0x30 &&
                     m.entries[2].hash == 0x0123456789ABCDEFull && m.entries[2].hash_len == 6,
                 "entries as written");
        HP_CHECK(m.slots[0].kind == HP_FIX_SLOT_PREVIOUS && m.slots[1].kind == HP_FIX_SLOT_SYMBOL &&
                     m.slots[1].slot == DATA_LO + 8 && m.slots[1].size == 4 && m.slots[1].target_rva == 0x5000,
                 "slots as written");
    }
    const char *t = hp_mf_string(&img, m.target_name);
    HP_CHECK(t != NULL && memcmp(t, "tgt.dll", 8) == 0, "target name");
    HP_CHECK(m.format == HP_FIX_FORMAT_ELF && m.machine == 62 && m.build_id_len == 20 && m.build_id[19] == 20,
             "identity");
    hp_mf_free(&m);
    /* a 32-bit image reads the same pointers (their upper halves are zero) */
    img = image_of(4);
    HP_CHECK_ST(parse(b, TOTAL, &img, &m, msg, sizeof msg), HP_OK);
    hp_mf_free(&m);
    /* the strings: bounded by their region */
    HP_CHECK(hp_mf_string(&img, STR_LO + S_NONUL) == NULL, "a string without NUL in its region");
    HP_CHECK(hp_mf_string(&img, DATA_LO + 0x1000) == NULL, "an address outside every region");
    HP_CHECK(hp_mf_region_of(&img, CODE_LO + 0xFFF, 2) == NULL && hp_mf_region_of(&img, CODE_LO + 0xFFF, 1) != NULL,
             "a range must fit one region");
}

/* Two pages, the second without access: bytes copied to the end of the first are followed by a
   fault, on every target (a read past the given size crashes the test). */
static uint8_t *guarded(void)
{
    static uint8_t *g;
    if (g == NULL) {
        g = hp_test_map(NULL, 8192);
        if (g != NULL && !hp_test_set_page_prot(g + 4096, 0))
            g = NULL;
    }
    return g;
}

/* Every length short of the whole: only cuts at the end of a fragment (or inside a run of zeros
   after one) read; everything else is refused, and nothing is read past the cut (the guard page). */
void case_manifest_truncated_at_every_length(void)
{
    static uint8_t b[TOTAL];
    build(b);
    hp_mf_image img = image_of(8);
    uint8_t *g = guarded();
    HP_CHECK(g != NULL, "no guarded memory");
    if (g == NULL)
        return;
    for (size_t n = 0; n < TOTAL; n++) {
        uint8_t *cut = g + 4096 - n;
        memcpy(cut, b, n);
        hp_mf m;
        char msg[256];
        hp_status st = parse(cut, n, &img, &m, msg, sizeof msg);
        int whole = (n >= A_SIZE && n <= B_OFF) || n >= Z2_OFF;
        if (whole)
            HP_CHECK(st == HP_OK, "cut at %zu: %s (%s)", n, hp_status_str(st), msg);
        else
            HP_CHECK(st != HP_OK && known_status(st) && msg[0] != '\0', "cut at %zu: %s", n, hp_status_str(st));
        if (st == HP_OK) {
            HP_CHECK(m.nfragments == (n >= Z2_OFF ? 2u : 1u), "cut at %zu: %zu fragments", n, m.nfragments);
            hp_mf_free(&m);
        }
    }
    hp_mf m;
    HP_CHECK_ST(parse(b, 0, &img, &m, NULL, 0), HP_ERR_NO_MANIFEST);
}

/* Bytes whose change must be refused: the layout, the identity (the fragments would disagree),
   reserved fields, names, slot variables and kinds, the PREVIOUS slot's function. */
static int must_fail(size_t i)
{
    if ((i >= Z1_OFF && i < B_OFF) || i >= Z2_OFF)
        return 1; /* the zero runs */
    if (i < HDR || (i >= B_OFF && i < B_OFF + HDR))
        return 1; /* every header byte */
    size_t ents[3] = {A_OFF + HDR, A_OFF + HDR + ENT, B_OFF + HDR};
    for (int k = 0; k < 3; k++) {
        size_t o = i - ents[k];
        if (i >= ents[k] && o < ENT)
            return o < 8 || o >= offsetof(hp_fix_entry, flags) || (k == 0 && o >= 16 && o < 20) ||
                   (o >= 20 && o < 24 && o == 23); /* name, flags/reserved; fa's RVA (PREVIOUS); hash_len's top */
    }
    size_t slots[2] = {A_OFF + HDR + 2 * ENT, B_OFF + HDR + ENT};
    for (int k = 0; k < 2; k++) {
        size_t o = i - slots[k];
        if (i >= slots[k] && o < SLT)
            return o < 16 || (o >= 16 && o < 20) || o >= offsetof(hp_fix_slot, flags) ||
                   (k == 0 && o >= 20); /* name, variable, kind, flags; the PREVIOUS one's RVA and size */
    }
    return 0;
}

void case_manifest_every_byte_flipped(void)
{
    static uint8_t b[TOTAL];
    build(b);
    hp_mf_image img = image_of(8);
    uint8_t *g = guarded();
    HP_CHECK(g != NULL, "no guarded memory");
    if (g == NULL)
        return;
    uint8_t *c = g + 4096 - TOTAL;
    unsigned refused = 0;
    for (size_t i = 0; i < TOTAL; i++) {
        memcpy(c, b, TOTAL);
        c[i] ^= 0xFF;
        hp_mf m;
        char msg[256];
        hp_status st = parse(c, TOTAL, &img, &m, msg, sizeof msg);
        HP_CHECK(known_status(st), "byte %zu: %s", i, hp_status_str(st));
        if (must_fail(i))
            HP_CHECK(st != HP_OK, "byte %zu flipped was read (%zu entries)", i, st == HP_OK ? m.nentries : 0);
        if (st == HP_OK)
            hp_mf_free(&m);
        else
            refused++;
    }
    HP_CHECK(refused > TOTAL / 2, "only %u of %u flips refused", refused, (unsigned)TOTAL);
}

void case_manifest_version_and_unchecked(void)
{
    static uint8_t b[TOTAL];
    hp_mf_image img = image_of(8);
    hp_mf m;
    char msg[256];
    /* an unknown version, in the second fragment */
    build(b);
    b[B_OFF + offsetof(hp_fix_header, version)] = 2;
    HP_CHECK_ST(parse(b, TOTAL, &img, &m, msg, sizeof msg), HP_ERR_MANIFEST_VERSION);
    HP_CHECK(contains(msg, "version 2"), "message: %s", msg);
    /* a fragment the link step never checked */
    build(b);
    b[B_OFF + offsetof(hp_fix_header, flags)] = 0;
    HP_CHECK_ST(parse(b, TOTAL, &img, &m, msg, sizeof msg), HP_ERR_NO_MANIFEST);
    HP_CHECK(contains(msg, HP_MF_UNCHECKED_TEXT), "message: %s", msg);
    /* an unknown flag */
    build(b);
    b[A_OFF + offsetof(hp_fix_header, flags)] |= 0x80;
    HP_CHECK_ST(parse(b, TOTAL, &img, &m, msg, sizeof msg), HP_ERR_MODULE);
    /* only zeros: no fragment */
    memset(b, 0, TOTAL);
    HP_CHECK_ST(parse(b, TOTAL, &img, &m, msg, sizeof msg), HP_ERR_NO_MANIFEST);
    HP_CHECK_ST(parse(b, 5, &img, &m, msg, sizeof msg), HP_ERR_NO_MANIFEST);
    /* arguments */
    HP_CHECK_ST(parse(NULL, 8, &img, &m, msg, sizeof msg), HP_ERR_ARGUMENT);
    img.ptr_size = 2;
    HP_CHECK_ST(parse(b, TOTAL, &img, &m, msg, sizeof msg), HP_ERR_ARGUMENT);
}

/* One change to a valid manifest, and what reading it must say. */
static void expect_refused(const uint8_t *b, const hp_mf_image *img, const char *what)
{
    hp_mf m;
    char msg[256];
    hp_status st = parse(b, TOTAL, img, &m, msg, sizeof msg);
    HP_CHECK(st == HP_ERR_MODULE, "%s: %s (%s)", what, hp_status_str(st), msg);
    if (st == HP_OK)
        hp_mf_free(&m);
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

void case_manifest_malformed_records(void)
{
    static uint8_t b[TOTAL];
    hp_mf_image img = image_of(8);
    uint8_t *a_e0 = b + A_OFF + HDR, *a_s0 = b + A_OFF + HDR + 2 * ENT, *b_e0 = b + B_OFF + HDR;

    build(b);
    put32(b_e0 + offsetof(hp_fix_entry, target_rva), 0x1100);
    expect_refused(b, &img, "a function replaced twice");
    build(b);
    put32(a_s0 + offsetof(hp_fix_slot, target_rva), 0x1200 + 0x10);
    expect_refused(b, &img, "PREVIOUS for a function not replaced");
    build(b);
    put32(b + B_OFF + offsetof(hp_fix_header, target_name), STR_LO + S_OTHER);
    expect_refused(b, &img, "fragments for two targets");
    build(b);
    b[B_OFF + offsetof(hp_fix_header, checksum)] = 1;
    expect_refused(b, &img, "fragments for two builds");
    build(b);
    put32(a_e0 + offsetof(hp_fix_entry, replacement), DATA_LO);
    expect_refused(b, &img, "a replacement in data");
    build(b);
    put32(a_s0 + offsetof(hp_fix_slot, slot), DATA_LO + 4);
    expect_refused(b, &img, "a misaligned slot");
    build(b);
    put32(a_s0 + offsetof(hp_fix_slot, slot), CODE_LO + 8);
    expect_refused(b, &img, "a slot in code");
    build(b);
    put32(a_e0 + offsetof(hp_fix_entry, name), STR_LO + S_NONUL);
    expect_refused(b, &img, "a name without NUL");
    build(b);
    put32(a_e0 + offsetof(hp_fix_entry, hash_len), 0);
    expect_refused(b, &img, "hash_len 0");
    build(b);
    put32(a_e0 + offsetof(hp_fix_entry, target_rva), 0xFFFFFFFEu);
    expect_refused(b, &img, "an RVA whose bytes wrap");
    build(b);
    put32(b + A_OFF + offsetof(hp_fix_header, entry_count), 0xFFFFFFFFu);
    expect_refused(b, &img, "a count whose records would overflow");
    build(b);
    put32(b + A_OFF + offsetof(hp_fix_header, size), A_SIZE + 4);
    expect_refused(b, &img, "a size not a multiple of 8");
    build(b);
    put32(b + B_OFF + offsetof(hp_fix_header, size), B_SIZE + 16);
    expect_refused(b, &img, "a fragment past the section");
    build(b);
    b[A_OFF + offsetof(hp_fix_header, reserved) + 5] = 1;
    expect_refused(b, &img, "reserved bytes (the header's padding) not zero");
    build(b);
    put32(b + A_OFF + offsetof(hp_fix_header, build_id_len), 33);
    put32(b + B_OFF + offsetof(hp_fix_header, build_id_len), 33);
    expect_refused(b, &img, "a build-id longer than its field");
    /* pointers of a 32-bit image have a zero upper half */
    build(b);
    b[A_OFF + HDR + offsetof(hp_fix_entry, replacement) + 4] = 1;
    hp_mf_image img32 = image_of(4);
    expect_refused(b, &img32, "a 32-bit pointer with its upper half set");
    /* what the image asks of every fragment */
    build(b);
    hp_mf_image pe = image_of(8);
    pe.format = HP_FIX_FORMAT_PE;
    expect_refused(b, &pe, "a manifest for ELF in a PE module");
    hp_mf_image x86 = image_of(8);
    x86.machine = 3;
    expect_refused(b, &x86, "a manifest for another machine");
}

void case_manifest_message_cut(void)
{
    char buf[64];
    hp_msgf(buf, sizeof buf, "%s %u %x %llx %zu %d %c%%", "a", 42u, 0xBEEFu, 0x123456789ABCull, (size_t)7, -5, 'z');
    HP_CHECK(memcmp(buf, "a 42 beef 123456789abc 7 -5 z%", 31) == 0, "formatted: %s", buf);
    char small[8];
    memset(small, 'x', sizeof small);
    hp_msgf(small, sizeof small, "abcdefghij");
    HP_CHECK(memcmp(small, "abcd...", 8) == 0, "cut: %s", small);
    memset(small, 'x', sizeof small);
    hp_msgf(small, sizeof small, "abcdefg");
    HP_CHECK(memcmp(small, "abcdefg", 8) == 0, "exactly full: %s", small);
    char two[2] = {'x', 'x'};
    hp_msgf(two, sizeof two, "abc");
    HP_CHECK(two[1] == 0, "a tiny buffer is terminated");
    hp_msgf(NULL, 0, "nothing");
    hp_msgf(small, 0, "nothing");
}
