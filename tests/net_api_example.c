/* tests/net_api_example.c -- libdmutex from a small C program, as an
 * application embeds it (the original Go package's NewDMutex/Lock/UnLock).
 *
 *   net_api_example SELF MEMBERS CONFIG TOKEN_FILE [HELD]
 *
 * Joins the cluster as SELF (MEMBERS comma-separated, CONFIG a dmutexd
 * config file for short timings), then checks: members() and subscribe();
 * lock gives a token; a second lock of the same name fails at once with
 * DMUTEX_ERROR_BUSY (also from another thread); token(); unlock; unlock
 * again is NOTHELD; lock_lease gives a deadline ahead that a RENEWED event
 * moves on; 4 threads lock and unlock names concurrently. Writes the
 * first token to TOKEN_FILE. Also: the log hook takes the library's
 * messages (the loud "no data directory" warning among them: CONFIG has
 * none); from a callback, dmutex_lock is refused (WOULDBLOCK) and
 * dmutex_cancel allowed; dmutex_lock_timeout takes a timeout of its own.
 * With HELD, a name another member holds throughout: a try-lock fails
 * with DMUTEX_ERROR_HELD well within its timeout, a lock with a short
 * timeout of its own times out, and a lock waiting on another thread is
 * cancelled. A try-lock of a free name acquires it. Exit 0 when all hold,
 * 1 otherwise.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dmutex.h"

static int failures;
#define CHECK(cond, ...) do { if (!(cond)) { failures++; fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
    fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); } } while (0)

static gint member_events;
static gint log_lines, log_nodir;
static gint cb_lock_refused = -1, cb_cancel_ran = -1;   /* -1: not tried yet */

static void on_log(GLogLevelFlags level, const char *domain, const char *message, void *user)
{
    (void)user;
    g_atomic_int_inc(&log_lines);
    if ((level & G_LOG_LEVEL_WARNING) && strstr(message, "no data directory"))
        g_atomic_int_set(&log_nodir, 1);
    printf("log %s: %s\n", domain, message);
}

static GMutex renewed_mu;
static gint64 renewed_deadline;   /* the latest RENEWED deadline of "lease", under renewed_mu */

static gint64 renewed(void)
{
    g_mutex_lock(&renewed_mu);
    gint64 v = renewed_deadline;
    g_mutex_unlock(&renewed_mu);
    return v;
}

static void on_event(const dmutex_event *ev, void *user)
{
    dmutex *d = user;
    /* Any event will do: member events may all have fired before the
     * subscription; a RENEWED of "lease" below comes for certain. */
    if (g_atomic_int_get(&cb_lock_refused) < 0) {
        /* The callback rule (dmutex.h): waiting calls are refused here,
         * calls that do not wait run. */
        GError *err = NULL;
        gboolean refused = !dmutex_lock(d, "from-callback", NULL, &err) &&
                           g_error_matches(err, DMUTEX_ERROR, DMUTEX_ERROR_WOULDBLOCK);
        g_clear_error(&err);
        gboolean ran = !dmutex_cancel(d, "from-callback", &err) &&
                       g_error_matches(err, DMUTEX_ERROR, DMUTEX_ERROR_NOTHELD);
        g_clear_error(&err);
        g_atomic_int_set(&cb_cancel_ran, ran);
        g_atomic_int_set(&cb_lock_refused, refused);
    }
    if (ev->type == DMUTEX_EVENT_MEMBER) {
        g_atomic_int_inc(&member_events);
        printf("event: member %s state %d incarnation %u%s\n", ev->address, ev->state, ev->incarnation,
               ev->joined ? " (joined)" : "");
    } else if (ev->type == DMUTEX_EVENT_RENEWED && strcmp(ev->lock_name, "lease") == 0) {
        g_mutex_lock(&renewed_mu);
        renewed_deadline = ev->deadline_us;
        g_mutex_unlock(&renewed_mu);
    } else if (ev->type == DMUTEX_EVENT_LOST) {
        printf("event: lost %s token %" G_GUINT64_FORMAT "\n", ev->lock_name, ev->token);
    }
}

static gpointer busy_from_thread(gpointer d)
{
    GError *err = NULL;
    gboolean ok = dmutex_lock(d, "api", NULL, &err);
    gboolean busy = !ok && g_error_matches(err, DMUTEX_ERROR, DMUTEX_ERROR_BUSY);
    g_clear_error(&err);
    return GINT_TO_POINTER(busy);
}

typedef struct worker {
    dmutex *d;
    int id;
    int done;
} worker;

static gpointer work(gpointer user)
{
    worker *w = user;
    char name[16];
    snprintf(name, sizeof name, "t%d", w->id);
    uint64_t last = 0;
    for (int i = 0; i < 5; i++) {
        GError *err = NULL;
        uint64_t tok = 0;
        if (!dmutex_lock(w->d, name, &tok, &err)) {
            fprintf(stderr, "worker %d: %s\n", w->id, err->message);
            g_error_free(err);
            continue;
        }
        if (tok > last && dmutex_token(w->d, name) == tok && dmutex_unlock(w->d, name, NULL))
            w->done++;
        last = tok;
    }
    return NULL;
}

