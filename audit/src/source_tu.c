/*
 * source_tu.c — layer 14 of the audit library (audit/README.md, "Source layout"):
 * one translation unit of the source audit. libclang parses it with its own
 * command (clang_parseTranslationUnit2FullArgv); the walk visits the
 * declarations at file scope (and in extern "C" blocks and namespaces) outside
 * system headers, and never the inside of a function body except its first
 * statements. Attributes libclang does not expose (naked, always_inline,
 * noinline, patchable_function_entry) are read by their name in the source
 * at the attribute's spelling location, so a macro that spells them counts.
 *
 * May call: source_db, arena (and libclang's index, hp_tools).
 */
#define _XOPEN_SOURCE 700 /* realpath, mkdtemp */
#include <clang-c/Index.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "arena.h"
#include "hp_tools.h"
#include "source_db.h"
#include "source_tu.h"

/* Files whose real path is known, per unit (few files hold what is recorded). */
#define FILE_CACHE 16

typedef struct walk {
    const hpa_src_unit *u;
    uint32_t unit_no;
    const hpa_src_names *defs;
    hpa_src_scan *out;
    CXTranslationUnit tu;
    int coff;           /* a Windows target: dllexport and .def exports */
    int plugin;         /* the plugin instruments this unit (it loads the plugin and does not skip the unit) */
    int asm_matters;    /* nothing puts a 2-byte NOP before a function's own first instruction */
    uint32_t pad;       /* the padding the plugin wants here */
    struct {
        CXFile file;
        const char *path;
    } files[FILE_CACHE];
    size_t file_count, file_next;
} walk;

/* What the attributes of one declaration say. */
typedef struct attrs {
    int dllexport, naked, always_inline, noinline;
    int pfe, pfe_parsed;     /* patchable_function_entry present, and its arguments read */
    uint32_t pfe_count, pfe_offset;
    const char *asm_label;   /* asm("name") (scan arena) */
    CXCursor body;           /* the CompoundStmt of a definition */
    int has_body;
} attrs;

static hpa_src_fact *add_fact(walk *w, unsigned kind)
{
    hpa_src_scan *s = w->out;
    if (!hp_vec_reserve((void **)&s->facts, &s->cap, s->count, sizeof *s->facts)) {
        s->oom = 1;
        return NULL;
    }
    hpa_src_fact *f = &s->facts[s->count++];
    memset(f, 0, sizeof *f);
    f->kind = kind;
    f->unit = w->unit_no;
    f->pad = w->pad;
    return f;
}

static size_t hash_name(const char *s)
{
    size_t h = 5381;
    while (*s)
        h = h * 33 + (unsigned char)*s++;
    return h;
}

/* Record that this scan has seen `name` exported; 0 when it had already (or memory ran out). */
static int first_export(hpa_src_scan *s, const char *name)
{
    if (2 * (s->exported_count + 1) > s->exported_cap) { /* keep the table at most half full */
        size_t cap = s->exported_cap ? 2 * s->exported_cap : 256;
        const char **t = calloc(cap, sizeof *t);
        if (!t) {
            s->oom = 1;
            return 0;
        }
        for (size_t i = 0; i < s->exported_cap; i++)
            if (s->exported[i]) {
                size_t k = hash_name(s->exported[i]) & (cap - 1);
                while (t[k])
                    k = (k + 1) & (cap - 1);
                t[k] = s->exported[i];
            }
        free(s->exported);
        s->exported = t;
        s->exported_cap = cap;
    }
    size_t k = hash_name(name) & (s->exported_cap - 1);
    for (; s->exported[k]; k = (k + 1) & (s->exported_cap - 1))
        if (strcmp(s->exported[k], name) == 0)
            return 0;
    s->exported[k] = name;
    s->exported_count++;
    return 1;
}

/* A name exported (declared dllexport) in this unit, recorded once per scan. */
static void export_fact(walk *w, const char *name)
{
    if (!name || !first_export(w->out, name))
        return;
    hpa_src_fact *f = add_fact(w, HPA_SRC_EXPORT);
    if (f)
        f->name = name;
}

