/* dmutex simulator: the safety checkers (see checker.h).
 *
 * Calls arrive in nondecreasing global time, so a hold whose end is <= the
 * time of the current call can never take part in a later violation: such
 * records are dropped whenever they are met, which keeps every per-lock scan
 * proportional to the holders that are (or just were) inside the critical
 * section rather than to the history.
 */
#include "checker.h"

#include <inttypes.h>
#include <stdarg.h>
#include <string.h>

typedef struct lock_state {
    char *name;
    /* Holds not yet pruned, at most one per node. Unordered: a swap-remove
     * reorders it, but identically for identical call sequences. */
    GPtrArray *holds;
    bool granted;
    uint64_t last_token;
    uint32_t last_node;
    bool written;
    uint64_t highest_written;
} lock_state;

typedef struct hold {
    lock_state *lock;
    uint32_t node;
    uint64_t token;
    int64_t end;        /* the lease end: an explicit end drops the hold; a lost one
                         * moves it to MIN(end, t) and marks it closed */
    bool closed;        /* lost: kept for the margin check alone */
    GList node_link;    /* in holds_by_node[node]; data points back here */
} hold;

typedef struct request {
    uint64_t id;
    uint32_t node;
    lock_state *lock;
    int64_t deadline;
    uint64_t seq;       /* ties on deadline go in registration order */
} request;

struct dm_checker {
    uint32_t n_nodes;
    GHashTable *locks;          /* name -> lock_state */
    GQueue *holds_by_node;      /* [n_nodes]; lets node_down avoid scanning all locks */
    GHashTable *requests;       /* &id -> request */
    GTree *by_deadline;         /* request -> request, ordered by (deadline, seq);
                                 * only those not yet reported */
    int64_t next_due;           /* earliest queued deadline, INT64_MAX if none:
                                 * check_deadlines is called after every event */
    uint64_t next_seq;
    bool resource_broken;
    int64_t margin;             /* lost margin, us: holds that ran out stay this long */
    GPtrArray *violations;
    dm_checker_counts counts;
    GHashTable *delays;         /* "arbiter/lock" -> delay */
    /* Lock states by the address of the name last asked for (lock_find):
     * the simulator passes the same few strings for every write, grant and
     * release, and a hit skips hashing the name. */
    lock_state *lock_cache[64];
    void (*on_violation)(void *user);
    void *on_violation_user;
};

/* The last lapse of one lock at one arbiter. */
typedef struct delay {
    int64_t lapsed_at, until;
    uint32_t grantee;
    uint64_t attempt;
    bool released;
} delay;

static void lock_state_free(gpointer p)
{
    lock_state *ls = p;
    g_ptr_array_free(ls->holds, TRUE);
    g_free(ls->name);
    g_free(ls);
}

static void violation_free(gpointer p)
{
    dm_violation *v = p;
    g_free(v->lock);
    g_free(v->text);
    g_free(v);
}

static gint request_cmp(gconstpointer a, gconstpointer b)
{
    const request *x = a, *y = b;
    if (x->deadline != y->deadline)
        return x->deadline < y->deadline ? -1 : 1;
    if (x->seq != y->seq)
        return x->seq < y->seq ? -1 : 1;
    return 0;
}

dm_checker *dm_checker_new(uint32_t n_nodes)
{
    dm_checker *c = g_new0(dm_checker, 1);
    c->n_nodes = n_nodes;
    c->locks = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, lock_state_free);
    c->holds_by_node = g_new0(GQueue, n_nodes);
    c->requests = g_hash_table_new_full(g_int64_hash, g_int64_equal, NULL, g_free);
    c->by_deadline = g_tree_new(request_cmp);
    c->next_due = INT64_MAX;
    c->violations = g_ptr_array_new_with_free_func(violation_free);
    c->delays = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    return c;
}

void dm_checker_free(dm_checker *c)
{
    if (!c)
        return;
    /* Holds are owned by no container; reach each one through its node. */
    for (uint32_t n = 0; n < c->n_nodes; n++) {
        GList *l;
        while ((l = g_queue_pop_head_link(&c->holds_by_node[n])))
            g_free(l->data);
    }
    g_free(c->holds_by_node);
    g_hash_table_destroy(c->delays);
    g_tree_destroy(c->by_deadline);
    g_hash_table_destroy(c->requests);
    g_hash_table_destroy(c->locks);
    g_ptr_array_free(c->violations, TRUE);
    g_free(c);
}

