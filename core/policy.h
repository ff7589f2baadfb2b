/* dmutex core: reconfiguration policies behind one interface.
 *
 * A policy says what a change of the membership view does to the quorum
 * system a node forms quorums from, and to its arbiter state: `ae` keeps
 * the system over every configured member (members SWIM does not hold
 * ALIVE are merely avoided by substitution: safe); `memberlist` rebuilds it
 * over the members in view and drops what departed members held (the
 * original Go dmutex's design: nodes with different views can form
 * disjoint quorums, which the simulator measures). Each policy is one file
 * (policy_ae.c, policy_memberlist.c) with a table of this shape; a user's
 * own goes into dm_config.policy without touching the core.
 */
#ifndef DMUTEX_CORE_POLICY_H
#define DMUTEX_CORE_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "membership.h"

typedef struct dm_policy_ops {
    const char *name;          /* "ae": the key of --policy and of the config */
    const char *summary;       /* one line for --help */
    bool needs_membership;     /* refuses a configuration without SWIM */
    /* After the view changed: write the ids (ascending) the quorum system
     * should span to `ids` (room for n_members) and return how many, or 0
     * to keep the system as it is. */
    uint32_t (*members)(const dm_membership *m, uint32_t n_members, uint32_t *ids);
    /* Whether requests queued by, and grants held by, members that left
     * the view are dropped at a view change. */
    bool purge_departed;
    /* The policy changes the quorum system only through agreed
     * configurations (core/reconfig.h): epochs on every lock message, a
     * Paxos round inside the current configuration for each change, a quiet
     * period and a token floor carried into the next. `members()` then says
     * what the next configuration should hold, and the node applies the
     * hysteresis of dm_config.reconfig_delay_us / rejoin_delay_us. */
    bool epochs;
} dm_policy_ops;

/* The registry: the policies that ship with dmutex, the default (ae) first,
 * then those a program registered (core/registry.h), which --policy, the
 * config files, --help and the experiments then offer like the built-ins. */
const dm_policy_ops *dm_policy_lookup(const char *name);   /* NULL: unknown */
/* 0, -DM_EINVAL (no table, no members(), or a name unfit for a command
 * line), -DM_EEXIST (the name is taken). `ops` must stay valid. */
int dm_policy_register(const dm_policy_ops *ops);
size_t dm_policy_registered_count(void);                   /* built-in and registered */
const dm_policy_ops *dm_policy_registered(size_t i);       /* NULL past the end */
size_t dm_policy_builtin_count(void);
const dm_policy_ops *dm_policy_builtin(size_t i);          /* NULL past the end */
/* Every registered name joined by `sep`, newly allocated (g_free). */
char *dm_policy_names(const char *sep);
/* p's name; the default's for NULL. */
const char *dm_policy_name(const dm_policy_ops *p);
/* The most members a cluster under p may have (NULL: the default's): every
 * node's dm_node_new, the simulator's configuration and dmutexd's check
 * this one rule. An epoch policy's configurations travel as a member set of
 * DM_RECONFIG_MAX_MEMBERS bits; the others are bounded by DM_MAX_MEMBERS. */
uint32_t dm_policy_max_members(const dm_policy_ops *p);
/* Look a name up: 0 and *out set, or -DM_EINVAL. */
int dm_policy_parse(const char *name, const dm_policy_ops **out);

/* A members() for policies that follow the view: the members SWIM holds in
 * view (ALIVE or SUSPECT), ascending. */
uint32_t dm_policy_members_in_view(const dm_membership *m, uint32_t n_members, uint32_t *ids);

extern const dm_policy_ops dm_policy_ae_ops;
extern const dm_policy_ops dm_policy_memberlist_ops;
extern const dm_policy_ops dm_policy_epoch_ops;

#endif
