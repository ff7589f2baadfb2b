/* dmutex net: configuration of a networked node (dmutexd and libdmutex).
 *
 * Sources, later overriding earlier: defaults, a GKeyFile (--config, group
 * [dmutex]), command-line options. Members are HOST:PORT strings, the same
 * address serving TCP (lock traffic, push/pull) and UDP (membership
 * probes); the core's member id is the index in the list sorted bytewise
 * (strcmp), so every node must be given the same strings.
 *
 * The core's keys (lease, swim.probe_interval, ...) are core/confkeys.h's
 * table; durations take a unit ("10s", "250ms", "500us", "1.5s"). A bare
 * number still means milliseconds here, with a deprecation warning (the
 * schema reads it as seconds).
 */
#ifndef DMUTEX_NET_NETCONFIG_H
#define DMUTEX_NET_NETCONFIG_H

#include <glib.h>
#include <stdint.h>

#include "node.h"

#define DMN_CONFIG_GROUP "dmutex"
#define DMN_CONFIG_ERROR (dmn_config_error_quark())
GQuark dmn_config_error_quark(void);

typedef struct dmn_config {
    char *self;                 /* HOST:PORT of this node */
    GPtrArray *members;         /* char*, sorted by dmn_config_finish */
    uint32_t self_id;           /* index of self in members (after finish) */
    dm_config core;             /* n_members and self filled by finish */
    char *data_dir;             /* NULL: persisted state kept in memory only */
    char *control;              /* Unix socket of the control protocol (dmutexd) */
    char *metrics_listen;       /* HOST:PORT of GET /metrics (dmutexd); NULL: none */
    char *key_file;             /* FILE[,FILE...]: the keyring, in order */
    GBytes *key;                /* the sending key (keys[0]); NULL: no auth */
    GPtrArray *keys;            /* GBytes*: every key of key_file, read by finish */
    bool udp_encrypt;           /* send membership datagrams AES-256-GCM encrypted */
    char *tls_ca;               /* FILE[,FILE...]: CAs trusted for members' certificates */
    char *tls_cert;             /* this member's certificate (names dmutex://SELF) */
    char *tls_key;              /* its private key; with the two above: TCP over TLS 1.3 */
    char *log_level;
    int64_t auth_max_age_us;    /* frames older/newer than this are refused: 30 s */
    uint32_t max_inbound;       /* concurrent inbound TCP connections: 0 = 4n + 32 */
    uint32_t max_control;       /* concurrent control sessions: 256 */
    int64_t backoff_min_us;     /* reconnect back-off: 50 ms doubling ... */
    int64_t backoff_max_us;     /* ... up to 2 s */
    size_t out_queue_max;       /* bytes queued per peer before dropping: 1 MiB */
    int64_t lock_timeout_us;    /* libdmutex: dmutex_lock's timeout; 10 s */
    uint32_t max_members;       /* policy epoch: member ids in all (--members are the first;
                                   the rest are bound by `members add`); 0 = members + 4.
                                   The same on every member */
    GPtrArray *bindings;        /* char* "ID=HOST:PORT": spare ids a --join learnt, self's
                                   among them (then self need not be in members) */
} dmn_config;

/* Whether the configured policy runs configurations with epochs (epoch):
 * the daemon then has spare ids, MEMBERS ADD/REMOVE, JOIN and catch-up. */
bool dmn_config_epochs(const dmn_config *c);

void dmn_config_init(dmn_config *c);
void dmn_config_clear(dmn_config *c);

/* Load a key file's [dmutex] group over c. Unknown keys are an error. */
gboolean dmn_config_load_file(dmn_config *c, const char *path, GError **err);

/* One key of the [dmutex] group (a daemon key, or a core key spelt flat:
 * "lease", "swim.probe_interval"); `origin` names the source in errors and
 * warnings (a file, "--set"). Old spellings and bare-millisecond durations
 * are read with a deprecation warning. */
gboolean dmn_config_set(dmn_config *c, const char *key, const char *value, const char *origin,
                        GError **err);

/* Replace the member list by a comma-separated list ("h:p,h:p"). */
gboolean dmn_config_set_members_csv(dmn_config *c, const char *csv, GError **err);
void dmn_config_set_members(dmn_config *c, const char *const *members, size_t n);

/* Every key of the [dmutex] group joined by `sep`, newly allocated. */
char *dmn_config_key_names(const char *sep);
/* The core's keys as net/README.md lists them (a Markdown table), newly
 * allocated: `dmutexd --print-config-keys`. */
char *dmn_config_keys_doc(void);

/* Sort and check the members, find self, fill core.n_members/self, read the
 * key file. Call once, after every source was applied. */
gboolean dmn_config_finish(dmn_config *c, GError **err);

/* Read the keyring: key_file is FILE[,FILE...]; a text file holds one key
 * per line (blank lines and lines starting with '#' skipped, surrounding
 * whitespace trimmed), a file with other bytes is one binary key (trailing
 * whitespace ignored). The first key sends. Returns a new GPtrArray of
 * GBytes, or NULL with err naming the file and what is wrong. */
GPtrArray *dmn_config_read_keys(const char *key_file, GError **err);

/* Split "host:port" / "[v6]:port". Returns FALSE if malformed. */
gboolean dmn_split_address(const char *addr, char **host, int *port);

#endif
