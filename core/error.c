#include "error.h"

#include <glib.h>

static const struct {
    const char *name;
    const char *text;
} errors[] = {
    [DM_OK] = {"DM_OK", "Success."},
    [DM_EINVAL] = {"DM_EINVAL", "An argument is out of its documented range."},
    [DM_ENOMEM] = {"DM_ENOMEM", "Memory could not be allocated."},
    [DM_EBADNAME] = {"DM_EBADNAME",
                     "The lock name is empty, longer than 255 bytes, or contains a NUL byte."},
    [DM_EBUSY] = {"DM_EBUSY", "This node already holds or is acquiring the lock."},
    [DM_ENOTHELD] = {"DM_ENOTHELD", "This node does not hold the lock."},
    [DM_ENOQUORUM] = {"DM_ENOQUORUM", "No quorum can be formed from the usable members."},
    [DM_ETIMEDOUT] = {"DM_ETIMEDOUT", "The lock was not acquired within its timeout."},
    [DM_ELEASE] = {"DM_ELEASE", "The holder can no longer trust its lease."},
    [DM_EREVOKED] = {"DM_EREVOKED", "An arbiter no longer holds the grant."},
    [DM_ESHUTDOWN] = {"DM_ESHUTDOWN", "The node is shutting down and takes no new work."},
    [DM_EPERSIST] = {"DM_EPERSIST", "The driver failed to persist the node's state."},
    [DM_EBADSTATE] = {"DM_EBADSTATE", "The persisted state handed back at start is unreadable."},
    [DM_ETRUNC] = {"DM_ETRUNC", "The frame is shorter than its header or its length prefix."},
    [DM_EOVERSIZE] = {"DM_EOVERSIZE", "The frame's length prefix exceeds the maximum frame size."},
    [DM_EVERSION] = {"DM_EVERSION", "The frame has an unknown wire version."},
    [DM_ETYPE] = {"DM_ETYPE", "The message type is unknown."},
    [DM_EMALFORMED] = {"DM_EMALFORMED",
                       "The message's fields are inconsistent with its length or out of range."},
    [DM_EPEER] = {"DM_EPEER", "The message names a sender or recipient that is not a valid peer."},
    [DM_ECANCELED] = {"DM_ECANCELED", "The acquisition was abandoned by the application."},
    [DM_ERECOVERING] = {"DM_ERECOVERING",
                        "The node started without persisted state and is still recovering it "
                        "from a quorum; try again shortly."},
    [DM_EEXIST] = {"DM_EEXIST", "A registry already has an entry of that name."},
    [DM_ETOOFEW] = {"DM_ETOOFEW",
                    "The configuration change would leave fewer members than reconfig_min_size."},
    [DM_EHELD] = {"DM_EHELD", "Another holder has the lock (try-lock)."},
};

/* A code added to the enum without an entry here fails the build; a gap
 * (NULL entry) in the middle is caught by the unit tests. */
_Static_assert(G_N_ELEMENTS(errors) == DM_ERROR_COUNT,
               "errors[] must describe every dm_error code");

/* Codes arrive negated by convention, but logs may hold either sign; the
 * unsigned negation stays defined even for INT_MIN. */
static unsigned magnitude(int code)
{
    return code < 0 ? 0u - (unsigned)code : (unsigned)code;
}

const char *dm_strerror(int code)
{
    unsigned i = magnitude(code);
    return i < DM_ERROR_COUNT ? errors[i].text : "unknown error";
}

const char *dm_error_name(int code)
{
    unsigned i = magnitude(code);
    return i < DM_ERROR_COUNT ? errors[i].name : "DM_E?";
}
