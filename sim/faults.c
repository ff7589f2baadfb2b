/* dmutex simulator: injecting faults into the world.
 *
 * Random faults of each kind in force strike at their rate (EV_GEN), a
 * crash count spreads its crashes evenly, churn flips every node between up
 * and down, and scripted steps run at their instants and are undone after
 * for=. Everything drawn here comes from the "faults" stream (churn: the
 * per-node "churn" streams), so faults never shift the workload's draws.
 */
#include "world_internal.h"

#include <math.h>
/* ---------------------------------------------------------------- faults */

typedef bool (*node_pred)(const sim_node *nd);
static bool is_not_down(const sim_node *nd) { return nd->state != NODE_DOWN; }
static bool is_down(const sim_node *nd) { return nd->state == NODE_DOWN; }
static bool is_up(const sim_node *nd) { return nd->state == NODE_UP; }
static bool is_paused(const sim_node *nd) { return nd->state == NODE_PAUSED; }
static bool is_any(const sim_node *nd) { (void)nd; return true; }
static bool is_wipeable(const sim_node *nd) { return nd->state != NODE_DOWN && nd->recoverable; }

/* Some node lost its persisted state and has not yet learnt its token floor:
 * down since a wipe (or a crash during recovery), or up and recovering. */
static bool amnesiac_node(const dm_world *w)
{
    for (uint32_t i = 0; i < w->n; i++) {
        const sim_node *nd = &w->nodes[i];
        if (nd->state == NODE_DOWN ? nd->amnesiac
                                   : nd->core && dm_node_recovery(nd->core, NULL) == DM_RECOVERY_FLOOR)
            return true;
    }
    return false;
}

static bool is_holder(const sim_node *nd)
{
    if (nd->state != NODE_UP)
        return false;
    for (uint32_t l = 0; l < nd->w->cfg->locks; l++)
        if (nd->clients[l].state == CL_HOLDING)
            return true;
    return false;
}

/* A node satisfying `pred`, drawn from the fault stream; NULL if none. */
static sim_node *pick(dm_world *w, node_pred pred)
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

void set_rates(dm_world *w, double loss, double dup, double reorder)
{
    w->loss = loss;
    w->dup = dup;
    w->reorder = reorder;
    dm_simnet_set_rates(w->net, loss, dup, reorder);
}

void partition(dm_world *w, dm_shape shape, uint32_t pivot, int64_t dur)
{
    GString *desc = tracing(w) || w->timeline ? g_string_new(NULL) : NULL;
    dm_simnet_partition(w->net, shape, pivot, &w->fault_prng, desc);
    if (w->timeline) {
        /* The new cuts replace the old. */
        if (w->tl_part_at >= 0)
            tl_interval(w, "fault", w->tl_part_at, w->now, -1, w->tl_part->str);
        w->tl_part_at = w->now;
        g_string_printf(w->tl_part, "partition %s", desc->str);
        g_strdelimit(w->tl_part->str, ",", ' ');
    }
    w->stats.partitions++;
    w->stats.shapes[shape]++;
    w->cur_shape = shape;
    fold(w, 0x50415254ull ^ (uint64_t)shape << 32 ^ dm_simnet_cut_count(w->net));
    if (desc) {
        char t[32];
        TRACE(w, -1, "partition %s%s%s", desc->str, dur > 0 ? " for " : "",
              dur > 0 ? fmt_time(t, sizeof t, dur) : "");
        g_string_free(desc, TRUE);
    }
    if (dur > 0)
        schedule(w, &w->heal, w->now + dur);
    else
        cancel(w, &w->heal);
}

void heal(dm_world *w)
{
    cancel(w, &w->heal);
    if (w->tl_part_at >= 0) {
        tl_interval(w, "fault", w->tl_part_at, w->now, -1, w->tl_part->str);
        w->tl_part_at = -1;
    }
    if (dm_simnet_cut_count(w->net) == 0)
        return;
    TRACE(w, -1, "heal");
    w->stats.heals++;
    w->cur_shape = -1;
    dm_simnet_heal(w->net);
}

