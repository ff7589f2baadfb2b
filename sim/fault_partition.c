/* dmutex simulator, fault kind `partition`: the network splits.
 *
 * At its rate the network splits into one of Jepsen's shapes (simnet.h),
 * drawn uniformly, for 1 ms plus an exponential time of mean [faults]
 * partition_mean; a new partition replaces the one in force. Scripted:
 * partition=SHAPE [node=N] [order=I,J,...] [for=S] (N: the node isolated,
 * the bridge, or the muted one; order: the sides, not drawn), heal.
 */
#include "world_internal.h"

/* The partition just made, as a step that strikes the same sides: the
 * isolated node of isolate, else the order the sides were cut from (but
 * for halves, whose order is fixed). */
static void record_partition(dm_world *w, dm_shape shape, uint32_t pivot, const uint32_t *order)
{
    dm_fault_step s = { .shape = shape, .node = DM_TARGET_NONE };
    if (shape == DM_SHAPE_ISOLATE)
        s.node = (int32_t)order[0];
    else if (pivot < w->n)
        s.node = (int32_t)pivot;
    if (shape != DM_SHAPE_ISOLATE && shape != DM_SHAPE_HALVES)
        s.order = dm_fault_order_intern(order, w->n);
    record_fault(w, "partition", NULL, &s);
}

void partition(dm_world *w, dm_shape shape, uint32_t pivot, const uint32_t *order, int64_t dur)
{
    GString *desc = tracing(w) || w->timeline ? g_string_new(NULL) : NULL;
    uint32_t *used = w->record ? g_new(uint32_t, w->n) : NULL;
    dm_simnet_partition_order(w->net, shape, pivot, order, &w->fault_prng, desc, used);
    if (used)
        record_partition(w, shape, pivot, used);
    g_free(used);
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
    record_fault(w, "heal", NULL, NULL);
    w->stats.heals++;
    w->cur_shape = -1;
    dm_simnet_heal(w->net);
}

static void partition_fire(dm_world *w)
{
    dm_shape shape = (dm_shape)dm_prng_below(&w->fault_prng, DM_SHAPE_COUNT);
    partition(w, shape, DM_SIMNET_ANY, NULL, 1000 + sample_exp(&w->fault_prng, w->cfg->partition_us));
}

static void partition_draw(dm_prng *p, const dm_sim_config *in, dm_sim_config *drawn, int stage)
{
    (void)in;
    if (stage == 2)
        drawn->partition_us = dm_fault_to_ms(dm_fault_uniform(p, 0.5e6, 5e6));
}

static void partition_resolve(dm_sim_config *out, const dm_sim_config *drawn, bool on)
{
    (void)on;
    if (out->partition_us < 0)
        out->partition_us = drawn->partition_us;
}

static void partition_apply(dm_world *w, const dm_fault_step *s, sim_step *rt, sim_node *nd)
{
    (void)rt;
    /* validate() made sure an order= names every node once. */
    uint32_t *order = s->order ? g_new(uint32_t, w->n) : NULL;
    if (order && !dm_fault_step_order(s, w->n, order))
        g_clear_pointer(&order, g_free);
    partition(w, (dm_shape)s->shape, nd ? nd->id : DM_SIMNET_ANY, order, s->dur_us);
    g_free(order);
}

static void heal_apply(dm_world *w, const dm_fault_step *s, sim_step *rt, sim_node *nd)
{
    (void)s, (void)rt, (void)nd;
    heal(w);
}

static const char *const describe[] = { "faults.partition_rate", "faults.partition_mean", NULL };
static const dm_fault_verb verbs[] = {
    { .name = "partition", .arg = DM_VERB_SHAPE, .eligible = is_any, .apply = partition_apply },
    { .name = "heal", .arg = DM_VERB_NONE, .apply = heal_apply },
    { 0 },
};

const dm_fault_ops dm_fault_partition_ops = {
    .name = "partition",
    .rate_key = "partition_rate",
    .swarm_round = 1,
    .swarm_rate = { 0.02, 0.2 },
    .draw = partition_draw,
    .resolve = partition_resolve,
    .describe = describe,
    .fire = partition_fire,
    .verbs = verbs,
};
