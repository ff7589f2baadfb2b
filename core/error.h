/* dmutex core: error codes.
 *
 * Every function of the core that can fail returns one of these, negated
 * (libuv style: 0 or a positive count on success, -DM_E... on failure).
 */
#ifndef DMUTEX_CORE_ERROR_H
#define DMUTEX_CORE_ERROR_H

enum dm_error {
    DM_OK = 0,
    DM_EINVAL = 1,     /* an argument is out of its documented range */
    DM_ENOMEM,         /* an allocation failed */
    DM_EBADNAME,       /* lock name empty, longer than 255 bytes, or holds a NUL */
    DM_EBUSY,          /* this node already holds or is acquiring the lock */
    DM_ENOTHELD,       /* unlock of a lock this node does not hold */
    DM_ENOQUORUM,      /* no quorum can be formed from the usable members */
    DM_ETIMEDOUT,      /* the acquisition did not complete within its timeout */
    DM_ELEASE,         /* the holder can no longer trust its lease */
    DM_EREVOKED,       /* an arbiter no longer holds the grant */
    DM_ESHUTDOWN,      /* the node is leaving and takes no new work */
    DM_EPERSIST,       /* the driver failed to persist state */
    DM_EBADSTATE,      /* persisted state handed back at start is unreadable */
    DM_ETRUNC,         /* frame shorter than its header or its length prefix */
    DM_EOVERSIZE,      /* length prefix larger than DM_FRAME_MAX */
    DM_EVERSION,       /* unknown wire version */
    DM_ETYPE,          /* unknown message type */
    DM_EMALFORMED,     /* fields inconsistent with the length or out of range */
    DM_EPEER,          /* message names a sender or recipient that is not a member */
    DM_ECANCELED,      /* the application abandoned the acquisition */
    DM_ERECOVERING,    /* started without persisted state: still recovering it */
    DM_EEXIST,         /* a registry already has an entry of that name */
    DM_ETOOFEW,        /* a configuration change would leave fewer members than the minimum */
    DM_EHELD,          /* try-lock: another holder has the lock (or lock_delay withholds it) */
    DM_ERROR_COUNT
};

/* A static, human-readable description of an error code (positive or
 * negative). Never NULL. */
const char *dm_strerror(int code);

/* The symbolic name ("DM_ETIMEDOUT"), for logs and CSV columns. */
const char *dm_error_name(int code);

#endif
