/*
 * hp_link_codefile.h — `<image>.hpcode`: the code digests of a released image,
 * by unit, function and variable (lld-pass/README.md, "Code digests"), written
 * by hotpatch-link beside the image and its map, read by hotpatch-fix, which
 * compares a corrected build with the release without the release's build tree.
 *
 * The file is text, one record per line:
 *
 *   hotpatch-code 1
 *   image <machine> <time_date_stamp> <size_of_image> <checksum> <name>
 *   unit <id, 8 hex digits> <path>
 *   f <s|e> <size> <digest, 16 hex digits> <name>     a function of the unit above
 *   v <s|e> <size> <digest, 16 hex digits> <name>     a variable of the unit above
 *
 * (s: internal linkage, e: external; numbers decimal; a name or path is the rest of its line).
 *
 * Thread-safety: reentrant; a loaded file is immutable.
 */
#ifndef HP_LINK_CODEFILE_H
#define HP_LINK_CODEFILE_H

#include <stddef.h>
#include <stdint.h>

#include "hp_link_digest.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The digests of an image. Owned, freed by hp_link_code_destroy(). */
typedef struct hp_link_code {
    char machine[8];          /**< "x64" or "x86" */
    uint32_t time_date_stamp; /**< the image's identity, as its map has it */
    uint32_t size_of_image;
    uint32_t checksum;
    char *image_name;
    hp_link_digest_unit **units;
    size_t unit_count;
} hp_link_code;

/**
 * Write `code` to `path` (replaced whole: a temporary file renamed over it).
 * @return HP_OK; HP_ERR_IO (the message names the path); HP_ERR_ARGUMENT (a name or path with a
 *         line break cannot be written).
 */
hp_status hp_link_code_write(const char *path, const hp_link_code *code, char *msg, size_t msg_size);

/**
 * The entry lines of `unit` ("f e 15 <digest> <name>" and "v ..." records, each ending in a line
 * break) exactly as hp_link_code_write() writes them (an entry whose name is empty or has a space or
 * a line break is left out), in `*out` (malloc'd; NULL when there are none), `*out_len` bytes.
 * @return HP_OK; HP_ERR_NO_MEMORY; HP_ERR_ARGUMENT.
 */
hp_status hp_link_code_unit_lines(const hp_link_digest_unit *unit, char **out, size_t *out_len);

/**
 * Are `len` bytes of `text` entry lines that hp_link_code_parse() reads inside a unit: each a
 * function or variable record ending in a line break (what an object carried is written only after
 * this check)? 1 or 0; `*line` (if not NULL) is the 1-based number of the first bad one.
 */
int hp_link_code_lines_valid(const char *text, size_t len, size_t *line);

/**
 * Parse `len` bytes of an .hpcode file.
 * @return HP_OK; HP_ERR_FORMAT ("line N: what"); HP_ERR_MANIFEST_VERSION (another version);
 *         HP_ERR_NO_MEMORY; HP_ERR_ARGUMENT.
 */
hp_status hp_link_code_parse(const char *text, size_t len, hp_link_code **out, char *msg, size_t msg_size);

/** hp_link_code_parse() of a file; HP_ERR_IO when it cannot be read. Messages start with the path. */
hp_status hp_link_code_load(const char *path, hp_link_code **out, char *msg, size_t msg_size);

/** The unit of `code` with this path, or NULL. */
const hp_link_digest_unit *hp_link_code_unit(const hp_link_code *code, const char *path);

/** Free; NULL is a no-op. */
void hp_link_code_destroy(hp_link_code *code);

#ifdef __cplusplus
}
#endif

#endif /* HP_LINK_CODEFILE_H */
