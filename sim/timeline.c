/* dmutex simulator: the timeline (dm_world_set_timeline).
 *
 * Rows sampling every node at each interval, one row per fault interval and
 * one for the liveness phase (columns: dm_world_timeline_header,
 * sim/README.md). Samples are taken between events, outside the heap, so a
 * timeline changes neither the events nor the hash.
 */
#include "world_internal.h"

void dm_world_timeline_header(FILE *out)
{
    fputs("seed,kind,t_start,t_end,node,state,view_size,view_hash,tree_size,quorum_size,detail,"
          "holds,epoch\n", out);
}

static void tl_time(GString *s, int64_t us)
{
    char buf[32];
    g_string_append(s, fmt_time(buf, sizeof buf, us));
}

static void tl_flush(dm_world *w)
{
    fwrite(w->tl_row->str, 1, w->tl_row->len, w->timeline);
    g_string_truncate(w->tl_row, 0);
}

/* One row: kind=fault (an interval; from == to for an instant) or phase.
 * node < 0: none. `detail` holds no comma. */
void tl_interval(dm_world *w, const char *kind, int64_t from, int64_t to, int node,
                        const char *detail)
{
    GString *r = w->tl_row;
    g_string_append_printf(r, "%" PRIu64 ",%s,", w->cfg->seed, kind);
    tl_time(r, from);
    g_string_append_c(r, ',');
    tl_time(r, to);
    g_string_append_c(r, ',');
    if (node >= 0)
        g_string_append_printf(r, "%d", node);
    /* state, view_size, view_hash, tree_size, quorum_size, holds, epoch: empty */
    g_string_append_printf(r, ",,,,,,%s,,\n", detail);
    tl_flush(w);
}

/* The quorum node `nd` would ask for a request now: the core's own rule
 * (dm_node_current_quorum), its size, or -1 when none exists. */
static int tl_quorum_size(dm_world *w, const sim_node *nd)
{
    int size = dm_node_current_quorum(nd->core, local_now(nd), NULL, w->tl_quorum, w->n);
    return size < 0 ? -1 : size;
}

/* Every node's state at `at` (after every event at or before it). */
static void tl_sample(dm_world *w, int64_t at)
{
    GString *r = w->tl_row;
    for (uint32_t i = 0; i < w->n; i++) {
        const sim_node *nd = &w->nodes[i];
        g_string_append_printf(r, "%" PRIu64 ",sample,", w->cfg->seed);
        tl_time(r, at);
        g_string_append_printf(r, ",,%u,", i);
        if (!node_live(nd)) {
            g_string_append(r, "crashed,,,,,,0,\n");
            continue;
        }
        const dm_membership *m = dm_node_membership(nd->core);
        uint32_t holds = 0;
        for (uint32_t l = 0; l < w->cfg->locks; l++)
            holds += dm_node_holds(nd->core, w->lock_names[l]);
        g_string_append_printf(r, "%s,%u,%016" PRIx64 ",%u,%d,,%u,%" PRIu64 "\n",
                               nd->state == NODE_PAUSED ? "paused" : "up",
                               m ? dm_membership_view_size(m) : w->n,
                               m ? dm_membership_view_hash(m) : dm_node_view_hash(nd->core),
                               dm_quorum_count(dm_node_quorum_system(nd->core)), tl_quorum_size(w, nd), holds,
                               dm_node_config_epoch(nd->core));
    }
    tl_flush(w);
}

/* Samples due before `t` (and at `t` when `inclusive`). */
void tl_until(dm_world *w, int64_t t, bool inclusive)
{
    while (w->tl_next < t || (inclusive && w->tl_next == t)) {
        tl_sample(w, w->tl_next);
        w->tl_next += w->cfg->timeline_interval_us;
    }
}

/* A scripted loss/dup/reorder step's interval ends. */
void tl_step_close(dm_world *w, uint32_t i)
{
    sim_step *rt = &w->steps[i];
    if (rt->tl_from < 0)
        return;
    const dm_fault_step *s = &g_array_index(w->cfg->schedule, dm_fault_step, i);
    char d[64];
    g_snprintf(d, sizeof d, "%s %g", s->verb->name, s->value);
    tl_interval(w, "fault", rt->tl_from, w->now, -1, d);
    rt->tl_from = -1;
}

/* The run is over: what is still open ends now; then the liveness phase. */
void tl_finish(dm_world *w)
{
    tl_until(w, w->now, true);
    for (uint32_t i = 0; i < w->n; i++) {
        sim_node *nd = &w->nodes[i];
        if (nd->tl_paused_at >= 0)
            tl_interval(w, "fault", nd->tl_paused_at, w->now, (int)i, "pause");
        if (nd->tl_crashed_at >= 0)
            tl_interval(w, "fault", nd->tl_crashed_at, w->now, (int)i, nd->wiped ? "wipe" : "crash");
        nd->tl_paused_at = nd->tl_crashed_at = -1;
    }
    if (w->tl_part_at >= 0)
        tl_interval(w, "fault", w->tl_part_at, w->now, -1, w->tl_part->str);
    w->tl_part_at = -1;
    for (guint i = 0; i < w->cfg->schedule->len; i++)
        tl_step_close(w, i);
    if (w->stats.liveness_start_us > 0)
        tl_interval(w, "phase", w->stats.liveness_start_us, w->now, -1, "liveness");
    fflush(w->timeline);
}

void dm_world_set_timeline(dm_world *w, FILE *out)
{
    g_return_if_fail(w->timeline == NULL && w->stats.events == 0);
    if (!out)
        return;
    w->timeline = out;
    w->tl_next = 0;
    w->tl_row = g_string_sized_new(256);
    w->tl_part = g_string_new(NULL);
    w->tl_quorum = g_new0(uint32_t, w->n);
    /* Nodes churn started down at time 0. */
    for (uint32_t i = 0; i < w->n; i++)
        if (w->nodes[i].state == NODE_DOWN)
            w->nodes[i].tl_crashed_at = w->now;
}