int64_t drift_draw(dm_world *w, dm_prng *p)
{
    int64_t b = w->cfg->clock_drift_ppm;
    return (int64_t)dm_prng_below(p, (uint64_t)(2 * b + 1)) - b;
}

void random_fault(dm_world *w, dm_fault_kind kind)
{
    const dm_sim_config *c = w->cfg;
    sim_node *nd;
    switch (kind) {
    case DM_FAULT_CRASH:
        if (w->down < (uint32_t)c->max_down && (nd = pick(w, is_not_down)))
            node_crash(w, nd);
        break;
    case DM_FAULT_RESTART:
        if ((nd = pick(w, is_down)))
            node_restart(w, nd);
        break;
    case DM_FAULT_PAUSE:
        if ((nd = pick(w, is_up)))
            node_pause(w, nd, 1000 + sample_exp(&w->fault_prng, c->pause_us));
        break;
    case DM_FAULT_PARTITION: {
        dm_shape shape = (dm_shape)dm_prng_below(&w->fault_prng, DM_SHAPE_COUNT);
        partition(w, shape, DM_SIMNET_ANY, 1000 + sample_exp(&w->fault_prng, c->partition_us));
        break;
    }
    case DM_FAULT_SKEW:
        if ((nd = pick(w, is_any)))
            node_skew(w, nd, drift_draw(w, &w->fault_prng));
        break;
    case DM_FAULT_WIPE:
        /* Operators replace one disk at a time: two members without their
         * state at once can leave no quorum without one of them, and then
         * no token floor can ever be recovered (the lock stays unavailable,
         * safely; docs/PROTOCOL.md). Drawn wipes wait for the last one to
         * recover, and spare a node without which no quorum exists (it
         * could never recover); scripted ones do as they are told. */
        if (w->down < (uint32_t)c->max_down && !amnesiac_node(w) && (nd = pick(w, is_wipeable))) {
            node_wipe(w, nd);
            schedule(w, &nd->restart, w->now + 1000 + sample_exp(&w->fault_prng, c->wipe_down_us));
        }
        break;
    default:
        break;
    }
}

void gen_next(dm_world *w, dm_fault_kind kind)
{
    double rate = w->cfg->rate[kind];
    int64_t at = w->now + 1 + (int64_t)dm_prng_exponential(&w->fault_prng, 1e6 / rate);
    if (at < w->cfg->duration_us)
        schedule(w, &w->gen[kind], at);
}

/* faults.crash_count: crash k (from 0) of `count` strikes at
 * duration x (k + 1) / (count + 1). */
void crash_count_next(dm_world *w)
{
    uint32_t count = w->cfg->crash_count;
    if (w->crashes_done >= count)
        return;
    int64_t at = w->cfg->duration_us / (count + 1) * (int64_t)(w->crashes_done + 1);
    if (at < w->cfg->duration_us)
        schedule(w, &w->crash_ev, at < w->now ? w->now : at);
}

/* Churn: node `nd`'s next period ends after an exponential time, mean
 * churn_up_mean when up and churn_up_mean (1 - p) / p when down (p = 1: it
 * never goes down; p = 0: never comes up). Only within the fault phase. */
static void churn_next(dm_world *w, sim_node *nd)
{
    double p = w->cfg->churn_p, up = (double)w->cfg->churn_up_mean_us;
    if (nd->churn_up ? p >= 1 : p <= 0)
        return;
    double mean = nd->churn_up ? up : up * (1 - p) / p;
    int64_t at = w->now + llround(dm_prng_exponential(&nd->churn_prng, mean));
    if (at < w->cfg->duration_us)
        schedule(w, &nd->churn, at);
}

/* Time 0, before any node starts: each node is up with probability p, so
 * the alternating process is stationary from the start (its periods are
 * memoryless). A node drawn down never ran: it is counted as crashed at 0,
 * and its first start, when churn brings it up, is a bootstrap. */