static const char *keep(walk *w, const char *s)
{
    const char *c = hpa_strdup(&w->out->arena, s);
    if (!c)
        w->out->oom = 1;
    return c;
}

/* The real path of a file of this unit (cached). */
static const char *file_path(walk *w, CXFile file)
{
    if (!file)
        return NULL;
    for (size_t i = 0; i < w->file_count; i++)
        if (clang_File_isEqual(w->files[i].file, file))
            return w->files[i].path;
    CXString rp = clang_File_tryGetRealPathName(file);
    const char *p = clang_getCString(rp);
    const char *path = NULL;
    if (p && *p) {
        path = keep(w, p);
    } else {
        CXString n = clang_getFileName(file);
        char real[PATH_MAX];
        const char *name = clang_getCString(n);
        if (name)
            path = keep(w, realpath(name, real) ? real : name);
        clang_disposeString(n);
    }
    clang_disposeString(rp);
    size_t slot = w->file_count < FILE_CACHE ? w->file_count++ : (w->file_next++ % FILE_CACHE);
    w->files[slot].file = file;
    w->files[slot].path = path;
    return path;
}

/* Where a declaration's name is: the expansion location (a name a macro makes is where the macro is used). */
static void place(walk *w, CXCursor c, hpa_src_fact *f)
{
    CXFile file = NULL;
    unsigned line = 0, column = 0;
    clang_getExpansionLocation(clang_getCursorLocation(c), &file, &line, &column, NULL);
    f->path = file_path(w, file);
    f->line = line;
    f->column = column;
}

/* ------------------------------------------------------------------------- */
/* Attributes                                                                 */
/* ------------------------------------------------------------------------- */

static int ident_char(char c)
{
    return isalnum((unsigned char)c) || c == '_';
}

/* Read a decimal at *p (after blanks); 1 when one was there. */
static int read_uint(const char **p, const char *end, uint32_t *out)
{
    const char *s = *p;
    while (s < end && isspace((unsigned char)*s))
        s++;
    if (s >= end || !isdigit((unsigned char)*s))
        return 0;
    unsigned long v = 0;
    while (s < end && isdigit((unsigned char)*s)) {
        if (v < 0x10000)
            v = v * 10 + (unsigned long)(*s - '0');
        s++;
    }
    *out = (uint32_t)(v > 0xFFFF ? 0xFFFF : v);
    *p = s;
    return 1;
}

static int skip_char(const char **p, const char *end, char c)
{
    const char *s = *p;
    while (s < end && isspace((unsigned char)*s))
        s++;
    if (s >= end || *s != c)
        return 0;
    *p = s + 1;
    return 1;
}

/*
 * Identify an attribute libclang does not expose by the name written at its spelling location (for
 * `__attribute__((naked))` that is `naked`, for `[[gnu::naked]]` the part after the `::`; a macro
 * that spells it is followed to its definition). `__x__` is x; `__forceinline` is always_inline.
 */
static void unexposed_attr(walk *w, CXCursor a, attrs *at)
{
    CXFile file = NULL;
    unsigned offset = 0;
    size_t size = 0;
    clang_getSpellingLocation(clang_getCursorLocation(a), &file, NULL, NULL, &offset);
    const char *text = file ? clang_getFileContents(w->tu, file, &size) : NULL;
    if (!text || offset >= size)
        return;
    const char *p = text + offset, *end = text + size, *q = p;
    while (q < end && ident_char(*q))
        q++;
    if (q + 2 < end && q[0] == ':' && q[1] == ':') { /* a scoped name: the attribute is after the scope */
        p = q + 2;
        for (q = p; q < end && ident_char(*q); q++)
            ;
    }
    const char *name = p;
    size_t n = (size_t)(q - p);
    if (n > 4 && name[0] == '_' && name[1] == '_') {
        name += 2;
        n -= 2;
        if (n > 2 && name[n - 1] == '_' && name[n - 2] == '_')
            n -= 2;
    }
#define IS(word) (n == sizeof word - 1 && memcmp(name, word, n) == 0)
    if (IS("naked"))
        at->naked = 1;
    else if (IS("always_inline") || IS("forceinline"))
        at->always_inline = 1;
    else if (IS("noinline"))
        at->noinline = 1;
    else if (IS("patchable_function_entry")) {
        /* (N[, M]) as literals; arguments a macro or an expression makes are not read */
        const char *s = q;
        uint32_t count = 0, off = 0;
        at->pfe = 1;
        if (skip_char(&s, end, '(') && read_uint(&s, end, &count) &&
            (skip_char(&s, end, ')') ||
             (skip_char(&s, end, ',') && read_uint(&s, end, &off) && skip_char(&s, end, ')')))) {
            at->pfe_parsed = 1;
            at->pfe_count = count;
            at->pfe_offset = off <= count ? off : count;
        }
    }
#undef IS
}