typedef struct waiter {
    dmutex *d;
    const char *name;
    int code;                /* the error code the lock ended with, 0: acquired */
} waiter;

static gpointer wait_lock(gpointer user)
{
    waiter *w = user;
    GError *err = NULL;
    w->code = dmutex_lock_timeout(w->d, w->name, 30000, NULL, &err) ? 0 : err->code;
    g_clear_error(&err);
    return NULL;
}

/* Checks that need a name another member holds throughout. */
static void check_held_elsewhere(dmutex *d, const char *held)
{
    GError *err = NULL;
    gint64 t0 = g_get_monotonic_time();
    CHECK(!dmutex_trylock(d, held, 20000, NULL, &err) && g_error_matches(err, DMUTEX_ERROR, DMUTEX_ERROR_HELD),
          "trylock of %s not HELD: %s", held, err ? err->message : "acquired");
    g_clear_error(&err);
    /* "At once": one round trip on loopback, far below the 20 s timeout (a
     * bound, not a speed figure). */
    CHECK(g_get_monotonic_time() - t0 < 10 * G_USEC_PER_SEC, "trylock of %s waited %" G_GINT64_FORMAT " us", held,
          g_get_monotonic_time() - t0);
    CHECK(!dmutex_lock_timeout(d, held, 300, NULL, &err) &&
          g_error_matches(err, DMUTEX_ERROR, DMUTEX_ERROR_TIMEDOUT), "lock of %s with 300 ms not TIMEDOUT: %s",
          held, err ? err->message : "acquired");
    g_clear_error(&err);
    waiter w = { d, held, -1 };
    GThread *t = g_thread_new("waiter", wait_lock, &w);
    /* Bounded: until the waiter's acquisition has started (NOTHELD before). */
    gboolean cancelled = FALSE;
    for (int i = 0; i < 100 && !cancelled; i++) {
        g_usleep(20000);
        cancelled = dmutex_cancel(d, held, &err);
        g_clear_error(&err);
    }
    g_thread_join(t);
    CHECK(cancelled && w.code == DMUTEX_ERROR_CANCELED, "cancel from another thread: cancel %d, lock ended %d",
          cancelled, w.code);
    printf("held elsewhere: own timeout and cancel ok\n");
}

