/* redlock-bench: lock+unlock cycles with Redlock over N Redis instances, the
 * lock our users would otherwise pick for a quorum of independent nodes; the
 * comparison point of experiments/lock-bench.sh. Built only when configure
 * finds hiredis; no test needs it.
 *
 *   redlock-bench --servers HOST:PORT,... --cycles N [--clients C]
 *                 [--lock NAME] [--ttl MS] [--latencies FILE]
 *
 * The client follows the Redlock description (redis.io, "Distributed Locks
 * with Redis"): SET name value NX PX ttl to every instance at once (all
 * requests written before any answer is read, so the instances work in
 * parallel), acquired when a majority said OK and the validity time
 * ttl - elapsed - drift is still positive; otherwise it releases every
 * instance and retries after a random delay. Release is the compare-and-delete
 * script (EVALSHA of the script loaded once), again to all instances in
 * parallel, and the cycle ends when all answered. C client threads share N
 * cycles on one name, each with its own connections. Prints, last, the same
 * line as dmutex-bench:
 *   cycles=... failed=... clients=... seconds=... cycles_per_s=... p50_us=... p99_us=...
 * Exit status: 0, 1 if any cycle failed, 2 usage, 3 cannot reach a server.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "cycles.h"
#include <hiredis/hiredis.h>

#define MAX_SERVERS 16

static const char release_script[] =
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

typedef struct shared {
    char *hosts[MAX_SERVERS];
    int ports[MAX_SERVERS];
    int n;
    const char *name;
    int ttl_ms;
    gint remaining;
    gint failed;
    gint unreachable;
    gint retries;
} shared;

typedef struct client {
    GArray *lat;             /* first (dm_cycles_run): gint64 us per successful cycle */
    shared *sh;
    int id;
} client;

/* Write every instance's buffered command, then collect the answers: the
 * instances serve the request concurrently, as Redlock asks. */
static bool flush_all(redisContext **cx, int n)
{
    for (int i = 0; i < n; i++) {
        int done = 0;
        while (!done)
            if (redisBufferWrite(cx[i], &done) != REDIS_OK)
                return false;
    }
    return true;
}

/* Sends the release script to all instances; false if one is unreachable. */
static bool release_all(redisContext **cx, int n, const char *sha, const char *name, const char *val)
{
    for (int i = 0; i < n; i++)
        redisAppendCommand(cx[i], "EVALSHA %s 1 %s %s", sha, name, val);
    if (!flush_all(cx, n))
        return false;
    for (int i = 0; i < n; i++) {
        redisReply *r = NULL;
        if (redisGetReply(cx[i], (void **)&r) != REDIS_OK)
            return false;
        freeReplyObject(r);
    }
    return true;
}

static gpointer run_client(gpointer user)
{
    client *c = user;
    shared *sh = c->sh;
    redisContext *cx[MAX_SERVERS] = { 0 };
    char sha[64] = "";
    bool ok = true;
    for (int i = 0; i < sh->n && ok; i++) {
        struct timeval tv = { 10, 0 };
        cx[i] = redisConnectWithTimeout(sh->hosts[i], sh->ports[i], tv);
        ok = cx[i] && !cx[i]->err && redisSetTimeout(cx[i], tv) == REDIS_OK;
        if (ok) {
            redisReply *r = redisCommand(cx[i], "SCRIPT LOAD %s", release_script);
            ok = r && r->type == REDIS_REPLY_STRING && r->len < (int)sizeof sha;
            if (ok)
                g_strlcpy(sha, r->str, sizeof sha);
            freeReplyObject(r);
        }
    }
    int quorum = sh->n / 2 + 1;
    /* Redlock's clock drift allowance: 1% of the TTL plus 2 ms. */
    gint64 drift_us = (gint64)sh->ttl_ms * 10 + 2000;
    GRand *rng = g_rand_new_with_seed((guint32)(c->id * 7919 + 1));
    guint64 seq = 0;
    while (ok && g_atomic_int_add(&sh->remaining, -1) > 0) {
        gint64 t0 = g_get_monotonic_time();
        gint64 deadline = t0 + 10 * G_USEC_PER_SEC;
        char val[64];
        bool held = false;
        while (!held && ok && g_get_monotonic_time() < deadline) {
            snprintf(val, sizeof val, "%d:%" G_GUINT64_FORMAT ":%u", c->id, ++seq, g_rand_int(rng));
            gint64 start = g_get_monotonic_time();
            for (int i = 0; i < sh->n; i++)
                redisAppendCommand(cx[i], "SET %s %s NX PX %d", sh->name, val, sh->ttl_ms);
            if (!flush_all(cx, sh->n)) {
                ok = false;
                break;
            }
            int granted = 0;
            for (int i = 0; i < sh->n; i++) {
                redisReply *r = NULL;
                if (redisGetReply(cx[i], (void **)&r) != REDIS_OK) {
                    ok = false;
                    break;
                }
                granted += r->type == REDIS_REPLY_STATUS && strcmp(r->str, "OK") == 0;
                freeReplyObject(r);
            }
            if (!ok)
                break;
            gint64 validity = (gint64)sh->ttl_ms * 1000 - (g_get_monotonic_time() - start) - drift_us;
            if (granted >= quorum && validity > 0) {
                held = true;
                break;
            }
            /* Not acquired: undo what was granted, wait a random while so
             * that contenders do not collide again in step. */
            if (!release_all(cx, sh->n, sha, sh->name, val)) {
                ok = false;
                break;
            }
            g_atomic_int_inc(&sh->retries);
            g_usleep(g_rand_int_range(rng, 0, 200));
        }
        if (!ok) {
            g_atomic_int_inc(&sh->unreachable);
            break;
        }
        if (!held) {
            g_atomic_int_inc(&sh->failed);
            continue;
        }
        if (!release_all(cx, sh->n, sha, sh->name, val)) {
            g_atomic_int_inc(&sh->unreachable);
            break;
        }
        gint64 dt = g_get_monotonic_time() - t0;
        g_array_append_val(c->lat, dt);
    }
    if (!ok && c->lat->len == 0 && sh->remaining > 0)
        g_atomic_int_inc(&sh->unreachable);
    g_rand_free(rng);
    for (int i = 0; i < sh->n; i++)
        if (cx[i])
            redisFree(cx[i]);
    return NULL;
}