static enum CXChildVisitResult visit_attr(CXCursor c, CXCursor parent, CXClientData data)
{
    (void)parent;
    void **ctx = data;
    walk *w = ctx[0];
    attrs *at = ctx[1];
    switch (clang_getCursorKind(c)) {
    case CXCursor_DLLExport: at->dllexport = 1; break;
    case CXCursor_UnexposedAttr: unexposed_attr(w, c, at); break;
    case CXCursor_AsmLabelAttr: {
        CXString s = clang_getCursorSpelling(c);
        at->asm_label = keep(w, clang_getCString(s));
        clang_disposeString(s);
        break;
    }
    case CXCursor_CompoundStmt:
        at->body = c;
        at->has_body = 1;
        break;
    default: break;
    }
    return CXChildVisit_Continue;
}

static void read_attrs(walk *w, CXCursor c, attrs *at)
{
    void *ctx[2] = {w, at};
    clang_visitChildren(c, visit_attr, ctx);
}

/* ------------------------------------------------------------------------- */
/* The first statement of a body                                              */
/* ------------------------------------------------------------------------- */

static enum CXChildVisitResult find_expr(CXCursor c, CXCursor parent, CXClientData data)
{
    (void)parent;
    if (clang_isExpression(clang_getCursorKind(c))) {
        *(int *)data = 1;
        return CXChildVisit_Break;
    }
    return CXChildVisit_Recurse;
}

/* Does a declaration statement make code (an initialiser, a variable-length array)? */
static int decl_makes_code(CXCursor decl_stmt)
{
    int found = 0;
    clang_visitChildren(decl_stmt, find_expr, &found);
    return found;
}

/* 1 when the first statement that makes code is inline assembly (declarations without an initialiser
   and empty statements make none). */
static enum CXChildVisitResult first_stmt(CXCursor c, CXCursor parent, CXClientData data)
{
    (void)parent;
    int *result = data;
    switch (clang_getCursorKind(c)) {
    case CXCursor_NullStmt: return CXChildVisit_Continue;
    case CXCursor_DeclStmt:
        if (!decl_makes_code(c))
            return CXChildVisit_Continue;
        *result = 0;
        return CXChildVisit_Break;
    case CXCursor_GCCAsmStmt:
    case CXCursor_MSAsmStmt: *result = 1; return CXChildVisit_Break;
    default: *result = 0; return CXChildVisit_Break;
    }
}

static int body_begins_with_asm(CXCursor body)
{
    int result = 0;
    clang_visitChildren(body, first_stmt, &result);
    return result;
}

/* ------------------------------------------------------------------------- */
/* Declarations                                                               */
/* ------------------------------------------------------------------------- */

/* The name the plugin's exclude= and a .def see: C's name (or asm label); C++'s mangled name. */
static const char *decl_name(walk *w, CXCursor c, const attrs *at)
{
    if (at->asm_label)
        return at->asm_label;
    CXString s = w->u->cpp ? clang_Cursor_getMangling(c) : clang_getCursorSpelling(c);
    const char *n = clang_getCString(s);
    const char *k = keep(w, n && n[0] == '\1' ? n + 1 : n ? n : "");
    clang_disposeString(s);
    return k;
}

/* Exported as the plugin's scope=exported and noinline-exported see it: dllexport on Windows, external
   with default visibility on ELF (plugin/src/target.c, hpp_is_exported). */
