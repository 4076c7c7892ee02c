/*
 * source_db.h — layer 13 of the audit library (audit/README.md, "Source layout"),
 * the source audit's inputs: the translation units of a compilation database
 * (through libclang's CXCompilationDatabase), each with the argument vector
 * libclang parses it with and the hotpatch plugin's options its command
 * gives; and the exported names of module-definition files (.def).
 *
 * May call: arena (and libclang's compilation database, hp_tools).
 */
#ifndef HPA_SOURCE_DB_H
#define HPA_SOURCE_DB_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "hp_audit.h"

/** One translation unit: what libclang parses, and the plugin's policy as its command sets it. */
typedef struct hpa_src_unit {
    const char *file;          /* the source file, absolute (the command's directory applied) */
    const char *const *argv;   /* for clang_parseTranslationUnit2FullArgv: argv[0] the compiler, then
                                  -working-directory and -w, then the command's arguments without the
                                  plugin's and the dependency-file options; NULL-terminated */
    int argc;
    int cpp;                   /* C++ (by its extension or -x c++): names are the mangled ones */
    /* the hotpatch plugin as this command loads it (-fplugin=...hotpatch..., -Xclang -load) */
    int plugin;                /* 1: the command loads the plugin */
    const char *const *exclude; /* exclude= globs, in command order */
    size_t exclude_count;
    int scope_exported;        /* scope=exported */
    uint32_t pad;              /* pad=N (1..64), 0 when not given */
    int entry_widen;           /* entry=widen */
    int noinline_exported;     /* noinline-exported */
    int pfe_given;             /* -fpatchable-function-entry=N[,M] with N > 0 */
    uint32_t pfe_count, pfe_offset; /* N, M */
    int func_sanitize;         /* -fsanitize= asks for the function sanitizer (function, or undefined) */
} hpa_src_unit;

/** A compilation database, read. Everything is owned by it (its arena). */
typedef struct hpa_src_db {
    hpa_src_unit *units;
    size_t count, cap;
    size_t skipped;            /* commands of files that are not C or C++ (assembly, resources) */
    hpa_arena arena;
} hpa_src_db;

/**
 * Read the compilation database `path` (a compile_commands.json, or a directory holding one).
 * @return HP_OK; HP_ERR_IO (cannot be read) or HP_ERR_FORMAT (not a JSON compilation database) with a
 *         message naming `path`; HP_ERR_NO_MEMORY. On failure `db` holds nothing.
 */
hp_status hpa_src_db_load(hpa_src_db *db, const char *path, char *msg, size_t msg_size);
/** Free what hpa_src_db_load() made; a zeroed db is a no-op. */
void hpa_src_db_free(hpa_src_db *db);

/** A set of names (exports), sorted once filled. */
typedef struct hpa_src_names {
    const char **names;
    size_t count, cap;
    hpa_arena arena;
} hpa_src_names;

/**
 * Add the names a module-definition file exports: the lines of its EXPORTS section, `name`,
 * `name=internal` (both names), with `@ordinal`, `NONAME`, `DATA`, `PRIVATE` ignored; `;` comments.
 * @return HP_OK; HP_ERR_IO with a message naming the file; HP_ERR_NO_MEMORY.
 */
hp_status hpa_src_def_load(hpa_src_names *n, const char *path, char *msg, size_t msg_size);
/** Add one name (copied). @return 1, or 0 when out of memory. */
int hpa_src_names_add(hpa_src_names *n, const char *name, size_t len);
/** Sort the names and drop duplicates: call once all are added, before hpa_src_names_has(). */
void hpa_src_names_sort(hpa_src_names *n);
/** 1 when `name` is one of the (sorted) names. */
int hpa_src_names_has(const hpa_src_names *n, const char *name);
/** Free the set; a zeroed set is a no-op. */
void hpa_src_names_free(hpa_src_names *n);

#endif /* HPA_SOURCE_DB_H */
