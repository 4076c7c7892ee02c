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
 *     calling process following the patch protocol of README.md ("The runtime
 *     (libhotpatch)"; the site rules: "The site rules").
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
 * HP_API marks the public functions: exactly these are exported (the library
 * is built with hidden visibility; a test compares the export lists of
 * libhotpatch.so and hotpatch.dll with the HP_API declarations of the
 * installed headers). Windows: exported from hotpatch.dll when building it;
 * define HP_DLL when linking against the DLL (import). Static linking needs
 * nothing. ELF: default visibility.
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
/** The version as one number that orders like versions: major << 16 | minor << 8 | patch. */
#define HP_VERSION_NUMBER ((uint32_t)((HP_VERSION_MAJOR << 16) | (HP_VERSION_MINOR << 8) | HP_VERSION_PATCH))

/**
 * The version of the library that is running (HP_VERSION_STRING when it was built), to compare
 * with the header a program was compiled with. Never NULL; static storage.
 */
HP_API const char *hp_version(void);
/** HP_VERSION_NUMBER of the library that is running. */
HP_API uint32_t hp_version_number(void);

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
    /* The tools (plugin, hotpatch-audit, hotpatch-link) use the same type: one status convention
       across the parts, so that no layer collapses a cause into another. */
    HP_ERR_USAGE = 16,          /**< tools: a command line or option is wrong (unknown name, missing value) */
    HP_ERR_BAD_VALUE = 17,      /**< tools: an option's value is malformed or out of range */
    HP_ERR_NO_LINKER = 18,      /**< tools: lld could not be found or started */
    HP_ERR_LINKER_FAILED = 19,  /**< tools: lld ran and failed (its exit status is reported apart) */
    HP_ERR_BITCODE = 20,        /**< tools: LLVM could not read, rewrite or write a bitcode input */
    HP_ERR_VIOLATIONS = 21,     /**< tools: the output image is not hotpatchable (findings listed) */
    HP_ERR_TOOL = 22,           /**< tools: a helper tool (llvm-ar) failed */
    HP_ERR_NOT_PATCHED = 23,    /**< the target is not currently redirected by this runtime (hp_lookup) */
    /* Patch modules (hp_module_load). HP_ERR_MODULE above: a manifest that is malformed. */
    HP_ERR_NO_MANIFEST = 24,       /**< the module has no manifest (no .hpfix section), or it was never checked */
    HP_ERR_MANIFEST_VERSION = 25,  /**< the manifest's version is not one this runtime reads */
    HP_ERR_TARGET_NOT_LOADED = 26, /**< the image the module was built for is not loaded in this process */
    HP_ERR_IDENTITY = 27,          /**< the loaded image is another build than the module was built for */
    HP_ERR_HASH = 28,              /**< a target function's bytes differ from those the module was built for */
    HP_ERR_REFUSED = 29,           /**< the verify callback said no */
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

/**
 * Padding the runtime needs before an entry: room for its long jump. x86: `E9 rel32` (5 bytes);
 * x64: `FF 25 disp32` through a slot (6 bytes). These are also the defaults (MSVC's
 * /FUNCTIONPADMIN defaults) and the smallest padding any part accepts as an option:
 * hp_site_pad() raises a smaller request to them.
 */
#define HP_MIN_PAD_X86 5u
#define HP_MIN_PAD_X64 6u
#define HP_DEFAULT_PAD_X86 HP_MIN_PAD_X86
#define HP_DEFAULT_PAD_X64 HP_MIN_PAD_X64
/** Largest padding the rules ever look at (a larger request is clamped to this). */
#define HP_MAX_PAD 64u
/** Smallest padding option any tool accepts: the smallest machine minimum. */
#define HP_MIN_PAD_OPTION HP_MIN_PAD_X86

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
    HP_SITE_REDIRECTED = 9,          /**< the entry is a jump placed by something else (a hook or thunk) */
    HP_SITE_BRANCH_TO_ENTRY_1 = 10,  /**< a branch inside the function targets entry+1 (would land inside the swap) */
    HP_SITE_PREVIOUSLY_PATCHED = 11, /**< padding holds this protocol's long jump, entry intact: patched once, now removed */
    HP_SITE_BAD_MACHINE = 12,        /**< the machine is not one the rules understand */
} hp_site_reason;