static int plugin_exported(const walk *w, CXCursor c, const attrs *at)
{
    if (w->coff)
        return at->dllexport;
    return clang_Cursor_getStorageClass(c) != CX_SC_Static && clang_getCursorVisibility(c) == CXVisibility_Default;
}

static void function(walk *w, CXCursor c)
{
    attrs at;
    memset(&at, 0, sizeof at);
    int def = clang_isCursorDefinition(c);
    if (clang_Cursor_hasAttrs(c) || (def && w->asm_matters))
        read_attrs(w, c, &at);
    if (!def) {
        if (at.dllexport)
            export_fact(w, decl_name(w, c, &at));
        return;
    }
    CXSourceLocation loc = clang_getCursorLocation(c);
    int own = clang_Location_isFromMainFile(loc);
    if (own)
        w->out->functions_defined++;
    int is_static = clang_Cursor_getStorageClass(c) == CX_SC_Static;
    unsigned flags = 0;
    const char *name = NULL, *glob = NULL;
    if (at.dllexport)
        flags |= HPA_SRC_F_DLLEXPORT;
    if (at.always_inline)
        flags |= HPA_SRC_F_INLINE | HPA_SRC_F_ALWAYS_INLINE;
    else if (clang_Cursor_isFunctionInlined(c) && !(own && is_static))
        flags |= HPA_SRC_F_INLINE; /* a static inline function of a .c file is no export's */
    if (!own)
        flags |= HPA_SRC_F_HEADER;
    if (at.noinline)
        flags |= HPA_SRC_F_NOINLINE;

    int in_scope = 1;
    if (w->plugin) {
        int exported = plugin_exported(w, c, &at);
        if (w->u->scope_exported && !exported) {
            in_scope = 0;
            /* a .def export without dllexport: the plugin's scope=exported does not see it as exported */
            if (w->coff && w->defs->count) {
                name = decl_name(w, c, &at);
                if (hpa_src_names_has(w->defs, name))
                    flags |= HPA_SRC_F_SCOPE_SKIP;
            }
        }
        if (in_scope && w->u->exclude_count) {
            name = name ? name : decl_name(w, c, &at);
            for (size_t i = 0; name && i < w->u->exclude_count && !glob; i++)
                if (hp_glob_match(w->u->exclude[i], name, strlen(name)))
                    glob = w->u->exclude[i];
            if (glob)
                flags |= HPA_SRC_F_EXCLUDED;
        }
        if (in_scope && !glob && at.pfe) {
            /* the plugin's rule (plugin/src/instrument.c): M bytes before the entry, N-M at it; it needs at
               least its padding before, 2 at, and an entry that can stay in one 64-byte line */
            uint32_t before = at.pfe_offset, at_entry = at.pfe_count - at.pfe_offset;
            if (at.pfe_parsed && (before < w->pad || at_entry < 2 || before % 64 == 63))
                flags |= HPA_SRC_F_ENTRY_CONFLICT;
        }
        if (w->u->noinline_exported && exported && !at.always_inline)
            flags |= HPA_SRC_F_NOINLINE;
    }
    if (in_scope && !glob) {
        if (at.naked)
            flags |= HPA_SRC_F_NAKED;
        else if (w->asm_matters && at.has_body && body_begins_with_asm(at.body))
            flags |= HPA_SRC_F_ASM_ENTRY;
    }
    if (at.dllexport)
        export_fact(w, name = name ? name : decl_name(w, c, &at));
    if (!(flags & (HPA_SRC_F_INLINE | HPA_SRC_F_NAKED | HPA_SRC_F_ASM_ENTRY | HPA_SRC_F_ENTRY_CONFLICT |
                   HPA_SRC_F_EXCLUDED | HPA_SRC_F_SCOPE_SKIP)))
        return;
    hpa_src_fact *f = add_fact(w, HPA_SRC_FUNCTION);
    if (!f)
        return;
    f->flags = flags;
    f->name = name ? name : decl_name(w, c, &at);
    f->detail = glob;
    f->pfe_count = at.pfe_count;
    f->pfe_offset = at.pfe_offset;
    place(w, c, f);
}

