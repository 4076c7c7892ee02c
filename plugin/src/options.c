/*
 * options.c — the policy object and its options (hp_policy_create,
 * hp_policy_set_option, the setters) and the exclude= globs.
 *
 * Values are parsed by the tools' shared rules (runtime/tools/include/hp_tools.h):
 * hp_pad_parse() for pad=, hp_glob_match() for exclude=, hp_msg_set() for every
 * message.
 */
#include "policy_internal.h"

#include <stdlib.h>
#include <string.h>

#include "hp_map.h"
#include "hp_tools.h"

hp_status hp_policy_create(hp_policy **out)
{
    hp_policy *p;

    if (!out)
        return HP_ERR_ARGUMENT;
    p = calloc(1, sizeof *p);
    if (!p)
        return HP_ERR_NO_MEMORY;
    p->table = 1;
    p->function_sections = 1;
    p->func_sanitize = 1;
    *out = p;
    return HP_OK;
}

void hp_policy_destroy(hp_policy *policy)
{
    size_t i;

    if (!policy)
        return;
    for (i = 0; i < policy->exclude_count; i++)
        free(policy->excludes[i]);
    free(policy->excludes);
    for (i = 0; i < policy->fix_function_count; i++)
        free(policy->fix_functions[i]);
    free(policy->fix_functions);
    hp_map_free(policy->fix_map);
    free(policy->fix_map_path);
    free(policy->fix_unit);
    free(policy->source_root);
    free(policy);
}

void hp_policy_set_function_sections(hp_policy *policy, int on)
{
    if (policy)
        policy->function_sections = on != 0;
}

void hp_policy_set_function_sanitizer(hp_policy *policy, int on)
{
    if (policy)
        policy->func_sanitize = on != 0;
}

void hp_policy_set_object_output(hp_policy *policy, int on)
{
    if (policy)
        policy->object_output = on != 0;
}

/*
 * pad=: the tools' parser takes HP_MIN_PAD_OPTION..HP_MAX_PAD (5..64). The plugin has always
 * taken 1..4 as well: they are warned about and raised to the target's minimum by
 * hp_policy_instrument (HP_POLICY_DIAG_PAD), like pad=5 on x86-64, which hp_pad_parse takes.
 * So a value hp_pad_parse refuses is let through when it is a number from 1 to 4.
 */
static int parse_pad(const char *value, unsigned *pad)
{
    uint32_t v;

    if (hp_pad_parse("pad", value, &v, NULL, 0) == HP_OK) {
        *pad = v;
        return 1;
    }
    while (value[0] == '0' && value[1] != '\0')
        value++; /* leading zeros, as a decimal reads them */
    if (value[0] >= '1' && value[0] <= '9' && value[1] == '\0' && (unsigned)(value[0] - '0') < HP_MIN_PAD_OPTION) {
        *pad = (unsigned)(value[0] - '0');
        return 1;
    }
    return 0;
}

/* Which keyword of `words` (NULL-terminated) is `value`? -1 when none. */
static int keyword(const char *value, const char *const *words)
{
    int i;

    for (i = 0; words[i]; i++)
        if (strcmp(value, words[i]) == 0)
            return i;
    return -1;
}

static const char *const k_diag_switch[HP_POLICY_DIAG_COUNT_] = {
    "no-warn-naked", "no-warn-conflict", "no-warn-pad", "no-warn-skipped", NULL, NULL, NULL,
};

/* A string option's value, copied into *slot (the previous value freed). */
static hp_status set_string(char **slot, const char *value)
{
    char *copy = malloc(strlen(value) + 1);
    if (!copy)
        return HP_ERR_NO_MEMORY;
    strcpy(copy, value);
    free(*slot);
    *slot = copy;
    return HP_OK;
}

static hp_status push_fix_function(hp_policy *policy, const char *p, size_t len)
{
    char *name = malloc(len + 1);
    if (!name)
        return HP_ERR_NO_MEMORY;
    memcpy(name, p, len);
    name[len] = '\0';
    if (!HP_VEC_PUSH(policy->fix_functions, policy->fix_function_count, policy->fix_function_cap, name)) {
        free(name);
        return HP_ERR_NO_MEMORY;
    }
    return HP_OK;
}

/* fix-functions=@FILE: one function per line, "<name>" or "<name>\t<unit>" (only in that unit: what
   hotpatch-fix writes). Blank lines are skipped. */
