/*
 * hotpatch.h — libhotpatch, the in-process jump-swap applier, and the one
 * definition of "hotpatchable" shared by the plugin, the audit, the post-link
 * pass and the runtime.
 *
 * Two halves:
 *   - the site rules (hp_site_analyze): a pure function over bytes; no I/O, no
 *     allocation, safe to call on untrusted input (every read is bounded by the
 *     lengths the caller gives);
 *   - the patch engine (hp_apply, hp_remove, transactions): changes code in the
 *     calling process following the protocol of DESIGN.md.
 *
 * Thread-safety: every function here may be called from any thread at any
 * time. hp_site_analyze is reentrant; the patch engine serialises itself with
 * one internal lock.
 */
#ifndef HOTPATCH_H
#define HOTPATCH_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * HP_API marks the public functions. Windows: exported from hotpatch.dll when
 * building it; define HP_DLL when linking against the DLL (import). Static
 * linking needs nothing. ELF: default visibility.
 */
#if defined(_WIN32)
#  if defined(HP_BUILDING_DLL)
#    define HP_API __declspec(dllexport)
#  elif defined(HP_DLL)
#    define HP_API __declspec(dllimport)
#  else
#    define HP_API
#  endif
#else
#  define HP_API __attribute__((visibility("default")))
#endif

#define HP_VERSION_MAJOR 0
#define HP_VERSION_MINOR 1
#define HP_VERSION_PATCH 0
#define HP_VERSION_STRING "0.1.0"

/* ------------------------------------------------------------------------- */
/* Statuses                                                                   */
/* ------------------------------------------------------------------------- */

/**
 * Status of every fallible public function. The numbers are permanent:
 * values are appended, never renumbered.
 */
typedef enum hp_status {
    HP_OK = 0,
    HP_ERR_ARGUMENT = 1,        /**< a NULL or otherwise invalid argument */
    HP_ERR_NOT_PATCHABLE = 2,   /**< the site rules refuse the target (hp_probe says why) */
    HP_ERR_ALREADY_PATCHED = 3, /**< the target is currently redirected by this runtime */
    HP_ERR_REDIRECTED = 4,      /**< the target's entry was redirected by someone else */
    HP_ERR_NO_SLOT_MEMORY = 5,  /**< no slot/trampoline memory within reach of the target */
    HP_ERR_PROTECT = 6,         /**< the OS refused a protection change (W^X policy, ACG, execmem) */
    HP_ERR_NO_MEMORY = 7,       /**< out of memory */
    HP_ERR_STALE_HANDLE = 8,    /**< the handle is not (or no longer) a live patch of this runtime */
    HP_ERR_UNSUPPORTED = 9,     /**< platform or architecture not supported */
    HP_ERR_RELOCATE = 10,       /**< the first instruction cannot be relocated into a trampoline */
    HP_ERR_TXN_STATE = 11,      /**< a transaction was used in a state that does not allow the call */
    HP_ERR_DUPLICATE = 12,      /**< the same target appears twice in one transaction */
    HP_ERR_MODULE = 13,         /**< a patch module is malformed or does not match its target image */
    HP_ERR_IO = 14,             /**< a file could not be opened, read or mapped */
    HP_ERR_FORMAT = 15,         /**< input bytes are not a valid image of the expected format */
} hp_status;

/** Name of a status ("HP_ERR_PROTECT"); never NULL, "HP_STATUS_UNKNOWN" for unknown values. */
HP_API const char *hp_status_str(hp_status status);

/* ------------------------------------------------------------------------- */
/* The site rules                                                             */
/* ------------------------------------------------------------------------- */

/** Machines the site rules understand. Values are permanent. */
typedef enum hp_machine {
    HP_MACHINE_UNKNOWN = 0,
    HP_MACHINE_X86 = 1, /**< IA-32 (PE32, Linux i386) */
    HP_MACHINE_X64 = 2, /**< x86-64 (PE32+, Linux x86-64) */
} hp_machine;

/** Default padding required by the site rules: MSVC's /FUNCTIONPADMIN defaults. */
#define HP_DEFAULT_PAD_X86 5u
#define HP_DEFAULT_PAD_X64 6u
/** Largest padding the rules ever look at (a larger request is clamped to this). */
#define HP_MAX_PAD 64u