void churn_start(dm_world *w)
{
    for (uint32_t i = 0; i < w->n; i++) {
        sim_node *nd = &w->nodes[i];
        nd->churn_up = dm_prng_double(&nd->churn_prng) < w->cfg->churn_p;
        if (!nd->churn_up) {
            TRACE(w, nd->id, "churn: starts down");
            node_crash(w, nd);
        }
        churn_next(w, nd);
    }
}

void churn_flip(dm_world *w, sim_node *nd)
{
    nd->churn_up = !nd->churn_up;
    TRACE(w, nd->id, "churn: %s", nd->churn_up ? "up" : "down");
    if (nd->churn_up)
        node_restart(w, nd);
    else
        node_crash(w, nd);
    churn_next(w, nd);
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
    sim_step *rt = &w->steps[i];
    static const node_pred preds[DM_STEP_ACTIONS] = {
        [DM_STEP_CRASH] = is_not_down, [DM_STEP_RESTART] = is_down, [DM_STEP_PAUSE] = is_up,
        [DM_STEP_RESUME] = is_paused,  [DM_STEP_SKEW] = is_any,     [DM_STEP_PARTITION] = is_any,
        [DM_STEP_WIPE] = is_not_down,
    };
    sim_node *nd = NULL;
    bool targeted = preds[s->action] && (s->action != DM_STEP_PARTITION || s->node >= 0 ||
                                         s->node == DM_TARGET_HOLDER);
    if (targeted) {
        nd = step_target(w, s, preds[s->action]);
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
    switch (s->action) {
    case DM_STEP_PARTITION:
        partition(w, (dm_shape)s->shape, nd ? nd->id : DM_SIMNET_ANY, s->dur_us);
        return;
    case DM_STEP_HEAL:
        heal(w);
        return;
    case DM_STEP_CRASH:
    case DM_STEP_WIPE:
        if (s->action == DM_STEP_WIPE)
            node_wipe(w, nd);
        else
            node_crash(w, nd);
        if (s->dur_us > 0)
            schedule(w, &nd->restart, w->now + s->dur_us);
        return;
    case DM_STEP_RESTART:
        node_restart(w, nd);
        return;
    case DM_STEP_PAUSE:
        node_pause(w, nd, s->dur_us);
        return;
    case DM_STEP_RESUME:
        node_resume(w, nd);
        return;
    case DM_STEP_SKEW:
        rt->saved = (double)nd->clock.rate_ppm;
        node_skew(w, nd, (int64_t)s->value);
        break;
    case DM_STEP_LOSS:
        rt->saved = w->loss;
        set_rates(w, s->value, w->dup, w->reorder);
        break;
    case DM_STEP_DUP:
        rt->saved = w->dup;
        set_rates(w, w->loss, s->value, w->reorder);
        break;
    case DM_STEP_REORDER:
        rt->saved = w->reorder;
        set_rates(w, w->loss, w->dup, s->value);
        break;
    default:
        return;
    }
    if (w->timeline && s->action != DM_STEP_SKEW) {
        tl_step_close(w, i);   /* defensive: a step runs once */
        rt->tl_from = w->now;
    }
    if (s->dur_us > 0)
        schedule(w, &rt->undo, w->now + s->dur_us);
}

void undo_step(dm_world *w, uint32_t i)
{
    const dm_fault_step *s = &g_array_index(w->cfg->schedule, dm_fault_step, i);
    sim_step *rt = &w->steps[i];
    TRACE(w, -1, "step %u over", i);
    switch (s->action) {
    case DM_STEP_SKEW: node_skew(w, &w->nodes[rt->node], (int64_t)rt->saved); break;
    case DM_STEP_LOSS: set_rates(w, rt->saved, w->dup, w->reorder); break;
    case DM_STEP_DUP: set_rates(w, w->loss, rt->saved, w->reorder); break;
    case DM_STEP_REORDER: set_rates(w, w->loss, w->dup, rt->saved); break;
    default: break;
    }
    if (w->timeline)
        tl_step_close(w, i);
}