static bool parse_servers(shared *sh, const char *list)
{
    gchar **parts = g_strsplit(list, ",", -1);
    bool ok = true;
    for (int i = 0; parts[i] && ok; i++) {
        char *colon = strrchr(parts[i], ':');
        char *end = NULL;
        long port = colon ? strtol(colon + 1, &end, 10) : 0;
        ok = sh->n < MAX_SERVERS && colon && colon != parts[i] && end && *end == '\0' &&
             port > 0 && port < 65536;
        if (ok) {
            sh->hosts[sh->n] = g_strndup(parts[i], (gsize)(colon - parts[i]));
            sh->ports[sh->n++] = (int)port;
        }
    }
    g_strfreev(parts);
    return ok && sh->n > 0;
}

int main(int argc, char **argv)
{
    char *servers = NULL, *name = NULL, *lat_file = NULL;
    gint cycles = 0, clients = 1, ttl_ms = 10000;
    GOptionEntry entries[] = {
        { "servers", 0, 0, G_OPTION_ARG_STRING, &servers, "the Redis instances", "HOST:PORT,..." },
        { "cycles", 0, 0, G_OPTION_ARG_INT, &cycles, "lock+unlock cycles in all", "N" },
        { "clients", 0, 0, G_OPTION_ARG_INT, &clients, "concurrent clients (default 1)", "C" },
        { "lock", 0, 0, G_OPTION_ARG_STRING, &name, "lock name (default bench)", "NAME" },
        { "ttl", 0, 0, G_OPTION_ARG_INT, &ttl_ms, "lock validity (default 10000)", "MS" },
        { "latencies", 0, 0, G_OPTION_ARG_FILENAME, &lat_file, "write every cycle's latency (us) here", "FILE" },
        G_OPTION_ENTRY_NULL,
    };
    GOptionContext *ctx = g_option_context_new("- Redlock lock+unlock cycles over Redis instances");
    g_option_context_add_main_entries(ctx, entries, NULL);
    GError *err = NULL;
    shared sh = { .n = 0 };
    if (!g_option_context_parse(ctx, &argc, &argv, &err) || argc > 1 || !servers ||
        !parse_servers(&sh, servers) || cycles <= 0 || clients <= 0 || clients > 1024 || ttl_ms <= 10) {
        fprintf(stderr, "redlock-bench: %s\n",
                err ? err->message
                    : "--servers HOST:PORT,... (at most 16) and --cycles N (> 0) are required; "
                      "1 <= C <= 1024; --ttl above 10 ms");
        g_clear_error(&err);
        g_option_context_free(ctx);
        for (int i = 0; i < sh.n; i++)
            g_free(sh.hosts[i]);
        g_free(servers);
        g_free(name);
        g_free(lat_file);
        return 2;
    }
    g_option_context_free(ctx);
    sh.name = name ? name : "bench";
    sh.ttl_ms = ttl_ms;
    sh.remaining = cycles;
    client *cl = g_new0(client, clients);
    for (int i = 0; i < clients; i++) {
        cl[i].sh = &sh;
        cl[i].id = i;
    }
    guint n;
    int rc = dm_cycles_run(run_client, cl, sizeof *cl, clients, &sh.failed, lat_file, "redlock-bench", &n);
    if (sh.unreachable)
        fprintf(stderr, "redlock-bench: lost or could not open %d client's connections\n", sh.unreachable);
    fprintf(stderr, "redlock-bench: %d acquisition(s) retried (no majority within the validity time)\n", sh.retries);
    g_free(cl);
    for (int i = 0; i < sh.n; i++)
        g_free(sh.hosts[i]);
    g_free(servers);
    g_free(name);
    g_free(lat_file);
    if (rc != 0)
        return rc;
    if (sh.unreachable && n == 0)
        return 3;
    return sh.failed || sh.unreachable ? 1 : 0;
}