/**
 * Where a verdict is asked for. The bytes are judged by the same rules everywhere; what differs is what
 * the asker can know, and so which reasons it may accept (README.md, "The site rules", has the table):
 *   - HP_SITE_CONTEXT_IMAGE: bytes of a linked image on disk (hotpatch-audit, hotpatch-link). Nothing
 *     is known about who wrote a jump, so every reason but HP_SITE_OK refuses.
 *   - HP_SITE_CONTEXT_OBJECT: a function of an object file whose padding the link will add (the audit
 *     on objects built by the plugin). Judged with synthetic padding; same answers as IMAGE.
 *   - HP_SITE_CONTEXT_LIVE: bytes of the running process (hp_probe, hp_apply). A jump at the entry is
 *     told apart: HP_ERR_REDIRECTED. The engine's own records (a site it patched before) are consulted
 *     before this table; without such a record a previously patched site is refused like any other.
 */
typedef enum hp_site_context {
    HP_SITE_CONTEXT_IMAGE = 0,
    HP_SITE_CONTEXT_OBJECT = 1,
    HP_SITE_CONTEXT_LIVE = 2,
} hp_site_context;

/**
 * The verdict policy: what a reason means in a context. HP_OK (patchable), HP_ERR_NOT_PATCHABLE, or
 * HP_ERR_REDIRECTED (a jump placed by something else: LIVE only; IMAGE and OBJECT say
 * HP_ERR_NOT_PATCHABLE). Unknown contexts or reasons give HP_ERR_NOT_PATCHABLE.
 */
HP_API hp_status hp_site_verdict(hp_site_context context, hp_site_reason reason);

/**
 * Padding a site needs on `machine` when `requested` was asked for: 0 means the machine's default;
 * less than the machine's minimum is raised to it (the long jump must fit); more than HP_MAX_PAD is
 * clamped. 0 for a machine the rules do not know.
 */
HP_API uint32_t hp_site_pad(hp_machine machine, uint32_t requested);

/**
 * Is `byte` filler (what padding may hold, and what no code falls into): 0xCC (int3, preferred: what
 * lld, MSVC and hotpatch-link write), 0x00 or 0x90. Multi-byte NOPs are filler only after an
 * unconditional transfer, which needs the bytes around them (hp_site_analyze decides that).
 */
HP_API int hp_site_is_filler(uint8_t byte);
/** The filler every part writes where it chooses: 0xCC (int3), so that stray execution traps. */
#define HP_FILLER_PREFERRED 0xCCu

/*
 * The one vocabulary of the reasons: identifier and explanation, used by hp_site_reason_str() and
 * hp_site_reason_text(), by the audit's check table (HP1001..HP1012 carry these names) and by
 * hotpatch-link's messages and map. Identifiers are permanent.
 */
#define HP_SITE_ID_OK "ok"
#define HP_SITE_TEXT_OK "patchable"
#define HP_SITE_ID_PADDING_SHORT "padding-short"
#define HP_SITE_TEXT_PADDING_SHORT "fewer bytes exist before the entry than the required padding: no room for the long jump"
#define HP_SITE_ID_PADDING_NOT_FILLER "padding-not-filler"
#define HP_SITE_TEXT_PADDING_NOT_FILLER \
    "a byte of the padding is code or data, not filler (0xCC, 0x00, 0x90, or NOPs after a jump)"
#define HP_SITE_ID_ENTRY_SHORT "entry-short"
#define HP_SITE_TEXT_ENTRY_SHORT "the first instruction is 1 byte: one atomic 2-byte write cannot replace it"
#define HP_SITE_ID_ENTRY_CROSSES_LINE "entry-crosses-line"
#define HP_SITE_TEXT_ENTRY_CROSSES_LINE \
    "the 2 entry bytes straddle a 64-byte cache line: the 16-bit store would not be atomic"
#define HP_SITE_ID_ENTRY_INVALID "entry-invalid"
#define HP_SITE_TEXT_ENTRY_INVALID "the bytes at the entry do not decode as an instruction"
#define HP_SITE_ID_TRUNCATED "truncated"
#define HP_SITE_TEXT_TRUNCATED "the function's bytes end before its first instruction does"
#define HP_SITE_ID_ENDBR_ENTRY_SHORT "endbr-entry-short"
#define HP_SITE_TEXT_ENDBR_ENTRY_SHORT "the entry is endbr32/endbr64 but the instruction after it is 1 byte"
#define HP_SITE_ID_PATCHED "patched"
#define HP_SITE_TEXT_PATCHED "the entry is already redirected by this protocol (short jump into the padding)"
#define HP_SITE_ID_REDIRECTED "redirected"
#define HP_SITE_TEXT_REDIRECTED "the entry is a jump placed by something else (a hook or thunk)"
#define HP_SITE_ID_BRANCH_TO_ENTRY_1 "branch-to-entry-1"
#define HP_SITE_TEXT_BRANCH_TO_ENTRY_1 "a branch inside the function targets entry+1, which the 2-byte swap overwrites"
#define HP_SITE_ID_PREVIOUSLY_PATCHED "previously-patched"
#define HP_SITE_TEXT_PREVIOUSLY_PATCHED \
    "the padding holds what looks like this protocol's long jump and the entry is intact: patched before, or code " \
    "of the function before; never rewritten"