static hp_status add_fix_functions_file(hp_policy *policy, const char *path, char *msg, size_t msg_size)
{
    unsigned char *data = NULL;
    size_t size = 0;
    char why[512];
    if (hp_file_read(path, &data, &size, why, sizeof why) != HP_OK) {
        hp_msg_set(msg, msg_size, "invalid value '@%s' for 'fix-functions': %s", path, why);
        return HP_ERR_BAD_VALUE;
    }
    hp_status st = HP_OK;
    const char *p = (const char *)data, *end = p + size;
    while (p < end && st == HP_OK) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (len && p[len - 1] == '\r')
            len--;
        if (len && (memchr(p, 0, len) || p[0] == '\t')) {
            hp_msg_set(msg, msg_size, "invalid value '@%s' for 'fix-functions': a line without a name", path);
            st = HP_ERR_BAD_VALUE;
        } else if (len) {
            st = push_fix_function(policy, p, len);
        }
        p = nl ? nl + 1 : end;
    }
    free(data);
    return st;
}

/* fix-functions=a,b,c: each name appended (repeatable); fix-functions=@FILE: the names in FILE. */
static hp_status add_fix_functions(hp_policy *policy, const char *value, char *msg, size_t msg_size)
{
    if (value[0] == '@')
        return add_fix_functions_file(policy, value + 1, msg, msg_size);
    for (const char *p = value;;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == 0) {
            hp_msg_set(msg, msg_size, "invalid value '%s' for 'fix-functions': an empty name", value);
            return HP_ERR_BAD_VALUE;
        }
        hp_status st = push_fix_function(policy, p, len);
        if (st != HP_OK)
            return st;
        if (!e)
            return HP_OK;
        p = e + 1;
    }
}

