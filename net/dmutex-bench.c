/* dmutex-bench: lock+unlock cycles against a local dmutexd.
 *
 *   dmutex-bench --control PATH --cycles N [--clients C] [--lock NAME]
 *                [--timeout MS] [--latencies FILE]
 *
 * C client threads, each with its own control connection, share N cycles
 * (LOCK NAME; UNLOCK NAME). All contend for one name (clients of one daemon
 * queue in the daemon). The latency of a cycle runs from sending LOCK to
 * the answer of UNLOCK. Prints, last, one line:
 *   cycles=... failed=... clients=... seconds=... cycles_per_s=... p50_us=... p99_us=...
 * --latencies writes every cycle's latency (us), one per line.
 *
 *   dmutex-bench --embed ADDR --members ADDR,... [--config FILE] --cycles N
 *
 * measures the library path instead: this process is the cluster member
 * ADDR (libdmutex, no control socket and no daemon of its own; FILE as
 * dmutex_new_full's, e.g. with data_dir) and runs the N cycles with
 * dmutex_lock/dmutex_unlock from one thread; same last line.
 *
 *   dmutex-bench --rtt N
 *
 * measures the floor instead: N one-byte ping-pongs over loopback TCP
 * (TCP_NODELAY, blocking sockets) between this process and a forked echo
 * process -- two processes, as between dmutexd and its peers -- and prints
 *   rtt_samples=... rtt_p50_us=... rtt_min_us=...
 * Exit status: 0, 1 if any cycle failed, 2 usage, 3 cannot reach the daemon.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib.h>

#include "cycles.h"
#include "dmutex.h"

typedef struct shared {
    const char *path;
    const char *name;
    int timeout_ms;
    gint remaining;          /* cycles not yet started */
    gint failed;
    gint unreachable;
} shared;

typedef struct client {
    GArray *lat;             /* first (dm_cycles_run): gint64 us per successful cycle */
    shared *sh;
} client;