void dm_checker_set_margin(dm_checker *c, int64_t margin_us)
{
    c->margin = MAX(0, margin_us);
}

void dm_checker_set_resource_broken(dm_checker *c, bool broken)
{
    c->resource_broken = broken;
}

/* The state of lock `name`, or NULL. A cached entry counts only when its
 * name is the text asked for, so any string works, reused buffers too. */
static lock_state *lock_find(dm_checker *c, const char *name)
{
    lock_state **slot = &c->lock_cache[((uintptr_t)name >> 3) % G_N_ELEMENTS(c->lock_cache)];
    if (*slot && strcmp((*slot)->name, name) == 0)
        return *slot;
    lock_state *ls = g_hash_table_lookup(c->locks, name);
    if (ls)
        *slot = ls;
    return ls;
}

static lock_state *lock_get(dm_checker *c, const char *name)
{
    lock_state *ls = lock_find(c, name);
    if (!ls) {
        ls = g_new0(lock_state, 1);
        ls->name = g_strdup(name);
        ls->holds = g_ptr_array_new();
        g_hash_table_insert(c->locks, ls->name, ls);
    }
    return ls;
}

G_GNUC_PRINTF(7, 8)
static void report(dm_checker *c, dm_violation_kind kind, int64_t at, const char *lock,
                   uint32_t node, uint32_t other, const char *fmt, ...)
{
    dm_violation *v = g_new0(dm_violation, 1);
    va_list ap;
    v->kind = kind;
    v->at = at;
    v->lock = g_strdup(lock);
    v->node = node;
    v->other = other;
    va_start(ap, fmt);
    v->text = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_ptr_array_add(c->violations, v);
    c->counts.violations[kind]++;
    if (c->on_violation)
        c->on_violation(c->on_violation_user);
}

/* Frees a hold already taken out of its lock's array. */
static void hold_free(dm_checker *c, hold *h)
{
    g_queue_unlink(&c->holds_by_node[h->node], &h->node_link);
    g_free(h);
}

static void hold_drop(dm_checker *c, lock_state *ls, guint index)
{
    hold_free(c, g_ptr_array_remove_index_fast(ls->holds, index));
}

static bool hold_find(const lock_state *ls, uint32_t node, guint *index)
{
    for (guint i = 0; i < ls->holds->len; i++) {
        const hold *h = g_ptr_array_index(ls->holds, i);
        if (h->node == node) {
            *index = i;
            return true;
        }
    }
    return false;
}

void dm_checker_hold_begin(dm_checker *c, int64_t t, uint32_t node, const char *lock,
                           uint64_t token, int64_t lease_end)
{
    g_return_if_fail(node < c->n_nodes);
    lock_state *ls = lock_get(c, lock);
    c->counts.holds++;

    if (ls->granted && token <= ls->last_token)
        report(c, DM_VIOLATION_TOKEN, t, lock, node, UINT32_MAX,
               "token lock=%s: node %" PRIu32 " granted token %" PRIu64 " at t=%" PRId64
               ", not above token %" PRIu64 " granted before to node %" PRIu32,
               lock, node, token, t, ls->last_token, ls->last_node);
    ls->granted = true;
    ls->last_token = token;
    ls->last_node = node;

    /* Downwards, so a swap-remove only moves an already visited hold. */
    for (guint i = ls->holds->len; i-- > 0;) {
        const hold *h = g_ptr_array_index(ls->holds, i);
        if (h->end <= t && h->end + c->margin > t && h->node != node)
            report(c, DM_VIOLATION_MARGIN, t, lock, node, h->node,
                   "margin lock=%s: node %" PRIu32 " granted at t=%" PRId64
                   " only %" PRId64 " us after node %" PRIu32 "'s hold ran out at t=%" PRId64
                   " (lost margin %" PRId64 " us; token %" PRIu64 " vs %" PRIu64 ")",
                   lock, node, t, t - h->end, h->node, h->end, c->margin, token, h->token);
        if (h->end <= t || h->node == node)
            hold_drop(c, ls, i);
        else
            report(c, DM_VIOLATION_MUTEX, t, lock, node, h->node,
                   "mutex lock=%s: node %" PRIu32 " granted at t=%" PRId64
                   " while node %" PRIu32 " holds until t=%" PRId64
                   " (token %" PRIu64 " vs %" PRIu64 ")",
                   lock, node, t, h->node, h->end, token, h->token);
    }

    hold *h = g_new0(hold, 1);
    h->lock = ls;
    h->node = node;
    h->token = token;
    h->end = lease_end;
    h->node_link.data = h;
    g_ptr_array_add(ls->holds, h);
    g_queue_push_tail_link(&c->holds_by_node[node], &h->node_link);
}