static void variable(walk *w, CXCursor c)
{
    enum CX_StorageClass sc = clang_Cursor_getStorageClass(c);
    if (sc == CX_SC_Static || !clang_Cursor_hasVarDeclGlobalStorage(c))
        return;
    attrs at;
    memset(&at, 0, sizeof at);
    if (clang_Cursor_hasAttrs(c))
        read_attrs(w, c, &at);
    const char *name = NULL;
    if (!at.dllexport) {
        if (!w->defs->count)
            return;
        name = decl_name(w, c, &at);
        if (!hpa_src_names_has(w->defs, name))
            return;
    }
    hpa_src_fact *f = add_fact(w, HPA_SRC_VARIABLE);
    if (!f)
        return;
    f->name = name ? name : decl_name(w, c, &at);
    f->flags = (at.dllexport ? HPA_SRC_F_DLLEXPORT : 0) |
               (sc != CX_SC_Extern || clang_isCursorDefinition(c) ? HPA_SRC_F_DEFINITION : 0);
    place(w, c, f);
}

static enum CXChildVisitResult visit_decl(CXCursor c, CXCursor parent, CXClientData data)
{
    (void)parent;
    walk *w = data;
    if (w->out->oom)
        return CXChildVisit_Break;
    if (clang_Location_isInSystemHeader(clang_getCursorLocation(c)))
        return CXChildVisit_Continue; /* the C library's and the SDK's declarations are not the project's */
    switch (clang_getCursorKind(c)) {
    case CXCursor_LinkageSpec:
    case CXCursor_Namespace:
    case CXCursor_UnexposedDecl: return CXChildVisit_Recurse; /* extern "C" { }, namespaces */
    case CXCursor_FunctionDecl:
    case CXCursor_CXXMethod: function(w, c); break;
    case CXCursor_VarDecl: variable(w, c); break;
    default: break;
    }
    return CXChildVisit_Continue;
}

/* ------------------------------------------------------------------------- */
/* The unit                                                                   */
/* ------------------------------------------------------------------------- */

static void unit_fact(walk *w, unsigned kind, const char *detail)
{
    hpa_src_fact *f = add_fact(w, kind);
    if (f)
        f->detail = keep(w, detail);
}

/* The first error diagnostic, recorded as the reason the unit did not parse; 1 when there is one. */
static int first_error(walk *w)
{
    unsigned n = clang_getNumDiagnostics(w->tu);
    for (unsigned i = 0; i < n; i++) {
        CXDiagnostic d = clang_getDiagnostic(w->tu, i);
        enum CXDiagnosticSeverity sev = clang_getDiagnosticSeverity(d);
        if (sev >= CXDiagnostic_Error) {
            CXString text = clang_getDiagnosticSpelling(d);
            CXFile file = NULL;
            unsigned line = 0, column = 0;
            clang_getExpansionLocation(clang_getDiagnosticLocation(d), &file, &line, &column, NULL);
            hpa_src_fact *f = add_fact(w, HPA_SRC_UNPARSED);
            if (f) {
                const char *t = clang_getCString(text);
                f->detail = hpa_printf(&w->out->arena, "%s: %s", sev == CXDiagnostic_Fatal ? "fatal error" : "error",
                                       t ? t : "");
                if (!f->detail)
                    w->out->oom = 1;
                if (file) {
                    f->path = file_path(w, file);
                    f->line = line;
                    f->column = column;
                }
            }
            clang_disposeString(text);
            clang_disposeDiagnostic(d);
            return 1;
        }
        clang_disposeDiagnostic(d);
    }
    return 0;
}

static const char *parse_failure(enum CXErrorCode e)
{
    switch (e) {
    case CXError_Crashed: return "libclang crashed while parsing it";
    case CXError_InvalidArguments: return "libclang refused the arguments of its command";
    case CXError_ASTReadError: return "libclang could not read a precompiled file it needs";
    default: return "clang could not start on its command (an argument it does not know, or a driver error)";
    }
}

static int starts_with(const char *s, const char *p)
{
    return strncmp(s, p, strlen(p)) == 0;
}