static int connect_control(const char *path)
{
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    g_strlcpy(sa.sun_path, path, sizeof sa.sun_path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

typedef struct reader {
    int fd;
    char buf[4096];
    size_t fill;
} reader;

/* The next response line that is not a notification; false at EOF. */
static bool read_line(reader *r, char *out, size_t cap)
{
    for (;;) {
        char *nl = memchr(r->buf, '\n', r->fill);
        if (nl) {
            size_t len = (size_t)(nl - r->buf);
            size_t n = MIN(len, cap - 1);
            memcpy(out, r->buf, n);
            out[n] = '\0';
            memmove(r->buf, nl + 1, r->fill - len - 1);
            r->fill -= len + 1;
            if (out[0] == '!')
                continue;
            return true;
        }
        if (r->fill == sizeof r->buf)
            return false;
        ssize_t got = recv(r->fd, r->buf + r->fill, sizeof r->buf - r->fill, 0);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return false;
        r->fill += (size_t)got;
    }
}

static bool send_all(int fd, const char *s, size_t len)
{
    while (len > 0) {
        ssize_t w = send(fd, s, len, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        s += w;
        len -= (size_t)w;
    }
    return true;
}

static gpointer run_client(gpointer user)
{
    client *c = user;
    shared *sh = c->sh;
    reader r = { .fd = connect_control(sh->path) };
    if (r.fd < 0) {
        g_atomic_int_inc(&sh->unreachable);
        return NULL;
    }
    char lock_req[512], unlock_req[512], line[512];
    int ll = snprintf(lock_req, sizeof lock_req, "LOCK %s %d\n", sh->name, sh->timeout_ms);
    int ul = snprintf(unlock_req, sizeof unlock_req, "UNLOCK %s\n", sh->name);
    while (g_atomic_int_add(&sh->remaining, -1) > 0) {
        gint64 t0 = g_get_monotonic_time();
        if (!send_all(r.fd, lock_req, (size_t)ll) || !read_line(&r, line, sizeof line)) {
            g_atomic_int_inc(&sh->unreachable);
            break;
        }
        if (strncmp(line, "OK", 2) != 0) {
            g_atomic_int_inc(&sh->failed);
            continue;
        }
        if (!send_all(r.fd, unlock_req, (size_t)ul) || !read_line(&r, line, sizeof line)) {
            g_atomic_int_inc(&sh->unreachable);
            break;
        }
        gint64 dt = g_get_monotonic_time() - t0;
        if (strncmp(line, "OK", 2) != 0) {
            g_atomic_int_inc(&sh->failed);
            continue;
        }
        g_array_append_val(c->lat, dt);
    }
    close(r.fd);
    return NULL;
}

static int nodelay_socket(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd >= 0)
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

/* The loopback TCP round trip, the unit the lock's latency is judged in. */
static int measure_rtt(int samples)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof sa;
    int lfd = nodelay_socket();
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(lfd, 1) < 0 ||
        getsockname(lfd, (struct sockaddr *)&sa, &len) < 0) {
        fprintf(stderr, "dmutex-bench: cannot listen on loopback: %s\n", g_strerror(errno));
        return 3;
    }
    pid_t child = fork();
    if (child < 0) {
        fprintf(stderr, "dmutex-bench: fork: %s\n", g_strerror(errno));
        return 3;
    }
    if (child == 0) {
        int c = accept(lfd, NULL, NULL);
        char b;
        while (c >= 0 && recv(c, &b, 1, 0) == 1 && send(c, &b, 1, MSG_NOSIGNAL) == 1)
            ;
        _exit(0);
    }
    close(lfd);
    int fd = nodelay_socket();
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        fprintf(stderr, "dmutex-bench: cannot connect on loopback: %s\n", g_strerror(errno));
        return 3;
    }
    GArray *rtt = g_array_sized_new(FALSE, FALSE, sizeof(gint64), (guint)samples);
    char b = 'x';
    for (int i = 0; i < samples; i++) {
        gint64 t0 = g_get_monotonic_time();
        if (send(fd, &b, 1, MSG_NOSIGNAL) != 1 || recv(fd, &b, 1, 0) != 1)
            break;
        gint64 dt = g_get_monotonic_time() - t0;
        g_array_append_val(rtt, dt);
    }
    close(fd);
    waitpid(child, NULL, 0);
    guint n = rtt->len;
    g_array_sort(rtt, dm_cycles_cmp_i64);
    printf("rtt_samples=%u rtt_p50_us=%" G_GINT64_FORMAT " rtt_min_us=%" G_GINT64_FORMAT "\n", n,
           n ? g_array_index(rtt, gint64, (n - 1) / 2) : 0, n ? g_array_index(rtt, gint64, 0) : 0);
    g_array_unref(rtt);
    return n == (guint)samples ? 0 : 3;
}

/* The library path: cycles through an embedded member, no control socket. */
static int run_embedded(const char *self, const char *members, const char *config, const char *name,
                        int cycles, int timeout_ms, const char *lat_file)
{
    gchar **list = g_strsplit(members, ",", -1);
    GError *err = NULL;
    dmutex *d = dmutex_new_full(self, (const char *const *)list, g_strv_length(list), (unsigned)timeout_ms,
                                config, &err);
    g_strfreev(list);
    if (!d) {
        fprintf(stderr, "dmutex-bench: %s\n", err->message);
        g_error_free(err);
        return 3;
    }
    int failed = 0;
    GArray *lat = g_array_new(FALSE, FALSE, sizeof(gint64));
    gint64 start = g_get_monotonic_time();
    for (int i = 0; i < cycles; i++) {
        gint64 t0 = g_get_monotonic_time();
        if (!dmutex_lock(d, name, NULL, &err) || !dmutex_unlock(d, name, &err)) {
            if (failed++ == 0)
                fprintf(stderr, "dmutex-bench: %s\n", err->message);
            g_clear_error(&err);
            continue;
        }
        gint64 dt = g_get_monotonic_time() - t0;
        g_array_append_val(lat, dt);
    }
    double secs = (double)(g_get_monotonic_time() - start) / 1e6;
    dmutex_free(d);
    if (!dm_cycles_report(&lat, 1, secs, failed, lat_file)) {
        fprintf(stderr, "dmutex-bench: cannot write %s\n", lat_file);
        return 2;
    }
    return failed ? 1 : 0;
}

