/* dmutexctl: talk to a local dmutexd over its control socket.
 *
 *   dmutexctl [--control PATH] lock NAME [--try [--held-exit N]] [--timeout SECONDS] [--kill-after SECONDS]
 *             [-- COMMAND ARGS...]
 *   dmutexctl [--control PATH] unlock NAME
 *   dmutexctl [--control PATH] status [--json] [[--] NAME]
 *   dmutexctl [--control PATH] members [--json]
 *   dmutexctl [--control PATH] metrics
 *   dmutexctl [--control PATH] members add|remove HOST:PORT
 *
 * lock with a command runs it while holding the lock, with
 * DMUTEX_FENCING_TOKEN and DMUTEX_LOCK_NAME in its environment, releases the
 * lock when it exits and exits with its status. If the lock is lost while
 * the command runs (the daemon reports it, goes away, or -- by dmutexctl's
 * own clock -- the lease deadline it last heard of passes), the command gets
 * SIGTERM, SIGKILL --kill-after seconds later, and dmutexctl exits 1. The
 * deadline is the daemon's (OK and ! RENEWED carry it as CLOCK_MONOTONIC
 * microseconds), so a paused or dead daemon cannot keep the command running
 * past its lease. Without a command it prints the token and holds the lock
 * until SIGINT/SIGTERM, or until it is lost.
 *
 * lock --try (TRYLOCK) does not wait for a holder: when another holder has
 * the lock it fails after about one round trip, with exit status 1 or
 * --held-exit's N. Only the holder case is quick: contention (others
 * acquiring, nobody holding) and no quorum take as long as for lock.
 *
 * members add/remove waits until the change is installed and prints
 * "epoch E members N", or fails (exit 1) naming why.
 *
 * Exit status: 0 ok; 1 lock failed, timed out, not held or lost, change failed, or (--try)
 * held by another; 2 usage; 3 cannot reach the daemon; otherwise the command's own status
 * (126/127 when it cannot be run, 128+N when killed by signal N). A script that must tell
 * "held" from the rest picks a code no command of its own exits with: --held-exit N (as
 * flock's -E: any fixed code would collide with some command's status).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <glib.h>

enum { EX_OK = 0, EX_FAIL = 1, EX_USAGE_ = 2, EX_UNREACHABLE = 3 };

#define DEFAULT_CONTROL "/run/dmutex/control.sock"
#define DEFAULT_TIMEOUT_S 30.0
/* Without --kill-after: half the daemon's lost_margin, so that a command
 * that ignores SIGTERM is killed with half the margin still left for it to
 * die in before another node can be granted; 1 s when the daemon has no
 * margin (nothing is safe then, and the command gets some grace). */
#define DEFAULT_KILL_AFTER_S (-1.0)
#define KILL_AFTER_WITHOUT_MARGIN_S 1.0

static int sigpipe_fds[2] = { -1, -1 };

static void on_signal(int sig)
{
    int saved = errno;
    unsigned char c = (unsigned char)sig;
    if (write(sigpipe_fds[1], &c, 1) < 0) {
        /* nothing to do: the pipe is full, a wakeup is pending anyway */
    }
    errno = saved;
}

typedef struct conn {
    int fd;
    char buf[8192];
    size_t fill;
} conn;

