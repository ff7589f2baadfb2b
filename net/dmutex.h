/* libdmutex: embed a dmutex node in a C program.
 *
 * The counterpart of the original Go package (dmutex.NewDMutex(addr, nodes,
 * timeout); Lock(); UnLock()): the process becomes one member of the
 * cluster, running the node on a thread of the library's own (a libuv
 * loop). Every function may be called from any application thread; calls
 * are handed to the loop and the caller waits for their result. Link with
 * `pkg-config --cflags --libs dmutex`.
 *
 *   GError *err = NULL;
 *   const char *nodes[] = { "10.0.0.1:7946", "10.0.0.2:7946", "10.0.0.3:7946" };
 *   dmutex *d = dmutex_new("10.0.0.1:7946", nodes, 3, 3000, &err);
 *   uint64_t token;
 *   if (dmutex_lock(d, "jobs", &token, &err)) {
 *       ... work, passing `token` to the resource as a fencing token ...
 *       dmutex_unlock(d, "jobs", NULL);
 *   }
 *   dmutex_free(d);
 *
 * Like the original, dmutex_lock does not block when this process already
 * holds or is acquiring the name: it fails at once with DMUTEX_ERROR_BUSY
 * (also for lost_margin after the name was lost: net/README.md).
 * Names: 1..255 bytes, no NUL. Held locks are leases: if the node cannot
 * renew one (a pause, a partition), it is lost, reported to subscribers as
 * DMUTEX_EVENT_LOST, and dmutex_token() returns 0 for it.
 *
 * The lease deadline: dmutex_lock_lease() also gives the time the lease
 * ends (g_get_monotonic_time()'s clock, CLOCK_MONOTONIC; the drift bound
 * and lost_margin already taken off), and every renewal moves it on
 * (DMUTEX_EVENT_RENEWED). Stop using what the lock protects when that time
 * passes without a renewal, whether or not LOST came: the library's thread
 * may be as stopped as the rest of the process, but a watchdog thread or
 * process that keeps the deadline stays right.
 */
#ifndef DMUTEX_H
#define DMUTEX_H

#include <glib.h>
#include <stddef.h>
#include <stdint.h>

G_BEGIN_DECLS

typedef struct dmutex dmutex;

#define DMUTEX_ERROR (dmutex_error_quark())
GQuark dmutex_error_quark(void);

/* Error codes of the DMUTEX_ERROR domain (the core's error numbers). */
typedef enum dmutex_error {
    DMUTEX_ERROR_INVAL = 1,      /* an argument is out of range */
    DMUTEX_ERROR_NOMEM = 2,
    DMUTEX_ERROR_BADNAME = 3,    /* lock name empty, too long, or holds a NUL */
    DMUTEX_ERROR_BUSY = 4,       /* this process already holds or is acquiring it */
    DMUTEX_ERROR_NOTHELD = 5,    /* unlock of a lock not held */
    DMUTEX_ERROR_NOQUORUM = 6,   /* no quorum can be formed */
    DMUTEX_ERROR_TIMEDOUT = 7,   /* not acquired within the timeout */
    DMUTEX_ERROR_LEASE = 8,
    DMUTEX_ERROR_REVOKED = 9,
    DMUTEX_ERROR_SHUTDOWN = 10,  /* the node is leaving */
    DMUTEX_ERROR_PERSIST = 11,   /* the state could not be written */
    DMUTEX_ERROR_SETUP = 100,    /* dmutex_new: bad configuration, cannot bind, ... */
    DMUTEX_ERROR_WOULDBLOCK = 101, /* a blocking call from a dmutex callback */
} dmutex_error;

typedef enum dmutex_member_state {
    DMUTEX_MEMBER_ALIVE = 0,
    DMUTEX_MEMBER_SUSPECT = 1,
    DMUTEX_MEMBER_DEAD = 2,
    DMUTEX_MEMBER_LEFT = 3,
} dmutex_member_state;

typedef struct dmutex_member {
    char *address;               /* HOST:PORT as configured */
    dmutex_member_state state;
    uint32_t incarnation;
    gboolean self;
} dmutex_member;

/* Create a node and join the cluster. `self_addr` must be one of `members`
 * (HOST:PORT; every member uses the same list); it is bound for TCP and UDP.
 * `timeout_ms` bounds every dmutex_lock. Returns NULL with *err set
 * (DMUTEX_ERROR_SETUP) on failure. */
dmutex *dmutex_new(const char *self_addr, const char *const *members, size_t n_members,
                   unsigned timeout_ms, GError **err);

/* The same, with settings from a key file ([dmutex] group, the keys of
 * dmutexd's --config: data_dir, key_file, policy, lease, rpc_timeout,
 * swim.*, ...). config_file may be NULL; self_addr and members may then be
 * NULL/0 to take `id` and `members` from the file. */
dmutex *dmutex_new_full(const char *self_addr, const char *const *members, size_t n_members,
                        unsigned timeout_ms, const char *config_file, GError **err);

/* Acquire `name`, waiting at most the timeout. On success returns TRUE and
 * stores the fencing token (strictly increasing across holders) in *token
 * (may be NULL). A node started without persisted state recovers first
 * (net/README.md, "Starting"): a lock then waits for it, within the same
 * timeout. */
gboolean dmutex_lock(dmutex *d, const char *name, uint64_t *token, GError **err);
/* The same, and *deadline_us (may be NULL) gets the lease deadline (above). */
gboolean dmutex_lock_lease(dmutex *d, const char *name, uint64_t *token, int64_t *deadline_us,
                           GError **err);

gboolean dmutex_unlock(dmutex *d, const char *name, GError **err);

/* Fencing token of a lock this process holds now, 0 if it does not. */
uint64_t dmutex_token(dmutex *d, const char *name);

/* The member list (sorted, as the cluster numbers it); free with
 * dmutex_members_free. */
dmutex_member *dmutex_members(dmutex *d, size_t *n);
void dmutex_members_free(dmutex_member *members, size_t n);

typedef enum dmutex_event_type {
    DMUTEX_EVENT_MEMBER = 1,     /* a member joined or changed state */
    DMUTEX_EVENT_VIEW,           /* the set of members in view changed */
    DMUTEX_EVENT_LOST,           /* a held lock was lost (lease could not be kept) */
    DMUTEX_EVENT_RENEWED,        /* a held lock's lease was renewed: its new deadline_us */
} dmutex_event_type;

typedef struct dmutex_event {
    dmutex_event_type type;
    const char *address;         /* MEMBER: the member */
    dmutex_member_state state;   /* MEMBER: its state now */
    uint32_t incarnation;        /* MEMBER */
    gboolean joined;             /* MEMBER: first time heard from */
    uint32_t view_size;          /* VIEW */
    const char *lock_name;       /* LOST, RENEWED */
    uint64_t token;              /* LOST, RENEWED */
    int64_t deadline_us;         /* RENEWED: the lease now ends then (dmutex_lock_lease) */
} dmutex_event;

/* Called on the library's thread; it must not call dmutex_lock/unlock/
 * members/token (they fail with DMUTEX_ERROR_WOULDBLOCK there). */
typedef void (*dmutex_callback)(const dmutex_event *ev, void *user);

/* Returns an id for dmutex_unsubscribe (> 0). */
unsigned dmutex_subscribe(dmutex *d, dmutex_callback cb, void *user);
void dmutex_unsubscribe(dmutex *d, unsigned id);

/* Leave the cluster (locks released, LEFT announced), stop the thread, free. */
void dmutex_free(dmutex *d);

G_END_DECLS

#endif