/**
 * Why a site is or is not patchable. Stable reason codes: values are appended,
 * never renumbered; hp_site_reason_str() gives a short identifier and
 * hp_site_reason_text() a one-line explanation.
 */
typedef enum hp_site_reason {
    HP_SITE_OK = 0,                  /**< patchable */
    HP_SITE_PADDING_SHORT = 1,       /**< fewer than `pad` bytes exist before the entry */
    HP_SITE_PADDING_NOT_FILLER = 2,  /**< a byte of the padding is not filler (0xCC, 0x00, 0x90, NOPs after a jump) */
    HP_SITE_ENTRY_SHORT = 3,         /**< the first instruction is shorter than 2 bytes */
    HP_SITE_ENTRY_CROSSES_LINE = 4,  /**< the 2 entry bytes straddle a 64-byte line: one 16-bit store is not atomic */
    HP_SITE_ENTRY_INVALID = 5,       /**< the bytes at the entry do not decode */
    HP_SITE_TRUNCATED = 6,           /**< not enough bytes after the entry to decode it */
    HP_SITE_ENDBR_ENTRY_SHORT = 7,   /**< entry is endbr32/64 but the instruction after it is shorter than 2 bytes */
    HP_SITE_PATCHED = 8,             /**< already redirected by this protocol (short jump into a padding long jump) */
    HP_SITE_REDIRECTED = 9,          /**< the entry is a jump placed by something else (another hooking tool) */
    HP_SITE_BRANCH_TO_ENTRY_1 = 10,  /**< a branch inside the function targets entry+1 (would land inside the swap) */
    HP_SITE_PREVIOUSLY_PATCHED = 11, /**< padding holds this protocol's long jump, entry intact: patched once, now removed */
    HP_SITE_BAD_MACHINE = 12,        /**< the machine is not one the rules understand */
} hp_site_reason;

/** Short stable identifier of a reason ("padding-short"); never NULL. */
HP_API const char *hp_site_reason_str(hp_site_reason reason);
/** One-line human explanation of a reason; never NULL. */
HP_API const char *hp_site_reason_text(hp_site_reason reason);

/** hp_site.flags bits. */
#define HP_SITE_F_ENTRY_NOP   0x01u /**< the site instruction is a 2-byte NOP (66 90, or 8B FF on x86): original = site + 2 */
#define HP_SITE_F_ENDBR       0x02u /**< the function starts with endbr32/endbr64; the site is right after it */
#define HP_SITE_F_RIP_RELATIVE 0x04u /**< the site instruction has a RIP-relative operand (relocation re-encodes it) */
#define HP_SITE_F_BRANCH      0x08u /**< the site instruction is a relative branch or call (relocation re-encodes it) */
#define HP_SITE_F_PADDING_NOPS 0x10u /**< the padding is multi-byte NOPs after an unconditional transfer */

/**
 * What the site rules found. Filled by hp_site_analyze() and hp_probe(),
 * whatever the verdict, as far as the analysis got.
 */
typedef struct hp_site {
    hp_site_reason reason;   /**< HP_SITE_OK or why not */
    hp_machine machine;      /**< machine analysed */
    uint32_t pad_required;   /**< padding the verdict was judged against */
    uint32_t pad_found;      /**< filler bytes found before the entry (at most HP_MAX_PAD) */
    uint32_t site_offset;    /**< offset of the 2-byte swap site from the entry: 0, or 4 after endbr */
    uint32_t entry_len;      /**< length of the instruction at the site (0 when it did not decode) */
    uint32_t flags;          /**< HP_SITE_F_* */
    int64_t jump_target;     /**< HP_SITE_PATCHED/REDIRECTED: target of the entry jump, relative to the entry
                                  (for HP_SITE_PATCHED: where the padding jump leads, when it can be known from bytes;
                                  0 when the jump goes through memory) */
    uint8_t entry_bytes[2];  /**< the two bytes at the site */
} hp_site;

