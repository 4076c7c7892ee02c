/*
 * hp_link.h — what every module of `hotpatch-link` (lld-pass/) shares: the
 * one status type of all the parts (hp_status, hotpatch.h — the tool
 * statuses HP_ERR_USAGE, HP_ERR_BAD_VALUE, HP_ERR_NO_LINKER,
 * HP_ERR_LINKER_FAILED, HP_ERR_BITCODE, HP_ERR_VIOLATIONS, HP_ERR_TOOL are the
 * link step's; a module passes a status it receives on unchanged) and the
 * tools' common layer (hp_tools.h: messages, files, arrays).
 *
 * The library never prints or exits: every fallible call returns an
 * hp_status and hands back a message in a caller-owned buffer (char *msg,
 * size_t msg_size, formatted with hp_msg_set); main.c composes what people see.
 */
#ifndef HP_LINK_H
#define HP_LINK_H

#include "hotpatch.h"
#include "hp_tools.h"

#endif /* HP_LINK_H */