#define HP_SITE_ID_BAD_MACHINE "bad-machine"
#define HP_SITE_TEXT_BAD_MACHINE "the machine is not x86 or x86-64"

/** Short stable identifier of a reason ("padding-short", HP_SITE_ID_*); never NULL. */
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
 * Live only (hp_probe): the target given is a thunk that leads to the function analysed — an import
 * thunk `jmp [cell]` through its image's import address table (what `&f` is for a DLL function
 * declared without dllimport), or an entry of an incremental-link table of `jmp rel32`. hp_apply,
 * hp_txn_apply and hp_lookup follow it the same way. Windows only; any other jump at an entry is
 * refused (HP_ERR_REDIRECTED).
 */
#define HP_SITE_F_THUNK       0x20u

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

/*
 * Statuses of the engine functions below. Every one may also return HP_ERR_UNSUPPORTED on a machine
 * the engine does not patch (only x86 and x86-64 are). The ones that read live code may return
 * HP_ERR_ARGUMENT for a target that is not in readable, executable memory, and HP_ERR_IO when the OS
 * cannot tell the protections (Linux: /proc/self/maps unreadable). Those that change code return
 * HP_ERR_PROTECT when the OS refuses a protection change (W^X policy, SELinux execmem, ACG) and
 * HP_ERR_NO_MEMORY when the heap is exhausted. A call that fails has changed nothing.
 */

/**
 * Would `target` patch? Runs the site rules on the live bytes of this process
 * (with the default padding). Writes nothing. A thunk at `target` is followed to
 * the function it leads to, which is analysed (out_site->flags has HP_SITE_F_THUNK).
 * For a site this runtime has patched, the answer comes from its record, not
 * from the rules again: the analysis made when the site was first patched, with
 * the reason (HP_SITE_PATCHED, HP_SITE_PREVIOUSLY_PATCHED) and the entry bytes
 * of now.
 * @param out_site receives the analysis (may be NULL).
 * @return HP_OK; HP_ERR_NOT_PATCHABLE (out_site->reason says why); HP_ERR_ALREADY_PATCHED (redirected
 *         by this runtime); HP_ERR_REDIRECTED (by someone else); HP_ERR_ARGUMENT (NULL, or not code);
 *         HP_ERR_NO_MEMORY; HP_ERR_IO; HP_ERR_UNSUPPORTED.
 */
HP_API hp_status hp_probe(const void *target, hp_site *out_site);

/**
 * Redirect every call of `target` to `replacement` (a one-entry transaction). When `target` is a
 * thunk (HP_SITE_F_THUNK: an import thunk, as `&f` of a DLL function declared without dllimport
 * gives), the function it leads to is patched, so calls through the thunk and direct calls alike
 * are redirected.
 * @param out_original receives a callable pointer to the original behaviour before the redirection
 *                     becomes visible; valid for the life of the process (may be NULL).
 * @param out_patch receives the handle before the redirection becomes visible (may be NULL: hp_lookup()
 *                  finds the handle later).
 * @return HP_OK; HP_ERR_ARGUMENT (NULL, `replacement` == `target` or the function a thunk at `target`
 *         leads to, or not code); HP_ERR_NOT_PATCHABLE;
 *         HP_ERR_ALREADY_PATCHED; HP_ERR_REDIRECTED; HP_ERR_RELOCATE (the first instruction cannot be
 *         moved into a trampoline); HP_ERR_NO_SLOT_MEMORY (nothing free within ±2 GiB of `target`);
 *         HP_ERR_PROTECT; HP_ERR_NO_MEMORY; HP_ERR_IO; HP_ERR_UNSUPPORTED. The out pointers are written
 *         only on HP_OK.
 */
HP_API hp_status hp_apply(void *target, const void *replacement, void **out_original, hp_patch **out_patch);