static int usage(const char *msg)
{
    if (msg)
        fprintf(stderr, "dmutexctl: %s\n", msg);
    fprintf(stderr,
            "Usage: dmutexctl [--control PATH] COMMAND\n"
            "  lock NAME [--try [--held-exit N]] [--timeout SECONDS] [--kill-after SECONDS]\n"
            "       [-- COMMAND ARGS...]\n"
            "     (--kill-after: SIGKILL this long after the SIGTERM of a lost lock; default half\n"
            "      the daemon's lost_margin, 1 without one)\n"
            "     (--try: fail at once, in about one round trip, when another holder has NAME;\n"
            "      exit 1 then, or N (0..255) with --held-exit N)\n"
            "  unlock NAME\n"
            "  status [--json] [[--] NAME]   (with NAME: the quorum line is that lock's;\n"
            "                           -- before a NAME that starts with -)\n"
            "  members [--json]\n"
            "  metrics         (Prometheus text format)\n"
            "  members add|remove HOST:PORT   (epoch policy: change the configuration;\n"
            "                                  prints the epoch it installed)\n"
            "PATH defaults to $DMUTEX_CONTROL, else " DEFAULT_CONTROL ".\n"
            "Exit status: 0 ok, 1 lock failed/timed out/not held/lost/held (--try), 2 usage,\n"
            "3 cannot reach the daemon, else the command's status.\n");
    return EX_USAGE_;
}

static bool conn_open(conn *c, const char *path)
{
    memset(c, 0, sizeof *c);
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof sa.sun_path) {
        fprintf(stderr, "dmutexctl: control socket path too long: %s\n", path);
        return false;
    }
    strcpy(sa.sun_path, path);
    c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        fprintf(stderr, "dmutexctl: cannot reach dmutexd at %s: %s\n", path, strerror(errno));
        if (c->fd >= 0)
            close(c->fd);
        c->fd = -1;
        return false;
    }
    return true;
}

static bool conn_send(conn *c, const char *line)
{
    size_t len = strlen(line);
    while (len > 0) {
        ssize_t w = send(c->fd, line, len, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return false;
        }
        line += w;
        len -= (size_t)w;
    }
    return true;
}

/* A complete line already buffered? Moves it to out (without '\n'). */
static bool conn_take_line(conn *c, char **out)
{
    char *nl = memchr(c->buf, '\n', c->fill);
    if (!nl)
        return false;
    *out = g_strndup(c->buf, (gsize)(nl - c->buf));
    size_t used = (size_t)(nl - c->buf) + 1;
    memmove(c->buf, c->buf + used, c->fill - used);
    c->fill -= used;
    return true;
}

