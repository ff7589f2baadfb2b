/* dmutexd: one dmutex node as a daemon (net/README.md).
 *
 *   dmutexd --id HOST:PORT --members HOST:PORT,... [--policy ae|memberlist]
 *           [--data-dir DIR] [--control PATH] [--key-file FILE]
 *           [--config FILE] [--log-level LEVEL] [--bootstrap] [--set KEY=VALUE]
 *   dmutexd --id HOST:PORT --join HOST:PORT,... --policy epoch [...]
 *   dmutexd --id HOST:PORT --data-dir DIR [...]   (DIR/bindings names the members)
 *   dmutexd --print-config-keys
 *
 * SIGHUP re-reads the key file(s) and the TLS CAs, certificate and key
 * (dmn_node_reload): keys and certificates rotate without a restart.
 *
 * Under a service manager (Type=notify) it sends READY=1 once it serves its
 * control socket, STATUS= while it recovers, and STOPPING=1 on SIGTERM
 * (sdnotify.h).
 *
 * Exit status: 0 after SIGTERM/SIGINT (the node left the cluster: locks
 * released, LEFT announced, queued frames flushed), 1 when it cannot start
 * (address in use, unreadable or corrupt state, ...), 2 for bad options.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>
#include <uv.h>

#include "control.h"
#include "httpmetrics.h"
#include "join.h"
#include "netconfig.h"
#include "netlog.h"
#include "sdnotify.h"
#include "transport.h"

typedef struct daemon_state {
    uv_loop_t *loop;
    dmn_config cfg;
    dmn_node *node;
    dmn_control *control;
    dmn_http *http;              /* metrics_listen, or NULL */
    uv_signal_t sigterm, sigint, sighup;
    uv_timer_t status_timer;    /* STATUS= for the service manager while recovering */
    int last_recovery;          /* -1: nothing reported yet */
    bool stopping;
} daemon_state;

static void notify(const char *state)
{
    int rc = dmn_sd_notify(state);
    if (rc < 0)
        g_warning("NOTIFY_SOCKET: cannot notify the service manager: %s", g_strerror(-rc));
}

/* The service manager shows STATUS=; recovery is the one state an operator
 * must know about (locks are refused until it ends), so report its changes. */
static void report_status(daemon_state *d, bool ready)
{
    int64_t until = 0;
    dm_recovery r = dm_node_recovery(dmn_node_core(d->node), &until);
    if (!ready && (int)r == d->last_recovery)
        return;
    d->last_recovery = (int)r;
    const char *what = r == DM_RECOVERY_NONE ? "serving: may grant locks"
                       : r == DM_RECOVERY_FLOOR
                           ? "recovering: learning a token floor from a quorum (no grants yet)"
                           : "recovering: waiting out leases of an earlier life (no grants yet)";
    g_autofree char *msg = g_strdup_printf("%sSTATUS=%s", ready ? "READY=1\n" : "", what);
    notify(msg);
    if (r == DM_RECOVERY_NONE)
        uv_timer_stop(&d->status_timer);
}

static void on_status_timer(uv_timer_t *t)
{
    report_status(t->data, false);
}

static void on_event(void *user, const dm_event *ev)
{
    daemon_state *d = user;
    if (d->control)
        dmn_control_event(d->control, ev);
}

static void on_closed(uv_handle_t *h)
{
    (void)h;
}

static void on_left(void *user)
{
    daemon_state *d = user;
    g_message("left; exiting");
    dmn_node_close(d->node);
    uv_close((uv_handle_t *)&d->sigterm, on_closed);
    uv_close((uv_handle_t *)&d->sigint, on_closed);
    uv_close((uv_handle_t *)&d->sighup, on_closed);
    uv_close((uv_handle_t *)&d->status_timer, on_closed);
}

static void on_sighup(uv_signal_t *s, int signum)
{
    (void)signum;
    daemon_state *d = s->data;
    GError *err = NULL;
    g_message("SIGHUP: re-reading keys and TLS credentials");
    if (!dmn_node_reload(d->node, &err)) {
        g_warning("reload failed, keeping what is in use: %s", err->message);
        g_error_free(err);
    }
}

