/*
 * status.c — names of the post-link pass's statuses (hp_link.h).
 */
#include "hp_link.h"

const char *hp_link_status_str(hp_link_status status)
{
#define HP_LINK_CASE(x) \
    case x:             \
        return #x;
    switch (status) {
        HP_LINK_CASE(HP_LINK_OK)
        HP_LINK_CASE(HP_LINK_ERR_ARGUMENT)
        HP_LINK_CASE(HP_LINK_ERR_USAGE)
        HP_LINK_CASE(HP_LINK_ERR_NO_MEMORY)
        HP_LINK_CASE(HP_LINK_ERR_IO)
        HP_LINK_CASE(HP_LINK_ERR_NO_LLD)
        HP_LINK_CASE(HP_LINK_ERR_LLD_FAILED)
        HP_LINK_CASE(HP_LINK_ERR_FORMAT)
        HP_LINK_CASE(HP_LINK_ERR_BITCODE)
        HP_LINK_CASE(HP_LINK_ERR_VIOLATIONS)
        HP_LINK_CASE(HP_LINK_ERR_TOOL)
    }
#undef HP_LINK_CASE
    return "HP_LINK_STATUS_UNKNOWN";
}