/** Input of hp_site_analyze(): the bytes around one function entry. */
typedef struct hp_site_input {
    const uint8_t *entry;  /**< pointer to the entry byte, inside a readable buffer */
    size_t before;         /**< bytes readable before `entry` (only these are read) */
    size_t after;          /**< bytes readable from `entry` on (only these are read) */
    uint64_t address;      /**< the entry's address (or RVA: sections are 64-byte aligned) for the line check */
    hp_machine machine;    /**< HP_MACHINE_X86 or HP_MACHINE_X64 */
    uint32_t pad;          /**< required padding; 0 = the machine's default (5 on x86, 6 on x64) */
    size_t body_size;      /**< if nonzero: the function's extent from `entry`, scanned for branches into
                                site+1 (must be <= after) */
} hp_site_input;

/**
 * Decide whether one function entry is hotpatchable. Pure: reads only
 * `[entry - before, entry + after)`, writes only `*out` (which may be NULL),
 * allocates nothing.
 *
 * @return the reason (also stored in out->reason); HP_SITE_OK when patchable.
 */
HP_API hp_site_reason hp_site_analyze(const hp_site_input *in, hp_site *out);

/**
 * Length of the x86/x64 instruction at `code` (at most `len` bytes are read).
 * @return 1..15, or 0 when the bytes do not decode.
 */
HP_API unsigned hp_insn_length(hp_machine machine, const uint8_t *code, size_t len);

/* ------------------------------------------------------------------------- */
/* The patch engine                                                           */
/* ------------------------------------------------------------------------- */

/**
 * Opaque handle to one applied redirection. hp_remove() frees it: it goes back
 * to the runtime's handle pool, whose memory is never returned to the OS, so a
 * removed handle passed again gets HP_ERR_STALE_HANDLE (until the pool hands the
 * same address out for a later patch: keep handles of removed patches no longer).
 */
typedef struct hp_patch hp_patch;
/** Opaque transaction. Freed by hp_txn_commit() or hp_txn_abort(). */
typedef struct hp_txn hp_txn;

/** Machine of the running process. */
HP_API hp_machine hp_host_machine(void);

/**
 * Would `target` patch? Runs the site rules on the live bytes of this process
 * (with the default padding). Writes nothing.
 * @param out_site receives the analysis (may be NULL).
 * @return HP_OK, HP_ERR_NOT_PATCHABLE, HP_ERR_ALREADY_PATCHED, HP_ERR_REDIRECTED, HP_ERR_ARGUMENT.
 */
HP_API hp_status hp_probe(const void *target, hp_site *out_site);

/**
 * Redirect every call of `target` to `replacement` (a one-entry transaction).
 * @param out_original receives a callable pointer to the original behaviour before the redirection
 *                     becomes visible; valid for the life of the process (may be NULL).
 * @param out_patch receives the handle before the redirection becomes visible (may be NULL: the patch
 *                  then cannot be removed through this API).
 */
HP_API hp_status hp_apply(void *target, const void *replacement, void **out_original, hp_patch **out_patch);
/** Restore the original entry of `patch` and free the handle. */
HP_API hp_status hp_remove(hp_patch *patch);
/** Atomically switch a live patch to another replacement. */
HP_API hp_status hp_retarget(hp_patch *patch, const void *replacement);
/** Callable pointer to the original behaviour of `patch`; NULL for a NULL handle. */
HP_API void *hp_original(const hp_patch *patch);

/** Start a transaction. */
HP_API hp_status hp_txn_begin(hp_txn **out_txn);
/**
 * Add a redirection to a transaction; *out_original and *out_patch are stored at commit, before the swap.
 * The entry is checked now (the status names the bad entry; the first failure makes the commit fail with
 * it) and again by the commit.
 */
HP_API hp_status hp_txn_apply(hp_txn *txn, void *target, const void *replacement, void **out_original,
                       hp_patch **out_patch);
/** Add a removal to a transaction (checked now and again by the commit). */
HP_API hp_status hp_txn_remove(hp_txn *txn, hp_patch *patch);
/** Apply everything or nothing; frees `txn` in every case. Handles are live only after HP_OK. */
HP_API hp_status hp_txn_commit(hp_txn *txn);
/** Drop a transaction without applying anything; NULL is a no-op. */
HP_API void hp_txn_abort(hp_txn *txn);

#ifdef __cplusplus
}
#endif

#endif /* HOTPATCH_H */
