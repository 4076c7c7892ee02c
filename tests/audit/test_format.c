/*
 * test_format.c — suite format: the JSON report against a golden file written
 * by hand from fixtures/golden.c, and the SARIF report parsed and checked for
 * the fields SARIF 2.1.0 requires (and GitHub code scanning reads).
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hpa_test.h"

/* ---- a minimal JSON reader, enough to walk a SARIF log ------------------- */

typedef enum { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ } jkind;
typedef struct jval jval;
struct jval {
    jkind kind;
    char *str;       /* J_STR; key of a member */
    double num;
    int boolean;
    jval **items;    /* J_ARR elements, J_OBJ members (each member: kind of its value, str = key) */
    char **keys;
    size_t count;
};

static const char *jp;

static void ws(void)
{
    while (*jp == ' ' || *jp == '\n' || *jp == '\t' || *jp == '\r')
        jp++;
}

static char *jstring(void)
{
    cr_assert_eq(*jp, '"', "string expected at '%.20s'", jp);
    jp++;
    char *s = malloc(strlen(jp) + 1), *w = s;
    while (*jp != '"') {
        cr_assert(*jp, "unterminated string");
        if (*jp == '\\') {
            jp++;
            if (*jp == 'u') {
                *w++ = '?';
                jp += 5;
                continue;
            }
            *w++ = *jp == 'n' ? '\n' : *jp;
            jp++;
            continue;
        }
        *w++ = *jp++;
    }
    jp++;
    *w = 0;
    return s;
}