/**
 * Restore the original entry of `patch` and free the handle.
 * @return HP_OK; HP_ERR_ARGUMENT (NULL, or the code is not mapped any more); HP_ERR_STALE_HANDLE (not a
 *         live patch of this runtime: removed, or never one); HP_ERR_REDIRECTED (something else has
 *         rewritten the entry since: nothing is written, the handle stays live); HP_ERR_PROTECT;
 *         HP_ERR_NO_MEMORY; HP_ERR_IO; HP_ERR_UNSUPPORTED.
 */
HP_API hp_status hp_remove(hp_patch *patch);

/**
 * Atomically switch a live patch to another replacement (one aligned pointer store).
 * @return HP_OK; HP_ERR_ARGUMENT (NULL, or `replacement` is the patched function itself);
 *         HP_ERR_STALE_HANDLE; HP_ERR_PROTECT; HP_ERR_NO_MEMORY; HP_ERR_IO; HP_ERR_UNSUPPORTED.
 */
HP_API hp_status hp_retarget(hp_patch *patch, const void *replacement);

/** Callable pointer to the original behaviour of `patch`; NULL for a NULL handle. Takes no lock. */
HP_API void *hp_original(const hp_patch *patch);

/**
 * The live patch of `target`: the handle hp_apply() or hp_txn_apply() made for it (also when that
 * call was given out_patch = NULL), so that any patch can be retargeted or removed. Answers from
 * the runtime's own records (applied and not removed); code is read only when `target` is not a
 * site of the records but lies in a loaded image, to follow a thunk there as hp_apply() does. When
 * something else has rewritten the entry since, hp_remove() of the handle says HP_ERR_REDIRECTED.
 * Takes the engine lock.
 * @param target the function's entry, or a thunk that leads to it, as given to hp_apply().
 * @param out_patch receives the handle, or NULL when there is none (must not be NULL).
 * @return HP_OK; HP_ERR_NOT_PATCHED (`target` is not redirected by this runtime: never patched,
 *         removed, or not a function); HP_ERR_ARGUMENT (a NULL argument); HP_ERR_UNSUPPORTED.
 */
HP_API hp_status hp_lookup(const void *target, hp_patch **out_patch);

/**
 * Start a transaction.
 * @param out_txn receives the transaction (must not be NULL); free it with hp_txn_commit() or
 *                hp_txn_abort().
 * @return HP_OK; HP_ERR_ARGUMENT; HP_ERR_NO_MEMORY.
 */
HP_API hp_status hp_txn_begin(hp_txn **out_txn);
/**
 * Add a redirection to a transaction; *out_original and *out_patch are stored at commit, before the swap.
 * The entry is checked now (the status names the bad entry; the first failure makes the commit fail with
 * it) and again by the commit. A thunk at `target` is followed now (see hp_apply()).
 * @return HP_OK; HP_ERR_TXN_STATE (an earlier add failed); HP_ERR_DUPLICATE (the transaction already
 *         has an operation on this function, also when reached through a thunk; should another thread
 *         add the same function to a transaction of its own meanwhile, the commit refuses instead); the
 *         statuses of hp_apply() that checking the entry can give: HP_ERR_ARGUMENT (also a NULL `txn`),
 *         HP_ERR_NOT_PATCHABLE, HP_ERR_ALREADY_PATCHED, HP_ERR_REDIRECTED, HP_ERR_NO_MEMORY, HP_ERR_IO,
 *         HP_ERR_UNSUPPORTED.
 */
HP_API hp_status hp_txn_apply(hp_txn *txn, void *target, const void *replacement, void **out_original,
                       hp_patch **out_patch);
/**
 * Add a removal to a transaction (checked now and again by the commit).
 * @return HP_OK; HP_ERR_TXN_STATE (an earlier add failed); HP_ERR_DUPLICATE (the transaction already
 *         has an operation on this function); HP_ERR_ARGUMENT; HP_ERR_STALE_HANDLE; HP_ERR_REDIRECTED;
 *         HP_ERR_NO_MEMORY; HP_ERR_UNSUPPORTED.
 */
HP_API hp_status hp_txn_remove(hp_txn *txn, hp_patch *patch);
/**
 * Apply everything or nothing; frees `txn` in every case. Handles are live only after HP_OK.
 * @return HP_OK (also for an empty transaction); HP_ERR_ARGUMENT (NULL `txn`); the first failure of
 *         hp_txn_apply()/hp_txn_remove() on this transaction (HP_ERR_DUPLICATE among them: a function
 *         added twice is refused by the add); otherwise what hp_apply() and hp_remove() return, for
 *         the first operation that fails.
 */
