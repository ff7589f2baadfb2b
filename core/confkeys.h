/* dmutex core: the configuration schema of dm_config and its SWIM timing.
 *
 * One table lists every key a driver may read from a file or a command line
 * into a dm_config: its name, group (core or swim), type, range and one
 * line of help; its default is whatever dm_config_defaults() writes there,
 * so the numbers live only in core/node.c and core/membership.c. The
 * simulator's [core] and [swim] groups and dmutexd's [dmutex] file keys and
 * flags all go through it: one spelling, one value parser, one validation.
 *
 * Spellings. A key is GROUP.NAME ("core.lease", "swim.probe_interval"):
 * the simulator writes it as NAME in a [GROUP] section or `--set GROUP.NAME=`,
 * dmutexd's flat [dmutex] group writes core keys without the prefix
 * ("lease") and the others with it ("swim.probe_interval"). Older spellings
 * are aliases: they still work, and the lookup says they are deprecated so
 * that the driver can warn.
 *
 * Values. Durations take a unit: "10s", "250ms", "1.5s", "500us", "2m",
 * "1h"; a bare number is seconds. Unsigned integers are decimal; booleans
 * true/false (also yes/no, 1/0); policies and quorum systems are names from
 * their registries (core/policy.h, core/quorum.h). lost_margin is a
 * duration or a percentage of the lease ("10%").
 *
 * Nothing here does I/O: errors come back as -DM_EINVAL with a message
 * (newly allocated, g_free) naming the key and the bad value.
 */
#ifndef DMUTEX_CORE_CONFKEYS_H
#define DMUTEX_CORE_CONFKEYS_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "node.h"

typedef enum dm_confkey_type {
    DM_CONFKEY_DURATION = 0,   /* int64_t microseconds */
    DM_CONFKEY_UINT,           /* uint32_t */
    DM_CONFKEY_PPM,            /* uint32_t parts per million */
    DM_CONFKEY_BOOL,           /* bool */
    DM_CONFKEY_POLICY,         /* const dm_policy_ops *, by registry name */
    DM_CONFKEY_QUORUM,         /* const dm_quorum_ops *, by registry name */
    DM_CONFKEY_MARGIN,         /* lost_margin: a duration (int64_t us) or "N%" of the lease
                                  (DM_LOST_MARGIN_RELATIVE and dm_config.lost_margin_ppm) */
} dm_confkey_type;

/* A key that describes one node's start rather than the cluster: a driver
 * that configures a whole cluster (the simulator) sets it per node and
 * does not offer it. */
#define DM_CONFKEY_PER_NODE 0x1u
/* A key every member must set alike: drivers compare it with each peer's
 * (core/confagree.h) and refuse a peer that differs. */
#define DM_CONFKEY_AGREE 0x2u

typedef struct dm_confkey {
    const char *group;         /* "core" or "swim" */
    const char *name;          /* within the group */
    dm_confkey_type type;
    size_t offset;             /* of the field in dm_config */
    int64_t min, max;          /* inclusive range of numbers (durations in us) */
    unsigned flags;            /* DM_CONFKEY_* */
    const char *help;          /* one line */
} dm_confkey;

/* The table, in documentation order: every core key, then every swim key. */
size_t dm_confkey_count(void);
const dm_confkey *dm_confkey_at(size_t i);              /* NULL past the end */

/* The key GROUP.NAME, or an alias of one (then *deprecated is set when not
 * NULL, and the result is the key it stands for). NULL when unknown. */
const dm_confkey *dm_confkey_lookup(const char *group, const char *name, bool *deprecated);
/* The same for a flat spelling: "lease", "core.lease", "swim.probe_interval". */
const dm_confkey *dm_confkey_lookup_flat(const char *key, bool *deprecated);
/* Whether any key or alias is spelt in `group`. */
bool dm_confkey_group_known(const char *group);

/* "core.lease" (full) or, flat, "lease" / "swim.probe_interval". Newly
 * allocated (g_free). */
char *dm_confkey_full_name(const dm_confkey *k);
char *dm_confkey_flat_name(const dm_confkey *k);

/* Aliases, for documentation and tests: the i-th old spelling (group, name)
 * and the key it maps to; false past the end. */
bool dm_confkey_alias_at(size_t i, const char **group, const char **name, const dm_confkey **to);

/* Parse `text` (surrounding blanks ignored) as k's value and store it into
 * cfg; nothing changes on error. Returns 0, or -DM_EINVAL and *msg (when
 * msg is not NULL) saying which key, which value and what was expected. */
int dm_confkey_set(const dm_confkey *k, dm_config *cfg, const char *text, char **msg);
/* k's value in cfg, in a form dm_confkey_set reads back. */
void dm_confkey_format(const dm_confkey *k, const dm_config *cfg, GString *out);
/* k's default (dm_config_defaults), formatted. Newly allocated (g_free). */
char *dm_confkey_default(const dm_confkey *k);
/* What k accepts: "a duration in 1us..1000000000s", "one of ae, memberlist".
 * Newly allocated (g_free). */
char *dm_confkey_expected(const dm_confkey *k);
/* "duration", "uint", "ppm", "bool", "policy", "quorum", "margin". */
const char *dm_confkey_type_name(dm_confkey_type t);

/* Every key in its range, and the rules between keys (dm_confrule_at):
 * settings that cannot work together. n_members, self and seed are the
 * driver's and not looked at. Returns 0 or -DM_EINVAL and *msg, which says
 * the values and ends with the rule's name: "... (rule 'lease >= 4 x
 * rpc_timeout')". */
int dm_confkeys_check(const dm_config *cfg, char **msg);

/* The rules between keys, in the order they are checked: a name as the
 * error and net/README.md spell it, and the check (NULL when cfg keeps the
 * rule, else what is wrong, newly allocated). */
typedef struct dm_confrule {
    const char *name;
    char *(*check)(const dm_config *cfg);
} dm_confrule;
const dm_confrule *dm_confrule_at(size_t i);     /* NULL past the end */

/* A duration: a non-negative number with an optional unit (us, ms, s, m,
 * min, h; none: seconds), at most DM_DURATION_MAX_US. Surrounding blanks
 * are ignored. Returns 0 or -DM_EINVAL. */
#define DM_DURATION_MAX_US ((int64_t)1000000000 * 1000000)
int dm_duration_parse(const char *text, int64_t *us);
/* The largest unit that is exact: "10s", "250ms", "1500ms", "500us", "0s". */
void dm_duration_format(int64_t us, GString *out);
/* Whether `text` is a bare number (no unit), e.g. to honour an older
 * convention for bare numbers before handing it to dm_duration_parse. */
bool dm_duration_is_bare(const char *text);

#endif