hp_status hp_policy_set_option(hp_policy *policy, const char *arg, char *msg, size_t msg_size)
{
    static const char *const onoff[] = {"off", "on", NULL};
    static const char *const scopes[] = {"all", "exported", NULL};
    static const char *const entries[] = {"nop", "widen", NULL};
    static const char *const cets[] = {"auto", "on", "off", NULL};
    char name[32];
    const char *eq, *value;
    size_t name_len;
    int k, d;

    if (!policy || !arg) {
        hp_msg_set(msg, msg_size, "missing option");
        return HP_ERR_ARGUMENT;
    }
    eq = strchr(arg, '=');
    name_len = eq ? (size_t)(eq - arg) : strlen(arg);
    value = eq ? eq + 1 : NULL;
    if (name_len == 0 || name_len >= sizeof name) {
        hp_msg_set(msg, msg_size, "unknown option '%s'", arg);
        return HP_ERR_USAGE;
    }
    memcpy(name, arg, name_len);
    name[name_len] = '\0';

    /* Switches: no value allowed. */
    for (d = 0; d < HP_POLICY_DIAG_COUNT_; d++) {
        if (k_diag_switch[d] && strcmp(name, k_diag_switch[d]) == 0) {
            if (value)
                goto no_value;
            policy->disabled |= 1u << d;
            return HP_OK;
        }
    }
    if (strcmp(name, "verbose") == 0 || strcmp(name, "noinline-exported") == 0) {
        if (value)
            goto no_value;
        if (name[0] == 'v')
            policy->verbose = 1;
        else
            policy->noinline_exported = 1;
        return HP_OK;
    }

    /* NAME=VALUE options. */
    if (strcmp(name, "pad") == 0) {
        unsigned pad;

        if (!value)
            goto needs_value;
        if (!parse_pad(value, &pad)) {
            hp_msg_set(msg, msg_size, "invalid value '%s' for 'pad': expected a number of bytes from 1 to %u", value,
                       HP_MAX_PAD);
            return HP_ERR_BAD_VALUE;
        }
        /* With P = 63 (mod 64) no function alignment keeps the 2 entry bytes
           inside one 64-byte line (entry = k*A + 63), so the swap could tear. */
        if (pad == 63) {
            hp_msg_set(msg, msg_size,
                       "invalid value '%s' for 'pad': the entry would straddle a 64-byte line; use 62 or 64", value);
            return HP_ERR_BAD_VALUE;
        }
        policy->pad = pad;
        return HP_OK;
    }
    if (strcmp(name, "exclude") == 0) {
        char *copy;

        if (!value)
            goto needs_value;
        if (!*value) {
            hp_msg_set(msg, msg_size, "invalid value '%s' for 'exclude': expected a glob of function names", value);
            return HP_ERR_BAD_VALUE;
        }
        copy = malloc(strlen(value) + 1);
        if (!copy)
            return HP_ERR_NO_MEMORY;
        strcpy(copy, value);
        if (!HP_VEC_PUSH(policy->excludes, policy->exclude_count, policy->exclude_cap, copy)) {
            free(copy);
            return HP_ERR_NO_MEMORY;
        }
        return HP_OK;
    }
    if (strcmp(name, "source-root") == 0 || strcmp(name, "fix-unit") == 0) {
        if (!value)
            goto needs_value;
        if (!*value) {
            hp_msg_set(msg, msg_size, "invalid value '' for '%s': expected a path", name);
            return HP_ERR_BAD_VALUE;
        }
        return set_string(name[0] == 's' ? &policy->source_root : &policy->fix_unit, value);
    }
    if (strcmp(name, "fix-functions") == 0) {
        if (!value)
            goto needs_value;
        return add_fix_functions(policy, value, msg, msg_size);
    }
    if (strcmp(name, "fix-for") == 0) {
        hp_map *map = NULL;
        char why[512];
        hp_status st;
        if (!value)
            goto needs_value;
        st = hp_map_load(value, &map, why, sizeof why);
        if (st == HP_ERR_NO_MEMORY)
            return st;
        if (st != HP_OK) {
            hp_msg_set(msg, msg_size, "cannot use the map for 'fix-for': %s", why);
            return HP_ERR_BAD_VALUE;
        }
        if (map->version < 2) {
            hp_msg_set(msg, msg_size,
                       "the map '%s' is version %u: it names no variables and no file-static symbols; relink the "
                       "release with this version's hotpatch-link to write a version 2 map",
                       value, (unsigned)map->version);
            hp_map_free(map);
            return HP_ERR_BAD_VALUE;
        }
        hp_map_free(policy->fix_map);
        policy->fix_map = map;
        return set_string(&policy->fix_map_path, value);
    }
    if (strcmp(name, "scope") == 0) {
        if (!value)
            goto needs_value;
        if ((k = keyword(value, scopes)) < 0) {
            hp_msg_set(msg, msg_size, "invalid value '%s' for 'scope': expected 'all' or 'exported'", value);
            return HP_ERR_BAD_VALUE;
        }
        policy->scope = (hp_policy_scope)k;
        return HP_OK;
    }
    if (strcmp(name, "entry") == 0) {
        if (!value)
            goto needs_value;
        if ((k = keyword(value, entries)) < 0) {
            hp_msg_set(msg, msg_size, "invalid value '%s' for 'entry': expected 'nop' or 'widen'", value);
            return HP_ERR_BAD_VALUE;
        }
        policy->entry = (hp_policy_entry)k;
        return HP_OK;
    }
    if (strcmp(name, "cet") == 0) {
        if (!value)
            goto needs_value;
        if ((k = keyword(value, cets)) < 0) {
            hp_msg_set(msg, msg_size, "invalid value '%s' for 'cet': expected 'auto', 'on' or 'off'", value);
            return HP_ERR_BAD_VALUE;
        }
        policy->cet = (hp_policy_cet)k;
        return HP_OK;
    }
    if (strcmp(name, "table") == 0) {
        if (!value)
            goto needs_value;
        if ((k = keyword(value, onoff)) < 0) {
            hp_msg_set(msg, msg_size, "invalid value '%s' for 'table': expected 'on' or 'off'", value);
            return HP_ERR_BAD_VALUE;
        }
        policy->table = k;
        return HP_OK;
    }
    hp_msg_set(msg, msg_size, "unknown option '%s'", name);
    return HP_ERR_USAGE;

needs_value:
    hp_msg_set(msg, msg_size, "option '%s' needs a value ('%s=...')", name, name);
    return HP_ERR_USAGE;
no_value:
    hp_msg_set(msg, msg_size, "option '%s' takes no value", name);
    return HP_ERR_USAGE;
}

/* ------------------------------------------------------------------------- */
/* Globs                                                                      */
/* ------------------------------------------------------------------------- */

int hpp_excluded_n(const hp_policy *policy, const char *name, size_t len)
{
    size_t i;

    for (i = 0; i < policy->exclude_count; i++)
        if (hp_glob_match(policy->excludes[i], name, len))
            return 1;
    return 0;
}

int hp_policy_excluded(const hp_policy *policy, const char *name)
{
    if (!policy || !name)
        return 0;
    return hpp_excluded_n(policy, name, strlen(name));
}