void dm_checker_hold_extend(dm_checker *c, int64_t t, uint32_t node, const char *lock,
                            int64_t lease_end)
{
    lock_state *ls = lock_find(c, lock);
    guint i;
    if (!ls || !hold_find(ls, node, &i))
        return;
    hold *h = g_ptr_array_index(ls->holds, i);
    if (h->end <= t || h->closed)
        hold_drop(c, ls, i);    /* expired: a late renewal must not revive it */
    else
        h->end = lease_end;
}

void dm_checker_hold_end(dm_checker *c, int64_t t, uint32_t node, const char *lock,
                         const char *why)
{
    /* The hold is closed at MIN(end, t) <= t, so no later call can see it
     * open: dropping it is all there is to do, and `why` has no later
     * violation to appear in. */
    (void)t;
    (void)why;
    lock_state *ls = lock_find(c, lock);
    guint i;
    if (ls && hold_find(ls, node, &i))
        hold_drop(c, ls, i);
}

void dm_checker_hold_lost(dm_checker *c, int64_t t, uint32_t node, const char *lock)
{
    lock_state *ls = lock_find(c, lock);
    guint i;
    if (!ls || !hold_find(ls, node, &i))
        return;
    hold *h = g_ptr_array_index(ls->holds, i);
    if (c->margin == 0) {
        hold_drop(c, ls, i);    /* nothing left to check: as an explicit end */
        return;
    }
    h->end = MIN(h->end, t);
    h->closed = true;
}

void dm_checker_node_down(dm_checker *c, int64_t t, uint32_t node, const char *why)
{
    (void)t;
    (void)why;
    g_return_if_fail(node < c->n_nodes);
    GList *l;
    while ((l = c->holds_by_node[node].head)) {
        hold *h = l->data;
        g_ptr_array_remove_fast(h->lock->holds, h);
        hold_free(c, h);
    }
}

static bool lock_held(const lock_state *ls, int64_t t, uint32_t node)
{
    guint i;
    if (!ls || !hold_find(ls, node, &i))
        return false;
    const hold *h = g_ptr_array_index(ls->holds, i);
    return !h->closed && t < h->end;
}

bool dm_checker_holds(const dm_checker *c, int64_t t, uint32_t node, const char *lock)
{
    return lock_held(g_hash_table_lookup(c->locks, lock), t, node);
}

bool dm_checker_write(dm_checker *c, int64_t t, uint32_t node, const char *lock, uint64_t token)
{
    lock_state *ls = lock_get(c, lock);
    bool accept = c->resource_broken || !ls->written || token >= ls->highest_written;
    if (!accept) {
        c->counts.writes_rejected++;
        return false;
    }
    c->counts.writes_accepted++;
    /* Judged against the accepted writes alone, not the resource's rule, so
     * that a wrong rule is caught rather than trusted. */
    if (ls->written && token < ls->highest_written)
        report(c, DM_VIOLATION_FENCE, t, lock, node, UINT32_MAX,
               "fence lock=%s: resource accepted token %" PRIu64 " from node %" PRIu32
               " at t=%" PRId64 " after accepting token %" PRIu64,
               lock, token, node, t, ls->highest_written);
    else if (!lock_held(ls, t, node))   /* ls found above: no second lookup */
        c->counts.stale_writes_accepted++;
    if (!ls->written || token > ls->highest_written)
        ls->highest_written = token;
    ls->written = true;
    return true;
}

static void next_due_update(dm_checker *c)
{
    GTreeNode *first = g_tree_node_first(c->by_deadline);
    c->next_due = first ? ((const request *)g_tree_node_key(first))->deadline : INT64_MAX;
}

static void request_unqueue(dm_checker *c, request *r)
{
    if (g_tree_remove(c->by_deadline, r) && r->deadline == c->next_due)
        next_due_update(c);
}

void dm_checker_expect(dm_checker *c, uint64_t id, uint32_t node, const char *lock, int64_t deadline)
{
    /* Reusing a live id replaces the old request and its deadline. */
    dm_checker_resolve(c, id);
    request *r = g_new0(request, 1);
    r->id = id;
    r->node = node;
    r->lock = lock_get(c, lock);
    r->deadline = deadline;
    r->seq = c->next_seq++;
    g_hash_table_insert(c->requests, &r->id, r);
    g_tree_insert(c->by_deadline, r, r);
    if (deadline < c->next_due)
        c->next_due = deadline;
}