int main(int argc, char **argv)
{
    char *path = NULL, *name = NULL, *lat_file = NULL, *embed = NULL, *members = NULL, *config = NULL;
    gint cycles = 0, clients = 1, timeout_ms = 10000, rtt_samples = 0;
    GOptionEntry entries[] = {
        { "control", 0, 0, G_OPTION_ARG_FILENAME, &path, "dmutexd's control socket", "PATH" },
        { "cycles", 0, 0, G_OPTION_ARG_INT, &cycles, "lock+unlock cycles in all", "N" },
        { "clients", 0, 0, G_OPTION_ARG_INT, &clients, "concurrent clients (default 1)", "C" },
        { "lock", 0, 0, G_OPTION_ARG_STRING, &name, "lock name (default bench)", "NAME" },
        { "timeout", 0, 0, G_OPTION_ARG_INT, &timeout_ms, "LOCK timeout (default 10000)", "MS" },
        { "latencies", 0, 0, G_OPTION_ARG_FILENAME, &lat_file, "write every cycle's latency (us) here", "FILE" },
        { "rtt", 0, 0, G_OPTION_ARG_INT, &rtt_samples, "measure the loopback TCP round trip instead", "N" },
        { "embed", 0, 0, G_OPTION_ARG_STRING, &embed, "be the member ADDR (libdmutex) instead", "ADDR" },
        { "members", 0, 0, G_OPTION_ARG_STRING, &members, "with --embed: the member list", "ADDR,..." },
        { "config", 0, 0, G_OPTION_ARG_FILENAME, &config, "with --embed: key file for dmutex_new_full", "FILE" },
        G_OPTION_ENTRY_NULL,
    };
    GOptionContext *ctx = g_option_context_new("- lock+unlock cycles against a local dmutexd");
    g_option_context_add_main_entries(ctx, entries, NULL);
    GError *err = NULL;
    /* One parse, one verdict: a bad option is a usage error (exit 2)
     * whatever mode the other options asked for. */
    if (!g_option_context_parse(ctx, &argc, &argv, &err) || argc > 1) {
        fprintf(stderr, "dmutex-bench: %s\n", err ? err->message : "unexpected arguments");
        g_clear_error(&err);
        g_option_context_free(ctx);
        return 2;
    }
    g_option_context_free(ctx);
    if (rtt_samples > 0)
        return measure_rtt(rtt_samples);
    if (embed && members && cycles > 0 && timeout_ms > 0) {
        int rc = run_embedded(embed, members, config, name ? name : "bench", cycles, timeout_ms, lat_file);
        g_free(embed);
        g_free(members);
        g_free(config);
        g_free(name);
        g_free(lat_file);
        return rc;
    }
    if (!path || cycles <= 0 || clients <= 0 || clients > 1024 || timeout_ms <= 0) {
        fprintf(stderr, "dmutex-bench: --control PATH and --cycles N (> 0) are required; 1 <= C <= 1024\n");
        return 2;
    }
    shared sh = { .path = path, .name = name ? name : "bench", .timeout_ms = timeout_ms, .remaining = cycles };
    client *cl = g_new0(client, clients);
    for (int i = 0; i < clients; i++)
        cl[i].sh = &sh;
    guint n;
    int rc = dm_cycles_run(run_client, cl, sizeof *cl, clients, &sh.failed, lat_file, "dmutex-bench", &n);
    if (sh.unreachable)
        fprintf(stderr, "dmutex-bench: lost or could not open %d control connection(s)\n", sh.unreachable);
    g_free(cl);
    g_free(path);
    g_free(name);
    g_free(lat_file);
    if (rc != 0)
        return rc;
    if (sh.unreachable && n == 0)
        return 3;
    return sh.failed || sh.unreachable ? 1 : 0;
}