static void on_signal(uv_signal_t *s, int signum)
{
    daemon_state *d = s->data;
    if (d->stopping) {
        g_message("signal %d again: exiting at once", signum);
        exit(1);
    }
    d->stopping = true;
    g_message("signal %d: leaving the cluster", signum);
    notify("STOPPING=1\nSTATUS=leaving the cluster");
    uv_timer_stop(&d->status_timer);
    if (d->control)
        dmn_control_close(d->control);
    dmn_http_close(d->http);
    dmn_node_shutdown(d->node, on_left, d);
}

static int usage_error(GOptionContext *ctx, const char *msg)
{
    fprintf(stderr, "dmutexd: %s\n", msg);
    fprintf(stderr, "Try 'dmutexd --help' for usage.\n");
    if (ctx)
        g_option_context_free(ctx);
    return 2;
}

/* What a JOIN exchange or DIR/bindings says (r, cleared here) becomes the
 * member list (when none is given), max_members (from a JOIN, or when the
 * config file does not set it) and the bindings, this node's among them. */
static void take_table(dmn_config *cfg, dmn_join_result *r, gboolean joined)
{
    if (cfg->members->len == 0)
        dmn_config_set_members(cfg, (const char *const *)r->members->pdata, r->members->len);
    if (joined || !cfg->max_members)
        cfg->max_members = r->max_members;
    if (cfg->bindings)
        g_ptr_array_unref(cfg->bindings);
    cfg->bindings = g_ptr_array_ref(r->bindings);
    dmn_join_result_clear(r);
}

/* A restart of a member: DIR/bindings (net/join.h) names this node's
 * address, so the table it keeps says who the members are and which id is
 * ours -- --members and --join may both be left out (a joined node's unit
 * keeps working after its first start). *restored: it did; otherwise the
 * caller joins (--join), or --members must name self. *corrupt: the file
 * cannot be read (the node cannot start, as for a corrupt DIR/state). */
static gboolean restore_table(dmn_config *cfg, const char *join, gboolean *restored,
                              gboolean *corrupt, GError **err)
{
    *restored = FALSE;
    *corrupt = FALSE;
    if (!cfg->data_dir || !cfg->self)
        return TRUE;
    dmn_join_result t;
    if (!dmn_table_load(cfg->data_dir, cfg->self, &t, err)) {
        *corrupt = TRUE;
        return FALSE;
    }
    gboolean ok = TRUE;
    if (!t.members || t.self_id == UINT32_MAX) {
        /* No file, or one that does not know this address: a first start. */
    } else if (t.members->len == 0 && cfg->members->len == 0) {
        if (!join) {
            g_set_error(err, DMN_CONFIG_ERROR, 0, "%s/%s binds %s to id %u but, written by an older "
                        "dmutexd, does not list the members: start once with --join HOST:PORT,... "
                        "(running members; it rewrites the file), or give --members with the "
                        "cluster's list", cfg->data_dir, DMN_TABLE_FILE, cfg->self, t.self_id);
            ok = FALSE;
        }
    } else if (join && cfg->members->len > 0) {
        g_set_error(err, DMN_CONFIG_ERROR, 0, "--join replaces --members: give one of them");
        ok = FALSE;
    } else {
        if (join || (cfg->members->len == 0 && t.self_id >= t.members->len))
            g_message("restarting from %s/%s: %s is id %u%s", cfg->data_dir, DMN_TABLE_FILE,
                      cfg->self, t.self_id, join ? "; --join not needed, not asked" : "");
        take_table(cfg, &t, FALSE);
        *restored = TRUE;
    }
    dmn_join_result_clear(&t);
    return ok;
}

/* Neither --members nor --join, and no table names this node: say what
 * each kind of node needs. */
