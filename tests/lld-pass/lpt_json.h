/*
 * lpt_json.h — a small strict JSON reader for the lld-pass suites, so that maps and `show --json`
 * output are checked as parsed values, independently of the code that wrote them.
 */
#ifndef LPT_JSON_H
#define LPT_JSON_H

#include <stddef.h>
#include <stdint.h>

typedef enum lj_type { LJ_NULL, LJ_BOOL, LJ_NUM, LJ_STR, LJ_ARR, LJ_OBJ } lj_type;

/** A parsed value. Strings are UTF-8 (\u escapes decoded); numbers keep their integer value. */
typedef struct lj {
    lj_type type;
    int boolean;
    int64_t num;      /**< integers only: the tests read nothing else */
    int is_integer;
    char *str;        /**< LJ_STR */
    struct lj **items; /**< LJ_ARR, LJ_OBJ (values) */
    char **keys;      /**< LJ_OBJ */
    size_t count;
    size_t cap;       /**< allocated items (and keys) */
} lj;

/** Parse `len` bytes; NULL when they are not exactly one JSON value (whitespace around allowed). */
lj *lj_parse(const char *text, size_t len);
void lj_free(lj *v);

/** Member `key` of an object, or NULL. */
const lj *lj_get(const lj *obj, const char *key);
/** Item `i` of an array, or NULL. */
const lj *lj_at(const lj *arr, size_t i);
/** Column `key` of `row`, a row (array) of a map's "functions" or "symbols": at the position that the
    map's list `fields` ("function_fields", "symbol_fields") gives the name. NULL when the list does not
    name it or the row is not an array of as many values as the list has. */
const lj *lj_col(const lj *map, const char *fields, const lj *row, const char *key);

#endif /* LPT_JSON_H */