HP_API hp_status hp_txn_commit(hp_txn *txn);
/** Drop a transaction without applying anything; NULL is a no-op. */
HP_API void hp_txn_abort(hp_txn *txn);

/* ------------------------------------------------------------------------- */
/* Patch modules                                                              */
/* ------------------------------------------------------------------------- */

/*
 * A patch module ("fix") is a DLL / shared object built from corrected source in the plugin's fix
 * mode; its manifest (hotpatch_fix.h) binds it to one build of one image. hp_module_load() applies
 * all its functions in one transaction or nothing; hp_module_unload() reverts them. Several modules
 * may replace one function: the newest is in force, unloading any of them in any order leaves
 * exactly the others' code in force, and HP_PREVIOUS() in a fix calls the version it replaced.
 *
 * Stacking: the engine keeps one patch per function (hp_module_entry_info.patch); a module loaded
 * over another's function retargets it, and its PREVIOUS slots get the replacement that was in
 * force. Unloading the newest one retargets the patch to the one below (or removes the patch when
 * none is left); unloading one from below rewrites the PREVIOUS slots of the one above it to what
 * the unloaded one's held. Patches a module made belong to the module API: after an hp_remove() of
 * one behind its back, a later load or unload over that function refuses (HP_ERR_REDIRECTED); an
 * hp_retarget() of one is undone by the next load or unload over it.
 *
 * Thread-safety: every function here may be called from any thread. Modules have a lock of their
 * own over their registry, taken before the engine's (never the other way round); a load holds it
 * from LoadLibrary / dlopen on, an unload throughout. So these functions must not be called from a
 * module's DllMain or ELF constructors/destructors (the OS loader's lock is held there); the
 * verify callback runs without the lock.
 */

/** Opaque loaded patch module. */
typedef struct hp_module hp_module;

/**
 * Called by hp_module_load() before the module is loaded or anything is applied: the documented
 * place to check a signature. `manifest` holds the bytes of the module file's manifest section as
 * stored in the file (already checked against the file's own image); the manifest of the module
 * once loaded must say the same, or the load is refused (HP_ERR_MODULE). Return nonzero to go on,
 * 0 to refuse (HP_ERR_REFUSED; nothing is loaded).
 */
typedef int (*hp_module_verify_fn)(void *ctx, const char *path, const void *manifest, size_t manifest_size);

/** hp_module_options.flags: keep the module's code mapped after hp_module_unload() (see there). */
#define HP_MODULE_KEEP_LOADED 0x1u

/** Options of hp_module_load(); zero-initialise, then set what you need. NULL means all defaults. */
typedef struct hp_module_options {
    uint32_t flags;             /**< HP_MODULE_* */
    hp_module_verify_fn verify; /**< may be NULL */
    void *verify_ctx;           /**< passed to verify */
    const void *target;         /**< any address in the target image: use it instead of finding the
                                     image by its name (PE: GetModuleHandle, a DLL or the program) or
                                     build-id (ELF: the loaded object whose NT_GNU_BUILD_ID note is the
                                     manifest's); its identity is checked all the same; may be NULL */
    char *message;              /**< receives a one-line explanation of a failure (naming the entry,
                                     the symbol or the field); may be NULL */
    size_t message_size;        /**< bytes of `message` */
} hp_module_options;

