/* dmutex simulator: injecting faults into the world.
 *
 * The machinery every fault kind shares (the kinds themselves are
 * sim/fault_NAME.c, listed in fault.c): random strikes of each kind in
 * force at its rate (EV_GEN), the kinds' start/arm/stop hooks, picking a
 * target node, and scripted steps, run at their instants and undone after
 * for=. Everything drawn here comes from the "faults" stream, so faults
 * never shift the workload's draws.
 */
#include "world_internal.h"

/* A node satisfying `pred`, drawn from the fault stream; NULL if none. */
sim_node *pick(dm_world *w, node_pred pred)
{
    uint32_t count = 0;
    for (uint32_t i = 0; i < w->n; i++)
        count += pred(&w->nodes[i]);
    if (count == 0)
        return NULL;
    uint32_t k = (uint32_t)dm_prng_below(&w->fault_prng, count);
    for (uint32_t i = 0; i < w->n; i++)
        if (pred(&w->nodes[i]) && k-- == 0)
            return &w->nodes[i];
    return NULL;
}

int64_t drift_draw(dm_world *w, dm_prng *p)
{
    int64_t b = w->cfg->clock_drift_ppm;
    return (int64_t)dm_prng_below(p, (uint64_t)(2 * b + 1)) - b;
}

void restart_after(dm_world *w, sim_node *nd, int64_t dur)
{
    if (dur > 0)
        schedule(w, &nd->restart, w->now + dur);
}

/* The next strike of a kind with a rate, if it falls in the fault phase. */
void gen_next(dm_world *w, int kind)
{
    double rate = w->cfg->rate[kind];
    int64_t at = w->now + 1 + (int64_t)dm_prng_exponential(&w->fault_prng, 1e6 / rate);
    if (at < w->cfg->duration_us)
        schedule(w, &w->gen[kind], at);
}

void faults_fire(dm_world *w, int kind)
{
    const dm_fault_ops *k = dm_fault_get(kind);
    if (k && k->fire)
        k->fire(w);
}

void faults_start(dm_world *w)
{
    for (int k = 0; k < dm_fault_count(); k++)
        if ((w->cfg->kinds & (1u << k)) && dm_fault_get(k)->start)
            dm_fault_get(k)->start(w);
}

void faults_arm(dm_world *w)
{
    for (int k = 0; k < dm_fault_count(); k++)
        if (w->cfg->rate[k] > 0)
            gen_next(w, k);
    for (guint i = 0; i < w->cfg->schedule->len; i++) {
        int64_t at = g_array_index(w->cfg->schedule, dm_fault_step, i).at;
        if (at < w->cfg->duration_us)
            schedule(w, &w->steps[i].ev, at);
    }
    for (int k = 0; k < dm_fault_count(); k++)
        if (dm_fault_get(k)->arm)
            dm_fault_get(k)->arm(w);
}

void faults_stop(dm_world *w)
{
    for (int k = 0; k < dm_fault_count(); k++)
        cancel(w, &w->gen[k]);
    for (guint i = 0; i < w->cfg->schedule->len; i++) {
        cancel(w, &w->steps[i].ev);
        cancel(w, &w->steps[i].undo);
    }
    for (int k = 0; k < dm_fault_count(); k++)
        if (dm_fault_get(k)->stop)
            dm_fault_get(k)->stop(w);
}

static sim_node *step_target(dm_world *w, const dm_fault_step *s, node_pred pred)
{
    if (s->node >= 0)
        return pred(&w->nodes[s->node]) ? &w->nodes[s->node] : NULL;
    return pick(w, s->node == DM_TARGET_HOLDER ? is_holder : pred);
}

/* How often a step aimed at "the holder" looks again while nobody holds. */
#define HOLDER_POLL_US 10000

void run_step(dm_world *w, uint32_t i)
{
    const dm_fault_step *s = &g_array_index(w->cfg->schedule, dm_fault_step, i);
    const dm_fault_verb *v = s->verb;
    sim_step *rt = &w->steps[i];
    sim_node *nd = NULL;
    /* A verb's own node is its target; a shape verb's node= is a pivot,
     * struck only when named (node=random is left to the shape). */
    bool targeted = v->eligible && (v->arg == DM_VERB_NODE || s->node >= 0 ||
                                    s->node == DM_TARGET_HOLDER);
    if (targeted) {
        nd = step_target(w, s, v->eligible);
        if (!nd && s->node == DM_TARGET_HOLDER) {
            if (w->now + HOLDER_POLL_US < w->cfg->duration_us)
                schedule(w, &rt->ev, w->now + HOLDER_POLL_US);
            return;
        }
    }
    if (tracing(w)) {
        GString *t = g_string_new(NULL);
        dm_fault_step_format(s, t);
        TRACE(w, -1, "step %s%s", t->str, targeted && !nd ? ": no eligible node" : "");
        g_string_free(t, TRUE);
    }
    if (targeted && !nd)
        return;
    if (nd)
        rt->node = (int32_t)nd->id;
    /* The network steps strike no node: record them as they stand. */
    if (v->arg == DM_VERB_PROB)
        record_fault(w, v->name, NULL, s);
    v->apply(w, s, rt, nd);
    if (!v->undo)
        return;
    if (w->timeline && v->interval) {
        tl_step_close(w, i);   /* defensive: a step runs once */
        rt->tl_from = w->now;
    }
    if (s->dur_us > 0)
        schedule(w, &rt->undo, w->now + s->dur_us);
}

void undo_step(dm_world *w, uint32_t i)
{
    const dm_fault_step *s = &g_array_index(w->cfg->schedule, dm_fault_step, i);
    TRACE(w, -1, "step %u over", i);
    if (s->verb->undo)
        s->verb->undo(w, s, &w->steps[i]);
    if (w->timeline)
        tl_step_close(w, i);
}

void record_fault(dm_world *w, const char *verb, const sim_node *nd, const dm_fault_step *proto)
{
    if (!w->record || w->phase != PHASE_FAULTS)
        return;
    dm_fault_step s = proto ? *proto : (dm_fault_step){ .node = DM_TARGET_NONE };
    s.at = w->now;
    s.verb = dm_fault_verb_lookup(verb);
    if (nd)
        s.node = (int32_t)nd->id;
    /* A wipe is a crash (node_crash recorded it) that also loses the disk. */
    GArray *r = w->record;
    dm_fault_step *last = r->len ? &g_array_index(r, dm_fault_step, r->len - 1) : NULL;
    if (strcmp(verb, "wipe") == 0 && last && last->at == s.at && last->node == s.node &&
        strcmp(last->verb->name, "crash") == 0) {
        last->verb = s.verb;
        return;
    }
    g_array_append_val(r, s);
}
