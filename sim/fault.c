/* dmutex simulator: the registry of fault kinds (see fault.h).
 *
 * builtin[] is the one list of kinds; a kind's position is its index. Name
 * lookups and lists go through core/registry.h like the quorum and policy
 * registries; the swarm's draw order (rounds, then stages) lives here, so a
 * kind only says what it draws.
 */
#include "fault.h"

#include <math.h>
#include <string.h>
#include <glib.h>

#include "registry.h"

static const dm_fault_ops *const builtin[] = {
    &dm_fault_crash_ops, &dm_fault_restart_ops, &dm_fault_pause_ops, &dm_fault_partition_ops,
    &dm_fault_loss_ops,  &dm_fault_dup_ops,     &dm_fault_reorder_ops, &dm_fault_skew_ops,
    &dm_fault_churn_ops, &dm_fault_wipe_ops, &dm_fault_slow_ops, &dm_fault_operator_ops,
};

_Static_assert(G_N_ELEMENTS(builtin) <= DM_FAULT_MAX, "a kind mask has 32 bits");

int dm_fault_count(void)
{
    return (int)G_N_ELEMENTS(builtin);
}

const dm_fault_ops *dm_fault_get(int kind)
{
    return kind >= 0 && kind < dm_fault_count() ? builtin[kind] : NULL;
}

int dm_fault_lookup(const char *name)
{
    const void *k = dm_registry_lookup((const void *const *)builtin, G_N_ELEMENTS(builtin), name);
    for (int i = 0; k && i < dm_fault_count(); i++)
        if (builtin[i] == k)
            return i;
    return -1;
}

char *dm_fault_names(const char *sep)
{
    return dm_registry_names((const void *const *)builtin, G_N_ELEMENTS(builtin), sep);
}

const char *dm_fault_kind_name(int kind)
{
    const dm_fault_ops *k = dm_fault_get(kind);
    return k ? k->name : NULL;
}

bool dm_fault_kind_timed(int kind)
{
    const dm_fault_ops *k = dm_fault_get(kind);
    return k && k->rate_key;
}

uint32_t dm_fault_swarm_mask(void)
{
    uint32_t mask = 0;
    for (int k = 0; k < dm_fault_count(); k++)
        if (builtin[k]->swarm_round)
            mask |= 1u << k;
    return mask;
}

const dm_fault_verb *dm_fault_verb_lookup(const char *name)
{
    for (int k = 0; name && k < dm_fault_count(); k++)
        for (const dm_fault_verb *v = builtin[k]->verbs; v && v->name; v++)
            if (strcmp(v->name, name) == 0)
                return v;
    return NULL;
}

char *dm_fault_verb_names(const char *sep)
{
    GString *s = g_string_new(NULL);
    for (int k = 0; k < dm_fault_count(); k++)
        for (const dm_fault_verb *v = builtin[k]->verbs; v && v->name; v++)
            g_string_append_printf(s, "%s%s", s->len ? sep : "", v->name);
    return g_string_free(s, FALSE);
}

double dm_fault_uniform(dm_prng *p, double lo, double hi)
{
    char buf[32];
    g_ascii_formatd(buf, sizeof buf, "%.3g", lo + (hi - lo) * dm_prng_double(p));
    return g_ascii_strtod(buf, NULL);
}

int64_t dm_fault_to_ms(double us)
{
    return llround(us / 1000) * 1000;
}

/* Every value is drawn on every resolve, in one fixed order, so that setting
 * one of them in a file does not shift the others. */
void dm_fault_draw(const dm_sim_config *in, uint64_t seed, dm_sim_config *drawn)
{
    dm_prng p;
    dm_prng_derive(&p, seed, "swarm", 0);
    memset(drawn, 0, sizeof *drawn);
    unsigned last = 0;
    for (int k = 0; k < dm_fault_count(); k++)
        last = MAX(last, builtin[k]->swarm_round);
    for (unsigned round = 1; round <= last; round++) {
        for (int k = 0; k < dm_fault_count(); k++)
            if (builtin[k]->swarm_round == round && dm_prng_below(&p, 2))
                drawn->kinds |= 1u << k;
        for (int k = 0; k < dm_fault_count(); k++)
            if (builtin[k]->swarm_round == round && builtin[k]->rate_key)
                drawn->rate[k] = dm_fault_uniform(&p, builtin[k]->swarm_rate[0],
                                                  builtin[k]->swarm_rate[1]);
        for (int stage = 1; stage < 3; stage++)
            for (int k = 0; k < dm_fault_count(); k++)
                if (builtin[k]->swarm_round == round && builtin[k]->draw)
                    builtin[k]->draw(&p, in, drawn, stage);
        if (round > 1)
            continue;
        drawn->max_down = 1 + (int32_t)dm_prng_below(&p, in->nodes / 2 > 0 ? in->nodes / 2 : 1);
        /* Holds log-uniform from 10 ms to 1.5 leases: long ones need renewals. */
        drawn->hold_us = dm_fault_to_ms(
            exp(dm_fault_uniform(&p, log(1e4), log(1.5 * (double)in->core.lease_us))));
    }
}