/* Read more bytes; false on EOF or error. */
static bool conn_fill(conn *c)
{
    if (c->fill == sizeof c->buf)
        return false;
    for (;;) {
        ssize_t r = recv(c->fd, c->buf + c->fill, sizeof c->buf - c->fill, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return false;
        c->fill += (size_t)r;
        return true;
    }
}

/* Blocking: the next line, or NULL when the daemon went away. */
static char *conn_read_line(conn *c)
{
    char *line;
    while (!conn_take_line(c, &line))
        if (!conn_fill(c))
            return NULL;
    return line;
}

/* Run a command that answers data lines + OK/ERR; print data lines. */
static int simple_command(const char *path, const char *line, bool print_data)
{
    conn c;
    if (!conn_open(&c, path))
        return EX_UNREACHABLE;
    if (!conn_send(&c, line)) {
        fprintf(stderr, "dmutexctl: lost the connection to dmutexd\n");
        return EX_UNREACHABLE;
    }
    for (;;) {
        char *l = conn_read_line(&c);
        if (!l) {
            fprintf(stderr, "dmutexctl: dmutexd closed the connection\n");
            close(c.fd);
            return EX_UNREACHABLE;
        }
        if (g_str_has_prefix(l, "OK")) {
            if (print_data && l[2] == ' ')   /* MEMBERS ADD/REMOVE: "OK epoch E members N" */
                printf("%s\n", l + 3);
            g_free(l);
            close(c.fd);
            return EX_OK;
        }
        if (g_str_has_prefix(l, "ERR")) {
            fprintf(stderr, "dmutexctl: %s\n", l + 4);
            g_free(l);
            close(c.fd);
            return EX_FAIL;
        }
        if (print_data && l[0] != '!')
            printf("%s\n", l);
        g_free(l);
    }
}

/* Is `line` the notification `kind` ("LOST", "UNLOCKED") about the lock
 * this client holds -- its name and its token? Notifications name both
 * ("! LOST name token CODE", "! UNLOCKED name token"); one about another
 * lock or an earlier grant of the name is not about ours. */
static bool notice_is_ours(const char *line, const char *kind, const char *name, const char *token)
{
    if (line[0] != '!')
        return false;
    g_auto(GStrv) w = g_strsplit(line, " ", 5);
    return g_strv_length(w) >= 4 && strcmp(w[1], kind) == 0 && strcmp(w[2], name) == 0 &&
           strcmp(w[3], token) == 0;
}

static void install_signals(void)
{
    if (pipe(sigpipe_fds) < 0) {
        perror("dmutexctl: pipe");
        exit(EX_FAIL);
    }
    for (int i = 0; i < 2; i++) {
        fcntl(sigpipe_fds[i], F_SETFL, fcntl(sigpipe_fds[i], F_GETFL) | O_NONBLOCK);
        fcntl(sigpipe_fds[i], F_SETFD, FD_CLOEXEC);
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGCHLD, &sa, NULL);
}

/* CLOCK_MONOTONIC in microseconds: the clock dmutexd's node runs on
 * (uv_hrtime), so the deadlines it sends compare with it directly. */
static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* The deadline in "lease_ms deadline_us" (the words of an OK or RENEWED
 * after the token): deadline_us when the daemon sends it, else lease_ms
 * from now (an older daemon; late by however long the line took). */
static bool parse_deadline(const char *lease_ms, const char *deadline_us, int64_t *out)
{
    char *end = NULL;
    if (deadline_us) {
        errno = 0;
        long long d = strtoll(deadline_us, &end, 10);
        if (end != deadline_us && !*end && !errno && d >= 0) {
            *out = d;
            return true;
        }
        return false;
    }
    if (!lease_ms)
        return false;
    errno = 0;
    long long ms = strtoll(lease_ms, &end, 10);
    if (end == lease_ms || *end || errno || ms < 0)
        return false;
    *out = mono_us() + ms * 1000;
    return true;
}

/* Stop the command of a lost lock: SIGTERM, then SIGKILL after
 * kill_after_us unless it ended; waits for it. */
static void stop_command(pid_t child, const char *name, int64_t kill_after_us)
{
    kill(child, SIGTERM);
    int64_t kill_at = mono_us() + kill_after_us;
    int ws;
    for (;;) {
        pid_t r = waitpid(child, &ws, WNOHANG);
        if (r == child || (r < 0 && errno != EINTR))
            return;
        int64_t left = kill_at - mono_us();
        if (left <= 0)
            break;
        struct pollfd pf = { sigpipe_fds[0], POLLIN, 0 };
        if (poll(&pf, 1, (int)MIN(left / 1000 + 1, 50)) > 0) {
            unsigned char sig;
            while (read(sigpipe_fds[0], &sig, 1) == 1)
                ;   /* SIGCHLD, or a signal we no longer pass on: the command is being stopped */
        }
    }
    fprintf(stderr, "dmutexctl: lock %s: the command did not stop on SIGTERM: SIGKILL\n", name);
    kill(child, SIGKILL);
    while (waitpid(child, &ws, 0) < 0 && errno == EINTR)
        ;
}

static int status_of(int ws)
{
    if (WIFEXITED(ws))
        return WEXITSTATUS(ws);
    if (WIFSIGNALED(ws))
        return 128 + WTERMSIG(ws);
    return EX_FAIL;
}

/* try_once: TRYLOCK, and held_exit is the exit status when another holder
 * has the lock (ERR EHELD). */
static int cmd_lock(const char *path, const char *name, double timeout_s, double kill_after_s,
                    bool try_once, int held_exit, char **command)
{
    if (strpbrk(name, " \t\r\n")) {
        fprintf(stderr, "dmutexctl: lock names may not contain whitespace\n");
        return EX_USAGE_;
    }
    install_signals();
    conn c;
    if (!conn_open(&c, path))
        return EX_UNREACHABLE;
    long long ms = (long long)(timeout_s * 1000 + 0.5);
    if (ms < 1)
        ms = 1;
    char *req = g_strdup_printf("%s %s %lld\n", try_once ? "TRYLOCK" : "LOCK", name, ms);
    bool sent = conn_send(&c, req);
    g_free(req);
    if (!sent) {
        fprintf(stderr, "dmutexctl: lost the connection to dmutexd\n");
        return EX_UNREACHABLE;
    }
    /* Wait for the answer; SIGINT/SIGTERM give up (the session's end
     * abandons the acquisition). */
    char *l = NULL;
    for (;;) {
        if (conn_take_line(&c, &l)) {
            if (l[0] == '!') {
                g_free(l);
                continue;
            }
            break;
        }
        struct pollfd pf[2] = { { c.fd, POLLIN, 0 }, { sigpipe_fds[0], POLLIN, 0 } };
        if (poll(pf, 2, -1) < 0 && errno != EINTR)
            return EX_FAIL;
        if (pf[1].revents & POLLIN) {
            unsigned char sig;
            while (read(sigpipe_fds[0], &sig, 1) == 1)
                if (sig != SIGCHLD) {
                    fprintf(stderr, "dmutexctl: interrupted while waiting for %s\n", name);
                    close(c.fd);
                    return EX_FAIL;
                }
        }
        if ((pf[0].revents & (POLLIN | POLLHUP | POLLERR)) && !conn_fill(&c)) {
            fprintf(stderr, "dmutexctl: dmutexd closed the connection\n");
            return EX_UNREACHABLE;
        }
    }
    if (try_once && (g_str_has_prefix(l, "ERR EHELD ") || strcmp(l, "ERR EHELD") == 0)) {
        fprintf(stderr, "dmutexctl: lock %s is held by another holder: not waiting (--try)\n", name);
        g_free(l);
        close(c.fd);
        return held_exit;
    }
    if (!g_str_has_prefix(l, "OK ")) {
        fprintf(stderr, "dmutexctl: lock %s: %s\n", name, g_str_has_prefix(l, "ERR ") ? l + 4 : l);
        g_free(l);
        close(c.fd);
        return EX_FAIL;
    }
    /* The answer to our LOCK: the first final line of this session, "OK
     * token lease_ms [deadline_us margin_ms]". Anything else is not an
     * answer we can act on. */
    char token[32] = "";
    int64_t deadline = 0, kill_after = (int64_t)(kill_after_s * 1e6);
    g_auto(GStrv) w = g_strsplit(l, " ", 6);
    guint nw = g_strv_length(w);
    if (nw < 3 || strlen(w[1]) >= sizeof token || strspn(w[1], "0123456789") != strlen(w[1]) ||
        !parse_deadline(w[2], nw >= 4 ? w[3] : NULL, &deadline)) {
        fprintf(stderr, "dmutexctl: lock %s: unexpected answer '%s'\n", name, l);
        g_free(l);
        close(c.fd);
        return EX_FAIL;
    }
    g_strlcpy(token, w[1], sizeof token);
    long long margin_ms = nw >= 5 ? g_ascii_strtoll(w[4], NULL, 10) : 0;
    if (kill_after < 0) {
        kill_after = margin_ms > 0 ? margin_ms * 500 : (int64_t)(KILL_AFTER_WITHOUT_MARGIN_S * 1e6);
        kill_after_s = (double)kill_after / 1e6;
    }
    if (nw >= 5 && command && command[0]) {
        /* Without a margin (0) the operator has not asked for
         * one: the README says what that means, every lock need not. */
        if (margin_ms > 0 && margin_ms * 1000 <= kill_after)
            fprintf(stderr, "dmutexctl: lock %s: warning: the daemon's lost_margin (%lld ms) is not above "
                    "--kill-after (%.3f s): a command that ignores SIGTERM may still run when another "
                    "node is granted the lock\n", name, margin_ms, kill_after_s);
    }
    g_free(l);

    pid_t child = -1;
    if (command && command[0]) {
        child = fork();
        if (child < 0) {
            perror("dmutexctl: fork");
            return EX_FAIL;
        }
        if (child == 0) {
            signal(SIGINT, SIG_DFL);
            signal(SIGTERM, SIG_DFL);
            signal(SIGHUP, SIG_DFL);
            signal(SIGCHLD, SIG_DFL);
            setenv("DMUTEX_FENCING_TOKEN", token, 1);
            setenv("DMUTEX_LOCK_NAME", name, 1);
            execvp(command[0], command);
            int e = errno;
            fprintf(stderr, "dmutexctl: cannot run %s: %s\n", command[0], strerror(e));
            _exit(e == ENOENT ? 127 : 126);
        }
    } else {
        printf("%s\n", token);
        fflush(stdout);
    }

    /* Hold: until the command ends, a signal (no command), or the lock is
     * lost -- by the daemon's word, its going away, or the deadline it last
     * gave passing on our own clock (it may be paused: SIGSTOP, swapping). */
    bool lost = false, done = false;
    int result = EX_OK;
    while (!done) {
        while (!lost && conn_take_line(&c, &l)) {
            bool gone = notice_is_ours(l, "LOST", name, token);
            if (gone || notice_is_ours(l, "UNLOCKED", name, token)) {
                fprintf(stderr, "dmutexctl: lock %s %s\n", name,
                        gone ? "LOST (another holder may have it now)" : "was released by another client");
                if (gone)
                    fprintf(stderr, "dmutexctl: %s\n", l + 2);
                lost = true;
            } else if (notice_is_ours(l, "RENEWED", name, token)) {
                g_auto(GStrv) rw = g_strsplit(l, " ", 7);
                guint n = g_strv_length(rw);
                int64_t d;
                if (n >= 5 && parse_deadline(rw[4], n >= 6 ? rw[5] : NULL, &d))
                    deadline = d;
            }
            g_free(l);
        }
        if (!lost && mono_us() >= deadline) {
            fprintf(stderr, "dmutexctl: lock %s LOST: its lease ran out by our clock with no renewal "
                    "(dmutexd paused, stuck or cut off?)\n", name);
            lost = true;
        }
        if (lost) {
            if (child > 0)
                stop_command(child, name, kill_after);
            close(c.fd);
            return EX_FAIL;
        }
        int64_t left_ms = (deadline - mono_us() + 999) / 1000;
        int wait_ms = (int)MIN(MAX(left_ms, 0), child > 0 ? 200 : G_MAXINT);
        struct pollfd pf[2] = { { c.fd, POLLIN, 0 }, { sigpipe_fds[0], POLLIN, 0 } };
        if (poll(pf, 2, wait_ms) < 0 && errno != EINTR)
            break;
        if (pf[1].revents & POLLIN) {
            unsigned char sig;
            while (read(sigpipe_fds[0], &sig, 1) == 1) {
                if (sig == SIGCHLD)
                    continue;
                if (child > 0)
                    kill(child, sig);     /* pass it on; we wait for the command */
                else
                    done = true;
            }
        }
        if (child > 0) {
            int ws;
            pid_t r = waitpid(child, &ws, WNOHANG);
            if (r == child) {
                result = status_of(ws);
                done = true;
            }
        }
        if (!done && (pf[0].revents & (POLLIN | POLLHUP | POLLERR)) && !conn_fill(&c)) {
            fprintf(stderr, "dmutexctl: lock %s LOST: dmutexd went away\n", name);
            c.fill = 0;
            lost = true;
        }
    }
    /* Release, then report. */
    g_autofree char *release = g_strdup_printf("UNLOCK %s\n", name);
    if (!conn_send(&c, release)) {
        fprintf(stderr, "dmutexctl: lock %s: daemon gone before the release\n", name);
        close(c.fd);
        return child > 0 ? result : EX_FAIL;
    }
    /* The answer is waited for no longer than the lease: a paused daemon
     * must not keep us; closing the session releases the lock anyway. */
    for (;;) {
        l = NULL;
        while (!conn_take_line(&c, &l)) {
            int64_t left_ms = (deadline - mono_us() + 999) / 1000;
            struct pollfd pf = { c.fd, POLLIN, 0 };
            if (left_ms <= 0 || (poll(&pf, 1, (int)MIN(left_ms, G_MAXINT)) == 0) ||
                ((pf.revents & (POLLIN | POLLHUP | POLLERR)) && !conn_fill(&c)))
                break;
        }
        if (!l)
            break;
        if (l[0] == '!') {
            if (notice_is_ours(l, "LOST", name, token)) {
                fprintf(stderr, "dmutexctl: lock %s LOST before the release: %s\n", name, l + 2);
                g_free(l);
                close(c.fd);
                return EX_FAIL;
            }
            g_free(l);
            continue;
        }
        if (g_str_has_prefix(l, "ERR ")) {
            fprintf(stderr, "dmutexctl: unlock %s: %s\n", name, l + 4);
            g_free(l);
            close(c.fd);
            return EX_FAIL;
        }
        g_free(l);
        break;
    }
    close(c.fd);
    return result;
}

/* `OPT SECONDS` or `OPT=SECONDS` at argv[*i] (which moves past it): 0 when
 * it is not OPT, 1 when *out is set, -1 on a bad value (usage printed).
 * Seconds in (0, max], or [0, max] with zero_ok. */
static int seconds_option(int argc, char **argv, int *i, const char *opt, bool zero_ok, double max,
                          double *out)
{
    size_t len = strlen(opt);
    const char *v;
    if (strcmp(argv[*i], opt) == 0) {
        if (++*i >= argc) {
            g_autofree char *m = g_strdup_printf("%s needs SECONDS", opt);
            usage(m);
            return -1;
        }
        v = argv[*i];
    } else if (strncmp(argv[*i], opt, len) == 0 && argv[*i][len] == '=') {
        v = argv[*i] + len + 1;
    } else {
        return 0;
    }
    char *end = NULL;
    double x = g_ascii_strtod(v, &end);
    if (end == v || *end || !(zero_ok ? x >= 0 : x > 0) || x > max) {
        g_autofree char *m = g_strdup_printf("%s wants SECONDS in %c0, %g]", opt, zero_ok ? '[' : '(', max);
        usage(m);
        return -1;
    }
    *out = x;
    return 1;
}

int main(int argc, char **argv)
{
    const char *path = g_getenv("DMUTEX_CONTROL");
    if (!path)
        path = DEFAULT_CONTROL;
    int i = 1;
    for (; i < argc; i++) {
        if (strcmp(argv[i], "--control") == 0) {
            if (++i >= argc)
                return usage("--control needs a PATH");
            path = argv[i];
        } else if (g_str_has_prefix(argv[i], "--control=")) {
            path = argv[i] + strlen("--control=");
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(NULL);
            return EX_OK;
        } else if (argv[i][0] == '-') {
            g_autofree char *m = g_strdup_printf("unknown option %s", argv[i]);
            return usage(m);
        } else {
            break;
        }
    }
    if (i >= argc)
        return usage("no command");
    const char *cmd = argv[i++];
    if (strcmp(cmd, "members") == 0 && argc - i == 2) {
        if (strcmp(argv[i], "add") != 0 && strcmp(argv[i], "remove") != 0)
            return usage("members takes add HOST:PORT or remove HOST:PORT");
        if (strpbrk(argv[i + 1], " \t\r\n"))
            return usage("addresses may not contain whitespace");
        g_autofree char *line = g_strdup_printf("MEMBERS %s %s\n", argv[i], argv[i + 1]);
        return simple_command(path, line, true);
    }
    if (strcmp(cmd, "status") == 0 || strcmp(cmd, "members") == 0) {
        bool status = strcmp(cmd, "status") == 0, json = false;
        const char *name = NULL;
        bool names_only = false;   /* after "--": a name may start with '-' */
        for (; i < argc; i++) {
            if (!names_only && strcmp(argv[i], "--") == 0)
                names_only = true;
            else if (!names_only && strcmp(argv[i], "--json") == 0)
                json = true;
            else if (status && !name && (names_only || argv[i][0] != '-'))
                name = argv[i];
            else
                return usage("status takes --json and at most one NAME, members --json");
        }
        if (name && strpbrk(name, " \t\r\n"))
            return usage("lock names may not contain whitespace");
        g_autofree char *line = g_strdup_printf("%s%s%s%s\n", json ? "JSON " : "", status ? "STATUS" : "MEMBERS",
                                                name ? " " : "", name ? name : "");
        return simple_command(path, line, true);
    }
    if (strcmp(cmd, "metrics") == 0) {
        if (i != argc)
            return usage("metrics takes no arguments");
        return simple_command(path, "METRICS\n", true);
    }
    if (strcmp(cmd, "unlock") == 0) {
        if (argc - i != 1)
            return usage("unlock takes one NAME");
        if (strpbrk(argv[i], " \t\r\n"))
            return usage("lock names may not contain whitespace");
        g_autofree char *line = g_strdup_printf("UNLOCK %s\n", argv[i]);
        return simple_command(path, line, false);
    }
    if (strcmp(cmd, "lock") == 0) {
        const char *name = NULL;
        double timeout = DEFAULT_TIMEOUT_S, kill_after = DEFAULT_KILL_AFTER_S;
        bool try_once = false;
        int held_exit = -1;
        char **command = NULL;
        for (; i < argc; i++) {
            if (strcmp(argv[i], "--") == 0) {
                command = argv + i + 1;
                if (!command[0])
                    return usage("nothing after --");
                break;
            }
            int r = seconds_option(argc, argv, &i, "--timeout", false, 86400, &timeout);
            if (r == 0)
                r = seconds_option(argc, argv, &i, "--kill-after", true, 3600, &kill_after);
            if (r < 0)
                return EX_USAGE_;
            if (r > 0)
                continue;
            if (strcmp(argv[i], "--try") == 0) {
                try_once = true;
                continue;
            }
            const char *v = NULL;
            if (strcmp(argv[i], "--held-exit") == 0)
                v = ++i < argc ? argv[i] : "";
            else if (g_str_has_prefix(argv[i], "--held-exit="))
                v = argv[i] + strlen("--held-exit=");
            if (v) {
                char *end = NULL;
                errno = 0;
                long x = strtol(v, &end, 10);
                if (end == v || *end || errno || x < 0 || x > 255)
                    return usage("--held-exit wants an exit status N in 0..255");
                held_exit = (int)x;
                continue;
            }
            if (argv[i][0] == '-' && argv[i][1]) {
                g_autofree char *m = g_strdup_printf("unknown lock option %s", argv[i]);
                return usage(m);
            }
            if (name)
                return usage("lock takes one NAME (put a command after --)");
            name = argv[i];
        }
        if (!name || !*name)
            return usage("lock needs a NAME");
        if (held_exit >= 0 && !try_once)
            return usage("--held-exit goes with --try (a lock without it waits for the holder)");
        return cmd_lock(path, name, timeout, kill_after, try_once, held_exit >= 0 ? held_exit : EX_FAIL,
                        command);
    }
    g_autofree char *m = g_strdup_printf("unknown command '%s'", cmd);
    return usage(m);
}