static gboolean no_members(const dmn_config *cfg, GError **err)
{
    g_set_error(err, DMN_CONFIG_ERROR, 0, "no members: give --members HOST:PORT,... (every member's "
                "address, the same list everywhere), or, for a node at a new address under policy "
                "epoch, --join HOST:PORT,... (running members) and run `dmutexctl members add %s` at "
                "one of them; %s", cfg->self ? cfg->self : "HOST:PORT",
                cfg->data_dir ? "its data directory names no member list for this address yet (a "
                "node restarts without either once it has run: DATA_DIR/bindings)"
                : "a node restarts without either only from its --data-dir (DIR/bindings)");
    return FALSE;
}

/* --join: learn the members and this node's id from the peers given. */
static gboolean join_cluster(dmn_config *cfg, const char *peers, GError **err)
{
    if (cfg->members->len > 0) {
        g_set_error(err, DMN_CONFIG_ERROR, 0, "--join replaces --members: give one of them");
        return FALSE;
    }
    if (!dmn_config_epochs(cfg)) {
        g_set_error(err, DMN_CONFIG_ERROR, 0, "--join needs policy epoch (--policy epoch)");
        return FALSE;
    }
    /* With TLS the members check this node's certificate against their
     * address table, which holds it once `members add` is installed, and it
     * checks theirs against the table it learns: a forged answer can misdirect
     * it (without key_file nothing authenticates the JOIN exchange) but
     * cannot pass for a member without that member's certificate. */
    if (cfg->tls_cert && !cfg->key_file)
        g_warning("--join with TLS but no key_file: the JOIN exchange is not authenticated (the "
                  "members' certificates are, once this node starts)");
    if (!cfg->self || !dmn_split_address(cfg->self, NULL, NULL)) {
        g_set_error(err, DMN_CONFIG_ERROR, 0, "--join needs this node's address (--id HOST:PORT)");
        return FALSE;
    }
    /* With key_file the JOIN exchange is sealed with the cluster keyring
     * (net/join.h); the ids only size replay windows, which it does not use. */
    dmn_auth *auth = NULL;
    if (cfg->key_file) {
        g_autoptr(GPtrArray) keys = dmn_config_read_keys(cfg->key_file, err);
        if (!keys)
            return FALSE;
        auth = dmn_auth_new_ring((GBytes *const *)keys->pdata, keys->len, 1, cfg->auth_max_age_us,
                                 g_get_real_time());
        if (!auth) {
            g_set_error(err, DMN_CONFIG_ERROR, 0, "key_file %s: a bad key", cfg->key_file);
            return FALSE;
        }
    }
    dmn_join_result r;
    gboolean joined = dmn_join_run(uv_default_loop(), cfg->self, peers, 0, auth, cfg->control, &r,
                                   err);
    if (auth)
        dmn_auth_free(auth);
    if (!joined)
        return FALSE;
    take_table(cfg, &r, TRUE);
    return TRUE;
}