/**
 * Load the patch module at `path` and apply it: read its manifest from the file, call the verify
 * callback, load it (LoadLibrary / dlopen), find the target image among the loaded ones, check the
 * image's identity and every entry's hash, fill every slot, then redirect every entry in one
 * transaction (entries another module replaces already: retargeted to this one after it, see
 * "Stacking"). On any failure nothing is applied and the module is unloaded again. A `path` that
 * is a bare file name ("fix.dll") names a file in the program's own directory (where LoadLibrary
 * looks first), never one found elsewhere; any other relative path is taken from the current
 * directory. The file read and checked is the file loaded.
 *
 * Checked before anything is loaded: the module is a PE (Windows) / ELF shared object (Linux) of
 * this process's machine; every fragment of its manifest has the magic, a known version, sizes and
 * counts that fit the section, HP_FIX_F_CHECKED and no unknown flag, reserved fields zero, this
 * process's format and machine as the target's, the same target and identity as the others; every
 * pointer lies in the module's image (a replacement in its code, a slot in its writable data,
 * pointer-aligned; names are strings); no function twice; a PREVIOUS slot for a function it
 * replaces; 1 <= hash_len <= 16 MiB. Then in the target: every entry's [RVA, RVA + hash_len) lies
 * in its code, hashes as the release image file has it (where the engine redirects the function
 * now, the two entry bytes it saved stand in for its short jump; PE bytes the loader relocated count
 * with the file's values), and is patchable; every SYMBOL slot's
 * [RVA, RVA + size) lies in the image.
 * @param out receives the module (must not be NULL); written only on HP_OK.
 * @return HP_OK; HP_ERR_ARGUMENT (NULL path or out); HP_ERR_IO (the file cannot be read, or the OS
 *         loader refuses it: the message says why); HP_ERR_FORMAT (not a PE / ELF file);
 *         HP_ERR_NO_MANIFEST (no manifest, or one the link step never checked); HP_ERR_MANIFEST_VERSION;
 *         HP_ERR_MODULE (a malformed manifest: sizes, counts, pointers outside the module, fragments for
 *         different targets, an entry twice; a module or manifest for another machine or format; an
 *         entry outside the target's code); HP_ERR_REFUSED (the verify callback); HP_ERR_TARGET_NOT_LOADED;
 *         HP_ERR_IDENTITY (the image found, or a loaded one named like the target, is another build;
 *         ELF: also a manifest without a build-id, "target has no build-id"); HP_ERR_HASH (the message
 *         names the entry); HP_ERR_NOT_PATCHABLE (a target the site rules refuse, or a thunk: the
 *         message names it); HP_ERR_ALREADY_PATCHED (a target redirected by hp_apply() rather than by a
 *         module, or this module loaded already); HP_ERR_REDIRECTED (a target redirected by someone
 *         else, or a module's patch changed behind the module API); the statuses of hp_txn_commit()
 *         and hp_retarget(); HP_ERR_NO_MEMORY; HP_ERR_UNSUPPORTED.
 */
HP_API hp_status hp_module_load(const char *path, const hp_module_options *opts, hp_module **out);

/**
 * Revert every entry of `mod` (in one transaction: where another module replaced the same function
 * too, the newest remaining one is in force again), then unload the module and free `mod`. Modules
 * may be unloaded in any order. A thread still running the module's code when it is unloaded would
 * crash: with HP_MODULE_KEEP_LOADED (given to hp_module_load()) the code stays mapped (the module
 * is never unloaded by the OS) and only the handle is freed.
 * @return HP_OK; HP_ERR_ARGUMENT (NULL); HP_ERR_STALE_HANDLE (not a loaded module);
 *         HP_ERR_REDIRECTED (something else rewrote an entry since: nothing is reverted, `mod` stays
 *         loaded); HP_ERR_PROTECT; HP_ERR_NO_MEMORY (on every failure `mod` stays loaded and applied).
 */
HP_API hp_status hp_module_unload(hp_module *mod);

/** What hp_module_info() tells about a loaded module. Strings live as long as the module. */
typedef struct hp_module_summary {
    const char *path;        /**< as given to hp_module_load() */
    const char *target_name; /**< the target image's name from the manifest */
    const void *target_base; /**< where the target image is loaded: the address of its RVA 0 */
    size_t entry_count;      /**< functions replaced */
    size_t slot_count;       /**< slots filled */
} hp_module_summary;

/** One entry of a loaded module. */
typedef struct hp_module_entry_info {
    const char *name;        /**< the function ("unit:name" for a file-static one) */
    void *target;            /**< its entry in the target image */
    const void *replacement; /**< the module's code */
    hp_patch *patch;         /**< the engine's patch of `target` (shared by all modules stacked on it) */
} hp_module_entry_info;

/**
 * Describe a loaded module.
 * @return HP_OK; HP_ERR_ARGUMENT (NULL); HP_ERR_STALE_HANDLE (not a loaded module).
 */
HP_API hp_status hp_module_info(const hp_module *mod, hp_module_summary *out);

/**
 * Describe entry `index` (0 .. entry_count-1) of a loaded module.
 * @return HP_OK; HP_ERR_ARGUMENT (NULL, or `index` out of range); HP_ERR_STALE_HANDLE.
 */
HP_API hp_status hp_module_entry(const hp_module *mod, size_t index, hp_module_entry_info *out);

#ifdef __cplusplus
}
#endif

#endif /* HOTPATCH_H */
