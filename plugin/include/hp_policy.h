/*
 * hp_policy.h — the hotpatch policy core: decides which functions of an LLVM
 * module become hotpatchable, sets the IR attributes that make codegen emit the
 * site (padding before the entry, a 2-byte NOP at it) and writes the table of
 * patchable functions (runtime/include/hotpatch_table.h).
 *
 * Written in C against LLVM-C only, so that the clang plugin's C++ shell
 * (plugin/src/plugin.cpp) and the post-link pass (lld-pass/, which rewrites
 * LTO bitcode compiled without the plugin) apply the same policy.
 *
 * The core never prints: diagnostics go through the host's report callback,
 * and the host decides their severity (clang's -w/-Werror, the plugin's own
 * switches are applied before the callback is called).
 *
 * Thread-safety: a policy is immutable after configuration; hp_policy_instrument
 * and hp_policy_emit_table may run concurrently on different modules (each
 * module belongs to one LLVM context, used by one thread at a time).
 *
 * Errors: every fallible call returns an hp_status (hotpatch.h; names from
 * hp_status_str() of libhotpatch — the plugin itself never calls into it).
 * Messages are handed back in a caller's buffer (char *msg, size_t msg_size).
 * The core is built without sanitizers whatever the build: it is loaded into
 * clang with the plugin.
 */
#ifndef HP_POLICY_H
#define HP_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include <llvm-c/Types.h>

#include "hotpatch.h" /* hp_status: the one status type of every part */