/* The target, as the plugin reads it off the module (plugin/src/target.c): the long jump's size, COFF. */
static void target(walk *w, int *x86_family, int *x64)
{
    CXTargetInfo ti = clang_getTranslationUnitTargetInfo(w->tu);
    CXString t = clang_TargetInfo_getTriple(ti);
    const char *triple = clang_getCString(t);
    if (!triple)
        triple = "";
    *x64 = starts_with(triple, "x86_64-") || starts_with(triple, "amd64-");
    *x86_family = *x64 || starts_with(triple, "i386-") || starts_with(triple, "i486-") ||
                  starts_with(triple, "i586-") || starts_with(triple, "i686-");
    w->coff = strstr(triple, "-windows") || strstr(triple, "-mingw") || strstr(triple, "-cygwin") ||
              strstr(triple, "-win32");
    if (w->u->plugin && !*x86_family) {
        char why[256];
        hp_msg_set(why, sizeof why, "target '%s' is not supported by the hotpatch plugin", triple);
        unit_fact(w, HPA_SRC_SKIPPED, why);
    }
    clang_disposeString(t);
    clang_TargetInfo_dispose(ti);
}

void hpa_src_scan_unit(CXIndex index, const hpa_src_unit *u, uint32_t unit_no, const hpa_src_names *defs,
                       hpa_src_scan *out)
{
    walk w;
    memset(&w, 0, sizeof w);
    w.u = u;
    w.unit_no = unit_no;
    w.defs = defs;
    w.out = out;

    struct stat st;
    if (stat(u->file, &st) != 0) {
        char why[512], err[256];
        if (strerror_r(errno, err, sizeof err) != 0) /* strerror is not for threads */
            snprintf(err, sizeof err, "error %d", errno);
        hp_msg_set(why, sizeof why, "cannot open: %s", err);
        unit_fact(&w, HPA_SRC_UNPARSED, why);
        return;
    }
    enum CXErrorCode e =
        clang_parseTranslationUnit2FullArgv(index, NULL, u->argv, u->argc, NULL, 0,
                                            CXTranslationUnit_IgnoreNonErrorsFromIncludedFiles, &w.tu);
    if (e != CXError_Success || !w.tu) {
        unit_fact(&w, HPA_SRC_UNPARSED, parse_failure(e));
        return;
    }
    first_error(&w); /* what did parse is still walked: its findings are as true as they are without the error */

    int x86_family = 0, x64 = 0;
    target(&w, &x86_family, &x64);
    w.pad = x64 ? HP_MIN_PAD_X64 : HP_MIN_PAD_X86; /* the plugin's pad= below the machine's minimum is raised */
    if (u->pad > w.pad)
        w.pad = u->pad;
    int skipped = u->plugin && !x86_family;
    if (u->plugin && !skipped && u->pfe_given) {
        /* -fpatchable-function-entry=N,M gives every function M bytes before its entry and N-M at it */
        uint32_t before = u->pfe_offset, at_entry = u->pfe_count - u->pfe_offset;
        if (before < w.pad || at_entry < 2 || before % 64 == 63) {
            char why[256];
            hp_msg_set(why, sizeof why,
                       "-fpatchable-function-entry=%u,%u in its command gives %u byte(s) before each entry and %u at "
                       "it; the plugin needs %u and 2",
                       u->pfe_count, u->pfe_offset, before, at_entry, w.pad);
            unit_fact(&w, HPA_SRC_SKIPPED, why);
            skipped = 1;
        }
    }
    if (u->plugin && !skipped && u->func_sanitize && !w.coff) {
        unit_fact(&w, HPA_SRC_SKIPPED,
                  "-fsanitize=function in its command puts type data right before every entry, where the padding "
                  "would be");
        skipped = 1;
    }
    w.plugin = u->plugin && !skipped;
    w.asm_matters = !skipped && (!u->plugin || u->entry_widen);
    clang_visitChildren(clang_getTranslationUnitCursor(w.tu), visit_decl, &w);
    clang_disposeTranslationUnit(w.tu);
}

void hpa_src_scan_free(hpa_src_scan *s)
{
    free(s->facts);
    free(s->exported);
    hpa_arena_free(&s->arena);
    memset(s, 0, sizeof *s);
}