void dm_checker_resolve(dm_checker *c, uint64_t id)
{
    request *r = g_hash_table_lookup(c->requests, &id);
    if (!r)
        return;
    request_unqueue(c, r);
    g_hash_table_remove(c->requests, &id);
}

void dm_checker_check_deadlines(dm_checker *c, int64_t t)
{
    while (c->next_due <= t) {
        request *r = g_tree_node_key(g_tree_node_first(c->by_deadline));
        report(c, DM_VIOLATION_LIVENESS, t, r->lock->name, r->node, UINT32_MAX,
               "liveness lock=%s: node %" PRIu32 " request %" PRIu64
               " unresolved at t=%" PRId64 ", %" PRId64 " us past its deadline t=%" PRId64,
               r->lock->name, r->node, r->id, t, t - r->deadline, r->deadline);
        request_unqueue(c, r);
    }
}

void dm_checker_add_violation(dm_checker *c, dm_violation_kind kind, int64_t t, const char *lock,
                              uint32_t node, const char *text)
{
    g_return_if_fail(kind >= DM_VIOLATION_MUTEX && kind <= DM_VIOLATION_DELAY);
    report(c, kind, t, lock, node, UINT32_MAX, "%s", text);
}

static delay *delay_of(dm_checker *c, uint32_t arbiter, const char *lock, bool create)
{
    g_autofree char *key = g_strdup_printf("%u/%s", arbiter, lock);
    delay *d = g_hash_table_lookup(c->delays, key);
    if (!d && create) {
        d = g_new0(delay, 1);
        g_hash_table_insert(c->delays, g_steal_pointer(&key), d);
    }
    return d;
}

void dm_checker_arb_lapse(dm_checker *c, int64_t t, uint32_t arbiter, const char *lock,
                          uint32_t grantee, uint64_t attempt, int64_t until)
{
    *delay_of(c, arbiter, lock, true) = (delay){ t, until, grantee, attempt, false };
}

void dm_checker_arb_release(dm_checker *c, int64_t t, uint32_t arbiter, const char *lock,
                            uint32_t grantee, uint64_t attempt)
{
    (void)t;
    delay *d = delay_of(c, arbiter, lock, false);
    if (d && d->grantee == grantee && d->attempt == attempt)
        d->released = true;
}

void dm_checker_arb_grant(dm_checker *c, int64_t t, uint32_t arbiter, const char *lock,
                          uint32_t grantee)
{
    const delay *d = delay_of(c, arbiter, lock, false);
    if (d && !d->released && t < d->until)
        report(c, DM_VIOLATION_DELAY, t, lock, grantee, d->grantee,
               "lock %s: arbiter %u granted it to node %u at t=%" PRId64 ", %" PRId64
               " us after the grant to node %u lapsed (t=%" PRId64 ") with no release; lock_delay "
               "lasts until t=%" PRId64,
               lock, arbiter, grantee, t, t - d->lapsed_at, d->grantee, d->lapsed_at, d->until);
}

uint32_t dm_checker_pending(const dm_checker *c)
{
    return g_hash_table_size(c->requests);
}

const dm_checker_counts *dm_checker_get_counts(const dm_checker *c)
{
    return &c->counts;
}

uint32_t dm_checker_violation_count(const dm_checker *c)
{
    return c->violations->len;
}

void dm_checker_on_violation(dm_checker *c, void (*fn)(void *user), void *user)
{
    c->on_violation = fn;
    c->on_violation_user = user;
}

const dm_violation *dm_checker_violation(const dm_checker *c, uint32_t i)
{
    return i < c->violations->len ? g_ptr_array_index(c->violations, i) : NULL;
}

const char *dm_violation_kind_name(int kind)
{
    static const char *const names[] = {
        [DM_VIOLATION_MUTEX] = "mutex", [DM_VIOLATION_TOKEN] = "token",
        [DM_VIOLATION_FENCE] = "fence", [DM_VIOLATION_LIVENESS] = "liveness",
        [DM_VIOLATION_MARGIN] = "margin", [DM_VIOLATION_DELAY] = "delay",
    };
    return kind >= DM_VIOLATION_MUTEX && kind <= DM_VIOLATION_DELAY ? names[kind] : "?";
}