static void jfree(jval *v)
{
    if (!v)
        return;
    for (size_t i = 0; i < v->count; i++) {
        jfree(v->items[i]);
        free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    free(v->str);
    free(v);
}

static jval *jvalue(void)
{
    jval *v = calloc(1, sizeof *v);
    ws();
    if (*jp == '{' || *jp == '[') {
        int obj = *jp == '{';
        v->kind = obj ? J_OBJ : J_ARR;
        jp++;
        ws();
        char end = obj ? '}' : ']';
        while (*jp != end) {
            v->items = realloc(v->items, (v->count + 1) * sizeof *v->items);
            v->keys = realloc(v->keys, (v->count + 1) * sizeof *v->keys);
            v->keys[v->count] = NULL;
            if (obj) {
                ws();
                v->keys[v->count] = jstring();
                ws();
                cr_assert_eq(*jp, ':');
                jp++;
            }
            v->items[v->count++] = jvalue();
            ws();
            if (*jp == ',') {
                jp++;
                ws();
            } else {
                cr_assert_eq(*jp, end, "bad separator at '%.20s'", jp);
            }
        }
        jp++;
    } else if (*jp == '"') {
        v->kind = J_STR;
        v->str = jstring();
    } else if (strncmp(jp, "true", 4) == 0 || strncmp(jp, "false", 5) == 0) {
        v->kind = J_BOOL;
        v->boolean = *jp == 't';
        jp += v->boolean ? 4 : 5;
    } else if (strncmp(jp, "null", 4) == 0) {
        v->kind = J_NULL;
        jp += 4;
    } else {
        char *e;
        v->kind = J_NUM;
        v->num = strtod(jp, &e);
        cr_assert_neq(e, jp, "value expected at '%.20s'", jp);
        jp = e;
    }
    return v;
}

static jval *get(const jval *o, const char *key)
{
    if (!o || o->kind != J_OBJ)
        return NULL;
    for (size_t i = 0; i < o->count; i++)
        if (strcmp(o->keys[i], key) == 0)
            return o->items[i];
    return NULL;
}

static const jval *need(const jval *o, const char *key, jkind kind, const char *where)
{
    const jval *v = get(o, key);
    cr_assert_not_null(v, "%s: required '%s' missing", where, key);
    cr_assert_eq(v->kind, kind, "%s: '%s' has the wrong type", where, key);
    return v;
}

/* ---- tests ---------------------------------------------------------------- */

static int hpa_test_fwrite(void *ctx, const char *data, size_t len)
{
    return fwrite(data, 1, len, ctx) == len ? 0 : 1;
}

static char *render(hp_audit_format format, const char *const *files, const hp_audit_options *opt)
{
    cr_assert_eq(chdir(HPA_FIXTURES_DIR), 0);
    hp_audit_report *r = NULL;
    cr_assert_eq(hp_audit_report_create(opt, &r), HP_OK);
    for (size_t i = 0; files[i]; i++)
        hp_audit_file(r, files[i]);
    cr_assert_eq(hp_audit_report_finish(r), HP_OK);
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    cr_assert_eq(hp_audit_render(r, format, 0, NULL, mem), HP_ERR_ARGUMENT);
    cr_assert_eq(hp_audit_render(r, format, 0, hpa_test_fwrite, mem), HP_OK);
    fclose(mem);
    hp_audit_report_destroy(r);
    return buf;
}

Test(format, json_matches_the_hand_written_golden_file)
{
    char *got = render(HP_AUDIT_FORMAT_JSON, (const char *[]){"golden.dll", NULL}, NULL);
    size_t size;
    unsigned char *want = hpt_read_file(HPA_SOURCE_FIXTURES "/golden.json", &size);
    cr_assert_not_null(want);
    cr_assert_eq(strlen(got), size, "length %zu, golden %zu", strlen(got), size);
    cr_assert_eq(memcmp(got, want, size), 0, "differs from golden.json:\n%s", got);
    /* and it parses */
    jp = got;
    jval *v = jvalue();
    cr_assert_eq(v->kind, J_OBJ);
    jfree(v);
    free(want);
    free(got);
}

/* The results of golden.dll, written by hand from golden.c's layout (see there): `first` fails
   HP1001 at 4096 (rule 0 of the table), `value` is a data export at 12288 (HP2003, rule 14). The
   rule table itself is checked field by field below, not byte by byte. */
Test(format, sarif_results_match_the_hand_written_golden_file)
{
    char *got = render(HP_AUDIT_FORMAT_SARIF, (const char *[]){"golden.dll", NULL}, NULL);
    size_t size;
    unsigned char *want = hpt_read_file(HPA_SOURCE_FIXTURES "/golden.sarif-results", &size);
    cr_assert_not_null(want);
    const char *start = strstr(got, "      \"results\": [");
    cr_assert_not_null(start, "no results array:\n%s", got);
    cr_assert(strlen(start) >= size, "results shorter than golden.sarif-results:\n%s", start);
    cr_assert_eq(memcmp(start, want, size), 0, "differs from golden.sarif-results:\n%s", start);
    free(want);
    free(got);
}

Test(format, sarif_has_the_required_fields)
{
    hp_audit_options opt = {.min_coverage = 90};
    char *got = render(HP_AUDIT_FORMAT_SARIF,
                       (const char *[]){"golden.dll", "plain-x86_64-w64-mingw32.dll", "fixtures-gnu.a", "missing.dll", NULL},
                       &opt);
    jp = got;
    jval *log = jvalue();
    ws();
    cr_assert_eq(*jp, 0, "trailing bytes after the log");
    cr_assert_str_eq(need(log, "version", J_STR, "log")->str, "2.1.0");
    const jval *runs = need(log, "runs", J_ARR, "log");
    cr_assert_eq(runs->count, 1);
    const jval *run = runs->items[0];
    const jval *driver = need(need(run, "tool", J_OBJ, "run"), "driver", J_OBJ, "tool");
    cr_assert_str_eq(need(driver, "name", J_STR, "driver")->str, "hotpatch-audit");
    const jval *rules = need(driver, "rules", J_ARR, "driver");
    size_t nchecks;
    hp_audit_checks(&nchecks);
    cr_assert_eq(rules->count, nchecks);
    for (size_t i = 0; i < rules->count; i++) {
        need(rules->items[i], "id", J_STR, "rule");
        need(need(rules->items[i], "shortDescription", J_OBJ, "rule"), "text", J_STR, "shortDescription");
        need(need(rules->items[i], "help", J_OBJ, "rule"), "text", J_STR, "help");
    }
    const jval *inv = need(run, "invocations", J_ARR, "run");
    cr_assert_eq(need(inv->items[0], "executionSuccessful", J_BOOL, "invocation")->boolean, 0,
                 "missing.dll could not be read");
    const jval *notes = need(inv->items[0], "toolExecutionNotifications", J_ARR, "invocation");
    cr_assert_eq(notes->count, 1);
    need(need(notes->items[0], "message", J_OBJ, "notification"), "text", J_STR, "message");

    const jval *results = need(run, "results", J_ARR, "run");
    int saw_first = 0, saw_member = 0, saw_coverage = 0;
    for (size_t i = 0; i < results->count; i++) {
        const jval *res = results->items[i];
        const char *rule = need(res, "ruleId", J_STR, "result")->str;
        size_t idx = (size_t)need(res, "ruleIndex", J_NUM, "result")->num;
        cr_assert(idx < rules->count);
        cr_assert_str_eq(need(rules->items[idx], "id", J_STR, "rule")->str, rule, "ruleIndex points at its rule");
        need(need(res, "message", J_OBJ, "result"), "text", J_STR, "message");
        const char *level = need(res, "level", J_STR, "result")->str;
        cr_assert(strcmp(level, "error") == 0 || strcmp(level, "note") == 0);
        const jval *locs = need(res, "locations", J_ARR, "result");
        if (strcmp(rule, "HP3002") == 0) {
            saw_coverage = 1;
            continue;
        }
        cr_assert_geq(locs->count, 1, "%s has a location", rule);
        const char *uri = need(need(need(locs->items[0], "physicalLocation", J_OBJ, "location"), "artifactLocation",
                                    J_OBJ, "physicalLocation"),
                               "uri", J_STR, "artifactLocation")
                              ->str;
        const jval *logical = get(locs->items[0], "logicalLocations");
        const char *fn = logical ? need(logical->items[0], "name", J_STR, "logicalLocation")->str : NULL;
        /* expected from the fixtures: golden.dll's `first` is HP1001 */
        if (strcmp(uri, "golden.dll") == 0 && fn && strcmp(fn, "first") == 0) {
            cr_assert_str_eq(rule, "HP1001");
            cr_assert_str_eq(level, "error");
            saw_first = 1;
        }
        /* archive members are named in the fully qualified name */
        if (strcmp(uri, "fixtures-gnu.a") == 0 && fn && strcmp(fn, "after_ret") == 0) {
            cr_assert_str_eq(need(logical->items[0], "fullyQualifiedName", J_STR, "logicalLocation")->str,
                             "plain-x64.obj!after_ret");
            saw_member = 1;
        }
    }
    cr_assert(saw_first && saw_member && saw_coverage);
    jfree(log);
    free(got);
}

Test(format, format_names)
{
    hp_audit_format f;
    cr_assert_eq(hp_audit_format_parse("sarif", &f), HP_OK);
    cr_assert_eq(f, HP_AUDIT_FORMAT_SARIF);
    cr_assert_eq(hp_audit_format_parse("xml", &f), HP_ERR_ARGUMENT);
}

Test(format, check_ids_are_unique_and_explained)
{
    size_t n;
    const hp_audit_check *c = hp_audit_checks(&n);
    cr_assert_geq(n, 20);
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(strlen(c[i].id), 6);
        cr_assert(strlen(c[i].text) > 10);
        for (size_t k = i + 1; k < n; k++)
            cr_assert_str_neq(c[i].id, c[k].id);
        cr_assert_eq(hp_audit_check_find(c[i].id), &c[i]);
    }
}
