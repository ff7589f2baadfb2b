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
    DMUTEX_ERROR_CANCELED = 19,  /* dmutex_cancel ended the acquisition */
    DMUTEX_ERROR_HELD = 23,      /* dmutex_trylock: another holder has the lock */
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

/* dmutex_new with a data directory (created if missing) where the node
 * keeps its token counter and attempt epoch: a restart then resumes at
 * once. Without one (dmutex_new, or a key file without data_dir) every
 * start is a start without persisted state -- the node grants nothing for
 * a lease and until it has recovered a token floor from the others, and a
 * node no quorum can do without (a one-member cluster) never grants again;
 * the library says so with a g_warning. */
dmutex *dmutex_new_with_dir(const char *self_addr, const char *const *members, size_t n_members,
                            unsigned timeout_ms, const char *data_dir, GError **err);

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

/* dmutex_lock with a timeout of its own for this call (timeout_ms >= 1,
 * else DMUTEX_ERROR_INVAL); the handle's timeout is untouched. */
gboolean dmutex_lock_timeout(dmutex *d, const char *name, unsigned timeout_ms, uint64_t *token,
                             GError **err);

/* Acquire `name` unless another holder has it: fails with
 * DMUTEX_ERROR_HELD after about one round trip when an arbiter of the
 * quorum has granted it to a holder (or withholds it: lock_delay), instead
 * of waiting for it. Mere contention (others acquiring at the same moment,
 * nobody holding) is resolved as for dmutex_lock, within timeout_ms (0:
 * the handle's timeout). A HELD may be stale by the time it returns (the
 * holder just released): try again. BUSY when this process holds or is
 * acquiring it, as for dmutex_lock. */
gboolean dmutex_trylock(dmutex *d, const char *name, unsigned timeout_ms, uint64_t *token,
                        GError **err);

/* Abandon this process's acquisition of `name` in progress, from any
 * thread (also from a callback): the waiting dmutex_lock returns FALSE with
 * DMUTEX_ERROR_CANCELED, every grant it collected is given back. Fails with
 * DMUTEX_ERROR_NOTHELD when nothing is being acquired, DMUTEX_ERROR_BUSY
 * when the lock is already held (unlock it instead). */
gboolean dmutex_cancel(dmutex *d, const char *name, GError **err);

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

/* Called on the library's thread, which runs the node: while it runs,
 * nothing else happens (no message is read, no lease renewed), so keep it
 * short. The rule: a call that waits for the node is refused there --
 * dmutex_lock, dmutex_lock_timeout, dmutex_trylock, dmutex_lock_lease and
 * dmutex_unlock fail with
 * DMUTEX_ERROR_WOULDBLOCK, dmutex_token returns 0, dmutex_members NULL,
 * dmutex_free is ignored with a g_critical -- because the node cannot
 * answer while its thread waits for it. Calls that do not wait are
 * allowed: dmutex_cancel, dmutex_subscribe, dmutex_unsubscribe,
 * dmutex_set_log_handler. To lock from an event, hand the work to a thread
 * of the application's. */
typedef void (*dmutex_callback)(const dmutex_event *ev, void *user);

/* Returns an id for dmutex_unsubscribe (> 0). Events are delivered from
 * the subscription on, never replayed: members may have joined before it,
 * so read the current state with dmutex_members() after subscribing. */
unsigned dmutex_subscribe(dmutex *d, dmutex_callback cb, void *user);
void dmutex_unsubscribe(dmutex *d, unsigned id);

/* Where the library's log messages go (process-wide: the GLib log domains
 * "dmutex-net" and "dmutex-core"). Messages less severe than `level`
 * (G_LOG_LEVEL_ERROR .. G_LOG_LEVEL_DEBUG: a message is kept when its level
 * is `level` or more severe) are dropped; the rest go to `fn`, or, with fn
 * NULL, to GLib's default handler (stderr; info and debug only with
 * G_MESSAGES_DEBUG). With a handler installed the library writes nothing to
 * stderr. `fn` may be called from any thread, the library's included. Until
 * the first call every message goes to GLib's default handling. */
typedef void (*dmutex_log_func)(GLogLevelFlags level, const char *domain, const char *message,
                                void *user);
void dmutex_set_log_handler(dmutex_log_func fn, GLogLevelFlags level, void *user);

/* Leave the cluster (locks released, LEFT announced), stop the thread, free. */
void dmutex_free(dmutex *d);

G_END_DECLS

#endif