#ifdef __cplusplus
extern "C" {
#endif

/** Opaque policy (the parsed options). Created by hp_policy_create, freed by hp_policy_destroy. */
typedef struct hp_policy hp_policy;

/** Which functions are selected (option scope=). */
typedef enum hp_policy_scope {
    HP_POLICY_SCOPE_ALL = 0,      /**< every function defined in the module (default) */
    HP_POLICY_SCOPE_EXPORTED = 1, /**< dllexport on COFF targets, external default visibility on ELF */
} hp_policy_scope;

/** What the entry looks like (option entry=). */
typedef enum hp_policy_entry {
    HP_POLICY_ENTRY_NOP = 0,   /**< a 2-byte NOP (66 90) at the entry: original = entry + 2 (default) */
    HP_POLICY_ENTRY_WIDEN = 1, /**< clang's own /hotpatch: first instruction widened to >= 2 bytes */
} hp_policy_entry;

/** CET handling (option cet=). */
typedef enum hp_policy_cet {
    HP_POLICY_CET_AUTO = 0, /**< follow the module: with -fcf-protection=branch endbr stays first, the NOP follows */
    HP_POLICY_CET_ON = 1,   /**< turn IBT landing pads on for the module (as -fcf-protection=branch) */
    HP_POLICY_CET_OFF = 2,  /**< instrumented functions get nocf_check: no endbr, the NOP is at the entry */
} hp_policy_cet;

/** Diagnostics the core reports; each can be disabled (hp_policy_set_option "no-warn-<name>"). */
typedef enum hp_policy_diag {
    HP_POLICY_DIAG_NAKED = 0,    /**< naked function: no prologue to patch, left alone ("naked") */
    HP_POLICY_DIAG_CONFLICT = 1, /**< explicit patchable_function_entry conflicts ("conflict"); clang 19 has no
                                      ms_hook_prologue, and -fms-hotpatch is a policy input, not a conflict */
    HP_POLICY_DIAG_PAD = 2,      /**< pad= too small for the target's long jump ("pad") */
    HP_POLICY_DIAG_SKIPPED = 3,  /**< anything else the core had to skip ("skipped") */
    HP_POLICY_DIAG_VERBOSE = 4,  /**< per-function remark, only with the option "verbose" */
    HP_POLICY_DIAG_FIX_NOTE = 5, /**< fix mode: what the fix replaces and what it brings of its own (a remark) */
    HP_POLICY_DIAG_FIX_ERROR = 6, /**< fix mode: what a fix cannot be built with (an error) */
    HP_POLICY_DIAG_COUNT_ = 7
} hp_policy_diag;

/** Facts from the source (the AST) that the IR alone cannot tell; see hp_policy_host.decl_flags. */
#define HP_POLICY_DECL_KNOWN 0x01u         /**< the host knows this function (other bits are meaningful) */
#define HP_POLICY_DECL_EXPLICIT_PFE 0x02u  /**< __attribute__((patchable_function_entry(...))) written, even (0) */

/**
 * The host's side of a run. Every member may be NULL.
 */
typedef struct hp_policy_host {
    void *ctx; /**< passed back to the callbacks */
    /**
     * Source facts about `fn` (HP_POLICY_DECL_*), 0 when unknown. Without this
     * callback, IR attributes are taken as written by the user.
     */
    unsigned (*decl_flags)(void *ctx, LLVMValueRef fn);
    /**
     * A diagnostic. `fn` is the function concerned, or NULL for the whole
     * module. `message` is lower-case, without a trailing period, and valid
     * only during the call. Not called for diagnostics the options disabled.
     */
    void (*report)(void *ctx, hp_policy_diag diag, LLVMValueRef fn, const char *message);
    /**
     * Fix mode: turn every constant expression that uses `global` inside an instruction into
     * instructions (LLVM-C cannot), so that each use of `global` is an instruction operand or a
     * global's initializer. Required by hp_policy_fix().
     */
    void (*expand_constant_users)(void *ctx, LLVMValueRef global);
    /** Fix mode: delete the body of `fn` (a definition), leaving a declaration. Required by hp_policy_fix(). */
    void (*delete_body)(void *ctx, LLVMValueRef fn);
} hp_policy_host;

/** Counters of one run (callers own the storage). */
typedef struct hp_policy_stats {
    uint32_t defined;      /**< functions with a body seen */
    uint32_t instrumented; /**< functions given (or found with) a hotpatchable site */
    uint32_t skipped;      /**< functions left alone (scope, exclude, naked, conflict) */
    uint32_t records;      /**< table records written (hp_policy_emit_table) */
} hp_policy_stats;

/**
 * Create a policy with the defaults: pad = target default, scope=all,
 * entry=nop, cet=auto, table=on, no noinline-exported, not verbose.
 * @param out receives the policy (not NULL); free with hp_policy_destroy.
 * @return HP_OK; HP_ERR_ARGUMENT (out is NULL); HP_ERR_NO_MEMORY.
 */
hp_status hp_policy_create(hp_policy **out);

/** Free a policy; NULL is a no-op. */
void hp_policy_destroy(hp_policy *policy);

/**
 * Apply one option as written after `-fplugin-arg-hotpatch-`: "NAME=VALUE" or
 * "NAME" for switches. Options: pad=N (1..64, not 63; below the target's
 * minimum it is raised to it, with an HP_POLICY_DIAG_PAD report),
 * scope=all|exported, exclude=GLOB (repeatable; hp_glob_match's dialect),
 * entry=nop|widen, cet=auto|on|off, table=on|off, noinline-exported, verbose,
 * no-warn-naked, no-warn-conflict, no-warn-pad, no-warn-skipped.
 * @param msg receives a one-line message on failure (lower-case, no period);
 *            may be NULL; a message cut to msg_size ends in "...".
 * @return HP_OK; HP_ERR_ARGUMENT (policy or arg NULL); HP_ERR_USAGE (unknown
 *         option name, a value missing or given to a switch); HP_ERR_BAD_VALUE
 *         (value malformed or out of range); HP_ERR_NO_MEMORY.
 */
hp_status hp_policy_set_option(hp_policy *policy, const char *arg, char *msg, size_t msg_size);

/**
 * Tell the policy whether codegen gives every function a section of its own
 * (-ffunction-sections, and every LTO link). On COFF, a function without a
 * COMDAT is then put in a no-deduplicate COMDAT of its own so that its record
 * can be associative (dropped with the function by /OPT:REF). Without function
 * sections all such functions share .text, which is never collected, and their
 * records share one plain .hotp$m section: fewer sections, faster builds.
 * Default: on (safe when unknown).
 */
void hp_policy_set_function_sections(hp_policy *policy, int on);

/**
 * Tell the policy whether the module goes straight to machine code (an object
 * or assembly file, no bitcode, no LTO). On COFF the records of functions
 * without a COMDAT are then written as module assembly, one block of `.rva`
 * entries (table format 3) — the cheapest form to compile. Under LTO or when
 * the output is IR the table stays IR (runs of format 2), which the IR linker
 * can rename and drop with its functions. Default: off (safe when unknown).
 */
void hp_policy_set_object_output(hp_policy *policy, int on);

/**
 * Tell the policy whether functions may carry -fsanitize=function type data
 * (`!func_sanitize`), which codegen emits right before the entry, where the
 * padding must be: such functions are skipped with an HP_POLICY_DIAG_SKIPPED
 * report. Default: on (every function is checked); the plugin turns it off
 * when the sanitizer is not enabled, which saves the check.
 */
void hp_policy_set_function_sanitizer(hp_policy *policy, int on);

/** Is fix mode on (the option fix-for= was given)? */
int hp_policy_fix_mode(const hp_policy *policy);

/**
 * Fix mode (plugin/README.md, "Fix mode"), at pipeline start before hp_policy_instrument: the
 * functions named by fix-functions= that this translation unit defines become the replacements of
 * a patch module; every other function and every variable that the unit defines or declares and
 * the target's map (fix-for=) also has is not emitted: each use becomes a load of its address from
 * a pointer slot of the module that the runtime fills; HP_PREVIOUS(f) becomes a slot for the
 * version f replaced. What the target lacks stays the fix's own and is reported
 * (HP_POLICY_DIAG_FIX_NOTE). Writes the unit's manifest fragment (hotpatch_fix.h) into section
 * .hpfix. Errors (a variable of another size, a replacement the target lacks or cannot patch, a
 * unit the map does not know, ...) are reported as HP_POLICY_DIAG_FIX_ERROR, naming the symbol.
 * @return HP_OK (also when not in fix mode); HP_ERR_BAD_VALUE when an error was reported (the
 *         module is then unusable); HP_ERR_ARGUMENT (NULL, or a host without the fix callbacks);
 *         HP_ERR_NO_MEMORY.
 */
hp_status hp_policy_fix(const hp_policy *policy, LLVMModuleRef module, const hp_policy_host *host);

/**
 * The unit symbols of a release build (COFF objects compiled straight to machine code; not in fix
 * mode; plugin/src/units.c): a label naming the translation unit (relative to source-root=) and local
 * aliases of its file-statics and variables carrying the unit and each variable's size, which lld
 * keeps in the image's COFF symbol table and hotpatch-link reads into the map's units and symbols.
 * No code or data is added. ELF needs none: its symbol table has files and sizes.
 * @return HP_OK (also when nothing is written); HP_ERR_NO_MEMORY.
 */
hp_status hp_policy_emit_units(const hp_policy *policy, LLVMModuleRef module);

/** Is `name` matched by at least one exclude= glob of the policy? (`*`, `?`, `[a-z]`, `[!a]`) */
int hp_policy_excluded(const hp_policy *policy, const char *name);

/**
 * Phase 1, at pipeline start: choose the functions and give each its padding
 * (prefix data: int3 bytes CC CC ..., or `patchable-function-prefix` under KCFI or
 * when the function has prefix data of its own) and its entry (prologue data
 * `66 90`, or `patchable-function-entry` under CET, or `patchable-function`
 * for entry=widen), alignment, `noinline`, `nocf_check`, and the marker string
 * attribute `hotpatch` where the padding is an attribute. Idempotent: functions
 * already instrumented are left alone. Modules of targets other than x86/x86-64 COFF/ELF are left unchanged
 * (one HP_POLICY_DIAG_SKIPPED report).
 * @param host may be NULL. @param stats may be NULL; counts are added to it.
 * @return HP_OK; HP_ERR_ARGUMENT (policy or module NULL); HP_ERR_NO_MEMORY.
 */
hp_status hp_policy_instrument(const hp_policy *policy, LLVMModuleRef module, const hp_policy_host *host,
                               hp_policy_stats *stats);

/**
 * Phase 2, as late as possible before codegen (optimizer last): write one
 * table record for every function marked by phase 1 that still exists, so
 * that functions the optimizer removed are not kept alive by the table.
 * Idempotent (a module is given its records once). Does nothing with table=off.
 * @param stats may be NULL; records are added to it.
 * @return HP_OK; HP_ERR_ARGUMENT (policy or module NULL); HP_ERR_NO_MEMORY
 *         (the module may then hold part of the table).
 */
hp_status hp_policy_emit_table(const hp_policy *policy, LLVMModuleRef module, hp_policy_stats *stats);

#ifdef __cplusplus
}
#endif

#endif /* HP_POLICY_H */
