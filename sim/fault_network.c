/* dmutex simulator, fault kinds `loss`, `dup` and `reorder`: the network
 * misbehaves per message.
 *
 * Not timed: in force, each message is lost, duplicated or held back with
 * the probability [network] loss, dup or reorder (swarm: drawn; otherwise
 * 0 unless set). Scripted: loss=P, dup=P, reorder=P [for=S] set one
 * probability, and for= restores the one before. The three differ only in
 * which probability they move, so they share this file.
 */
#include "world_internal.h"

void set_rates(dm_world *w, double loss, double dup, double reorder)
{
    w->loss = loss;
    w->dup = dup;
    w->reorder = reorder;
    dm_simnet_set_rates(w->net, loss, dup, reorder);
}

/* Set one of the three probabilities (0 loss, 1 dup, 2 reorder); return the
 * old value. */
static double set_one(dm_world *w, int which, double p)
{
    double r[3] = { w->loss, w->dup, w->reorder };
    double old = r[which];
    r[which] = p;
    set_rates(w, r[0], r[1], r[2]);
    return old;
}

static void prob_resolve(double *out, double drawn, bool on)
{
    if (*out < 0)
        *out = on ? drawn : 0;
}

#define NETWORK_KIND(NAME, INDEX, MAX)                                                      \
    static void NAME##_draw(dm_prng *p, const dm_sim_config *in, dm_sim_config *drawn,      \
                            int stage)                                                      \
    {                                                                                       \
        (void)in;                                                                           \
        if (stage == 1)                                                                     \
            drawn->net.NAME = dm_fault_uniform(p, 0, MAX);                                  \
    }                                                                                       \
    static void NAME##_resolve(dm_sim_config *out, const dm_sim_config *drawn, bool on)     \
    {                                                                                       \
        prob_resolve(&out->net.NAME, drawn->net.NAME, on);                                  \
    }                                                                                       \
    static void NAME##_apply(dm_world *w, const dm_fault_step *s, sim_step *rt, sim_node *nd) \
    {                                                                                       \
        (void)nd;                                                                           \
        rt->saved = set_one(w, INDEX, s->value);                                            \
    }                                                                                       \
    static void NAME##_undo(dm_world *w, const dm_fault_step *s, sim_step *rt)              \
    {                                                                                       \
        (void)s;                                                                            \
        set_one(w, INDEX, rt->saved);                                                       \
    }                                                                                       \
    static const char *const NAME##_describe[] = { "network." #NAME, NULL };               \
    static const dm_fault_verb NAME##_verbs[] = {                                           \
        { .name = #NAME, .arg = DM_VERB_PROB, .apply = NAME##_apply, .undo = NAME##_undo,   \
          .interval = true },                                                               \
        { 0 },                                                                              \
    };                                                                                      \
    const dm_fault_ops dm_fault_##NAME##_ops = {                                            \
        .name = #NAME,                                                                      \
        .swarm_round = 1,                                                                   \
        .draw = NAME##_draw,                                                                \
        .resolve = NAME##_resolve,                                                          \
        .describe = NAME##_describe,                                                        \
        .verbs = NAME##_verbs,                                                              \
    };

NETWORK_KIND(loss, 0, 0.2)
NETWORK_KIND(dup, 1, 0.2)
NETWORK_KIND(reorder, 2, 0.3)