int main(int argc, char **argv)
{
    if (argc != 5 && argc != 6) {
        fprintf(stderr, "usage: net_api_example SELF MEMBERS CONFIG TOKEN_FILE [HELD]\n");
        return 2;
    }
    dmutex_set_log_handler(on_log, G_LOG_LEVEL_INFO, NULL);
    gchar **members = g_strsplit(argv[2], ",", -1);
    GError *err = NULL;
    dmutex *d = dmutex_new_full(argv[1], (const char *const *)members, g_strv_length(members), 5000,
                                argv[3], &err);
    if (!d) {
        fprintf(stderr, "dmutex_new: %s\n", err->message);
        return 1;
    }
    CHECK(g_atomic_int_get(&log_nodir), "no 'no data directory' warning reached the log handler");
    dmutex_subscribe(d, on_event, d);
    /* Events are not replayed to a new subscriber (dmutex.h): a member
     * event is owed only if some member was not alive yet when it
     * subscribed. Under load every member may be alive by then. */
    size_t n = 0, alive = 0;
    {
        dmutex_member *m0 = dmutex_members(d, &n);
        for (size_t k = 0; k < n; k++)
            alive += m0[k].state == DMUTEX_MEMBER_ALIVE;
        dmutex_members_free(m0, n);
    }
    gboolean event_owed = alive < g_strv_length(members);

    /* Wait (bounded) until every member is alive and, if owed, one event came. */
    for (int i = 0; i < 100 && (alive < g_strv_length(members) || (event_owed && !g_atomic_int_get(&member_events))); i++) {
        dmutex_member *m = dmutex_members(d, &n);
        alive = 0;
        for (size_t k = 0; k < n; k++)
            alive += m[k].state == DMUTEX_MEMBER_ALIVE;
        dmutex_members_free(m, n);
        if (alive < n || (event_owed && !g_atomic_int_get(&member_events)))
            g_usleep(100000);
    }
    CHECK(alive == g_strv_length(members), "only %zu of %u members alive", alive, g_strv_length(members));
    dmutex_member *m = dmutex_members(d, &n);
    int selves = 0;
    for (size_t k = 0; k < n; k++) {
        printf("member %s state %d incarnation %u%s\n", m[k].address, m[k].state, m[k].incarnation,
               m[k].self ? " (self)" : "");
        selves += m[k].self;
    }
    CHECK(selves == 1 && n == g_strv_length(members), "member list wrong");
    dmutex_members_free(m, n);
    CHECK(!event_owed || g_atomic_int_get(&member_events) > 0, "no member event delivered");

    uint64_t token = 0;
    CHECK(dmutex_lock(d, "api", &token, &err), "lock: %s", err ? err->message : "?");
    g_clear_error(&err);
    CHECK(token > 0, "no token");
    printf("token %" G_GUINT64_FORMAT "\n", token);
    FILE *f = fopen(argv[4], "w");
    if (f) {
        fprintf(f, "%" G_GUINT64_FORMAT "\n", token);
        fclose(f);
    }
    CHECK(!dmutex_lock(d, "api", NULL, &err) && g_error_matches(err, DMUTEX_ERROR, DMUTEX_ERROR_BUSY),
          "second lock not BUSY");
    g_clear_error(&err);
    GThread *t = g_thread_new("busy", busy_from_thread, d);
    CHECK(GPOINTER_TO_INT(g_thread_join(t)), "lock from another thread not BUSY");
    CHECK(dmutex_token(d, "api") == token, "token() disagrees");
    CHECK(dmutex_unlock(d, "api", &err), "unlock: %s", err ? err->message : "?");
    g_clear_error(&err);
    CHECK(dmutex_token(d, "api") == 0, "token() after unlock");
    CHECK(!dmutex_unlock(d, "api", &err) && g_error_matches(err, DMUTEX_ERROR, DMUTEX_ERROR_NOTHELD),
          "second unlock not NOTHELD");
    g_clear_error(&err);
    CHECK(dmutex_lock_timeout(d, "api-t", 3000, &token, &err) && token > 0, "lock_timeout: %s",
          err ? err->message : "no token");
    g_clear_error(&err);
    CHECK(!dmutex_cancel(d, "api-t", &err) && g_error_matches(err, DMUTEX_ERROR, DMUTEX_ERROR_BUSY),
          "cancel of a held lock not BUSY");
    g_clear_error(&err);
    CHECK(dmutex_unlock(d, "api-t", NULL), "unlock api-t");
    CHECK(dmutex_trylock(d, "api-try", 0, &token, &err) && token > 0, "trylock of a free name: %s",
          err ? err->message : "no token");
    g_clear_error(&err);
    CHECK(dmutex_unlock(d, "api-try", NULL), "unlock api-try");
    CHECK(!dmutex_lock_timeout(d, "api-t", 0, NULL, &err) && g_error_matches(err, DMUTEX_ERROR, DMUTEX_ERROR_INVAL),
          "lock_timeout 0 not INVAL");
    g_clear_error(&err);
    if (argc == 6)
        check_held_elsewhere(d, argv[5]);
    CHECK(!dmutex_lock(d, "", NULL, &err) && g_error_matches(err, DMUTEX_ERROR, DMUTEX_ERROR_BADNAME),
          "empty name accepted");
    g_clear_error(&err);

    /* The lease deadline: in the future on g_get_monotonic_time()'s clock,
     * and moved on by a renewal (bounded wait: 3 s, several renewals). */
    int64_t deadline = 0;
    CHECK(dmutex_lock_lease(d, "lease", &token, &deadline, &err), "lock_lease: %s", err ? err->message : "?");
    g_clear_error(&err);
    CHECK(deadline > g_get_monotonic_time(), "lease deadline %" G_GINT64_FORMAT " not ahead", deadline);
    for (int i = 0; i < 30 && renewed() <= deadline; i++)
        g_usleep(100000);
    CHECK(renewed() > deadline, "no RENEWED event moved the deadline on");
    CHECK(g_atomic_int_get(&cb_lock_refused) == 1, "dmutex_lock from a callback not refused with WOULDBLOCK");
    CHECK(g_atomic_int_get(&cb_cancel_ran) == 1, "dmutex_cancel from a callback did not run");
    CHECK(dmutex_unlock(d, "lease", NULL), "unlock lease");

    worker w[4];
    GThread *th[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (worker){ d, i, 0 };
        th[i] = g_thread_new("worker", work, &w[i]);
    }
    for (int i = 0; i < 4; i++) {
        g_thread_join(th[i]);
        CHECK(w[i].done == 5, "worker %d did %d of 5 cycles", i, w[i].done);
    }
    /* Hold a lock into dmutex_free: leaving releases it. */
    CHECK(dmutex_lock(d, "held-at-exit", NULL, &err), "lock before free");
    g_clear_error(&err);
    dmutex_free(d);
    g_strfreev(members);

    /* Bad setups fail cleanly. */
    const char *one[] = { "127.0.0.1:1" };
    CHECK(dmutex_new("127.0.0.1:2", one, 1, 1000, &err) == NULL &&
          g_error_matches(err, DMUTEX_ERROR, DMUTEX_ERROR_SETUP), "self outside members accepted");
    g_clear_error(&err);
    CHECK(dmutex_new_with_dir("127.0.0.1:2", one, 1, 1000, NULL, &err) == NULL &&
          g_error_matches(err, DMUTEX_ERROR, DMUTEX_ERROR_SETUP), "new_with_dir without a directory accepted");
    g_clear_error(&err);
    CHECK(g_atomic_int_get(&log_lines) > 0, "the log handler saw nothing");
    printf("net_api_example: %s\n", failures ? "FAILED" : "all checks passed");
    return failures ? 1 : 0;
}