int main(int argc, char **argv)
{
    g_autofree char *id = NULL, *members = NULL, *join = NULL, *policy = NULL, *quorum = NULL, *data_dir = NULL,
                    *control = NULL;
    g_autofree char *key_file = NULL, *config = NULL, *log_level = NULL;
    g_auto(GStrv) sets = NULL;
    gboolean bootstrap = FALSE, print_keys = FALSE;
    GOptionEntry entries[] = {
        { "id", 0, 0, G_OPTION_ARG_STRING, &id, "This node's address (also in --members)", "HOST:PORT" },
        { "members", 0, 0, G_OPTION_ARG_STRING, &members, "Every member's address, comma-separated (a restart may leave it out: DIR/bindings of --data-dir keeps it)", "HOST:PORT,..." },
        { "join", 0, 0, G_OPTION_ARG_STRING, &join,
          "Instead of --members (policy epoch): ask these members for the configuration, and start "
          "once one binds --id (an operator's `dmutexctl members add`); later starts need no --join", "HOST:PORT,..." },
        { "policy", 0, 0, G_OPTION_ARG_STRING, &policy, "Quorum policy: ae (default), memberlist or epoch", "POLICY" },
        { "quorum", 0, 0, G_OPTION_ARG_STRING, &quorum, "Quorum system: tree (default), or another built-in", "NAME" },
        { "data-dir", 0, 0, G_OPTION_ARG_FILENAME, &data_dir, "Directory for the persisted state", "DIR" },
        { "control", 0, 0, G_OPTION_ARG_FILENAME, &control, "Unix socket of the control protocol", "PATH" },
        { "key-file", 0, 0, G_OPTION_ARG_FILENAME, &key_file, "Cluster key(s), one per line, first sends: authenticate every frame (HMAC-SHA256)", "FILE[,FILE...]" },
        { "config", 0, 0, G_OPTION_ARG_FILENAME, &config, "Key file with the same settings and timings ([dmutex] group)", "FILE" },
        { "log-level", 0, 0, G_OPTION_ARG_STRING, &log_level, "error, critical, warning, message (default), info, debug", "LEVEL" },
        { "bootstrap", 0, 0, G_OPTION_ARG_NONE, &bootstrap,
          "This member never ran before (a new cluster's first start): grant at once when there is no "
          "persisted state. NEVER on a member that ran before (see net/README.md)", NULL },
        { "set", 0, 0, G_OPTION_ARG_STRING_ARRAY, &sets, "Any config file key, e.g. --set lease=5s (repeatable)", "KEY=VALUE" },
        { "print-config-keys", 0, 0, G_OPTION_ARG_NONE, &print_keys,
          "Print the core's config keys (type, default, range) as net/README.md lists them, and exit", NULL },
        G_OPTION_ENTRY_NULL,
    };
    GOptionContext *ctx = g_option_context_new("- a dmutex node");
    g_option_context_add_main_entries(ctx, entries, NULL);
    g_autofree char *key_names = dmn_config_key_names(", ");
    g_autofree char *description = g_strdup_printf(
        "Config file keys ([dmutex] group; --print-config-keys describes the core's): %s.\n"
        "Durations: 10s, 250ms, 500us. Options given on the command line override the file.\n\n"
        "Exit status: 0 after SIGTERM/SIGINT, 1 cannot start, 2 bad options.", key_names);
    g_option_context_set_description(ctx, description);
    GError *err = NULL;
    if (!g_option_context_parse(ctx, &argc, &argv, &err)) {
        int rc = usage_error(ctx, err->message);
        g_error_free(err);
        return rc;
    }
    if (argc > 1) {
        char *msg = g_strdup_printf("unexpected argument '%s'", argv[1]);
        int rc = usage_error(ctx, msg);
        g_free(msg);
        return rc;
    }
    g_option_context_free(ctx);
    if (print_keys) {
        g_autofree char *doc = dmn_config_keys_doc();
        fputs(doc, stdout);
        return 0;
    }

    /* A control client that hangs up early must not kill the daemon: from
     * here on, since a joiner answers on its control socket already. */
    signal(SIGPIPE, SIG_IGN);
    daemon_state d;
    memset(&d, 0, sizeof d);
    dmn_config_init(&d.cfg);
    gboolean ok = TRUE, corrupt = FALSE;
    if (config)
        ok = dmn_config_load_file(&d.cfg, config, &err);
    if (ok && id) {
        g_free(d.cfg.self);
        d.cfg.self = g_strdup(id);
    }
    if (ok && members)
        ok = dmn_config_set_members_csv(&d.cfg, members, &err);
    if (ok && policy)
        ok = dmn_config_set(&d.cfg, "policy", policy, "--policy", &err);
    if (ok && quorum)
        ok = dmn_config_set(&d.cfg, "quorum", quorum, "--quorum", &err);
    if (ok && bootstrap)
        ok = dmn_config_set(&d.cfg, "bootstrap", "true", "--bootstrap", &err);
    for (char **a = sets; ok && a && *a; a++) {
        const char *eq = strchr(*a, '=');
        if (!eq) {
            g_set_error(&err, DMN_CONFIG_ERROR, 0, "--set '%s': expected KEY=VALUE", *a);
            ok = FALSE;
            break;
        }
        g_autofree char *key = g_strstrip(g_strndup(*a, (gsize)(eq - *a)));
        ok = dmn_config_set(&d.cfg, key, eq + 1, "--set", &err);
    }
#define OVERRIDE(field, value) \
    if (value) { g_free(d.cfg.field); d.cfg.field = g_strdup(value); }
    if (ok) {
        OVERRIDE(data_dir, data_dir);
        OVERRIDE(control, control);
        OVERRIDE(key_file, key_file);
        OVERRIDE(log_level, log_level);
        gboolean restored = FALSE;
        ok = restore_table(&d.cfg, join, &restored, &corrupt, &err);
        if (ok && join && !restored)
            ok = join_cluster(&d.cfg, join, &err);
        if (ok && !join && !restored && d.cfg.members->len == 0 && d.cfg.self)
            ok = no_members(&d.cfg, &err);
        if (ok)
            ok = dmn_config_finish(&d.cfg, &err);
    }
    if (ok)
        ok = dmn_log_setup(d.cfg.log_level, "dmutexd", &err);
    if (!ok && corrupt) {
        fprintf(stderr, "dmutexd: %s\n", err->message);
        g_error_free(err);
        dmn_config_clear(&d.cfg);
        return 1;
    }
    if (!ok) {
        int rc = usage_error(NULL, err->message);
        g_error_free(err);
        dmn_config_clear(&d.cfg);
        return rc;
    }

    d.loop = uv_default_loop();
    d.node = dmn_node_new(d.loop, &d.cfg, on_event, &d, &err);
    if (!d.node) {
        fprintf(stderr, "dmutexd: %s\n", err->message);
        g_error_free(err);
        dmn_config_clear(&d.cfg);
        return 1;
    }
    if (d.cfg.control) {
        d.control = dmn_control_new(d.loop, d.node, d.cfg.control, d.cfg.max_control, &err);
        if (!d.control) {
            fprintf(stderr, "dmutexd: %s\n", err->message);
            g_error_free(err);
            dmn_node_close(d.node);
            uv_run(d.loop, UV_RUN_DEFAULT);
            dmn_node_free(d.node);
            dmn_config_clear(&d.cfg);
            return 1;
        }
        g_message("control socket %s", d.cfg.control);
    }
    if (d.cfg.metrics_listen) {
        d.http = dmn_http_new(d.loop, d.node, d.control, d.cfg.metrics_listen, &err);
        if (!d.http) {
            /* Stop what was started, as for the control socket above. */
            fprintf(stderr, "dmutexd: %s\n", err->message);
            g_error_free(err);
            if (d.control)
                dmn_control_close(d.control);
            dmn_node_close(d.node);
            uv_run(d.loop, UV_RUN_DEFAULT);
            dmn_control_free(d.control);
            dmn_node_free(d.node);
            dmn_config_clear(&d.cfg);
            return 1;
        }
        g_message("metrics on http://%s/metrics", d.cfg.metrics_listen);
    }
    uv_signal_init(d.loop, &d.sigterm);
    uv_signal_init(d.loop, &d.sigint);
    d.sigterm.data = d.sigint.data = &d;
    uv_signal_start(&d.sigterm, on_signal, SIGTERM);
    uv_signal_start(&d.sigint, on_signal, SIGINT);
    uv_signal_init(d.loop, &d.sighup);
    d.sighup.data = &d;
    uv_signal_start(&d.sighup, on_sighup, SIGHUP);

    /* Ready: the transport is bound and the control socket (when there is
     * one) accepts sessions, so dmutexctl works from now on (sdnotify.h). */
    uv_timer_init(d.loop, &d.status_timer);
    d.status_timer.data = &d;
    d.last_recovery = -1;
    uv_timer_start(&d.status_timer, on_status_timer, 1000, 1000);
    report_status(&d, true);

    uv_run(d.loop, UV_RUN_DEFAULT);

    dmn_http_free(d.http);
    dmn_control_free(d.control);
    dmn_node_free(d.node);
    uv_loop_close(d.loop);
    dmn_config_clear(&d.cfg);
    return 0;
}
