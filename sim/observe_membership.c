/* dmutex simulator: membership tracking, an observer (observer.h).
 *
 * Which live nodes agree on one view and tree (a census of view hashes,
 * updated only for the nodes whose view may have moved), the crash
 * detection records (world.h: time to the first suspicion, to DEAD
 * everywhere, to agreement), false suspicions and deaths, and the liveness
 * failure when views still differ at the liveness bound.
 */
#include "observer.h"

static void census_add(dm_world *w, const sim_node *nd, int delta)
{
    for (guint i = 0; i < w->census->len; i++) {
        view_count *e = &g_array_index(w->census, view_count, i);
        if (e->view_hash == nd->view_hash && e->tree_hash == nd->tree_hash) {
            e->count += (uint32_t)delta;
            if (e->count == 0)
                g_array_remove_index_fast(w->census, i);
            return;
        }
    }
    g_assert(delta > 0);
    view_count e = { nd->view_hash, nd->tree_hash, 1 };
    g_array_append_val(w->census, e);
}

/* Node `nd`'s view may have changed, or it started or crashed. */
static void view_touch(dm_world *w, sim_node *nd)
{
    w->member_dirty = true;
    observe_due(w, &dm_observe_membership);
    if (nd->view_dirty)
        return;
    nd->view_dirty = true;
    w->dirty[w->n_dirty++] = nd->id;
}

static bool member_gone(const sim_node *observer, uint32_t member)
{
    dm_member_info info;
    dm_membership_info(dm_node_membership(observer->core), member, &info);
    return info.state == DM_MEMBER_DEAD || info.state == DM_MEMBER_LEFT;
}

/* A record is over: it converged, its node restarted, or the run ended. */
static void detection_close(dm_world *w, dm_world_detection *d, const char *why)
{
    if (!d->open)
        return;
    d->open = false;
    w->open_detections--;
    char t1[32], t2[32], t3[32];
    TRACE(w, d->node, "detection %s: first suspect %s, dead everywhere %s, converged %s", why,
          d->first_suspect_us >= 0 ? fmt_time(t1, sizeof t1, d->first_suspect_us) : "-",
          d->dead_all_us >= 0 ? fmt_time(t2, sizeof t2, d->dead_all_us) : "-",
          d->converge_us >= 0 ? fmt_time(t3, sizeof t3, d->converge_us) : "-");
    csv_member_row(w, d);
}

/* `victim` has just crashed. */
static void detection_open(dm_world *w, const sim_node *victim)
{
    if (!w->cfg->core.membership)
        return;
    dm_world_detection d = { .node = victim->id, .crashed_at = w->now, .first_suspect_us = -1,
                             .first_dead_us = -1, .dead_all_us = -1, .converge_us = -1,
                             .open = true };
    for (uint32_t i = 0; i < w->n && d.first_suspect_us < 0; i++) {
        const sim_node *nd = &w->nodes[i];
        if (!node_live(nd))
            continue;
        dm_member_info info;
        dm_membership_info(dm_node_membership(nd->core), victim->id, &info);
        if (info.state != DM_MEMBER_ALIVE)
            d.first_suspect_us = 0;   /* already suspected when it crashed */
        if (info.state == DM_MEMBER_DEAD || info.state == DM_MEMBER_LEFT)
            d.first_dead_us = 0;
    }
    g_array_append_val(w->detections, d);
    w->open_detections++;
}

static dm_world_detection *detection_of(dm_world *w, uint32_t node)
{
    if (w->open_detections == 0)
        return NULL;
    for (guint i = w->detections->len; i-- > 0;) {
        dm_world_detection *d = &g_array_index(w->detections, dm_world_detection, i);
        if (d->node == node && d->open)
            return d;
    }
    return NULL;
}

/* Some node's membership moved, or the set of live nodes changed: rehash
 * the views that may have changed, see whether the live members agree, and
 * advance the open detection records. */
static void members_update(dm_world *w)
{
    w->member_dirty = false;
    for (uint32_t k = 0; k < w->n_dirty; k++) {
        sim_node *nd = &w->nodes[w->dirty[k]];
        nd->view_dirty = false;
        if (nd->in_census)
            census_add(w, nd, -1);
        nd->in_census = node_live(nd);
        if (!nd->in_census)
            continue;
        const dm_membership *m = dm_node_membership(nd->core);
        nd->view_hash = m ? dm_membership_view_hash(m) : 0;
        nd->tree_hash = dm_node_view_hash(nd->core);
        census_add(w, nd, 1);
    }
    w->n_dirty = 0;
    bool agree = w->census->len <= 1;
    if (agree != w->views_agree) {
        TRACE(w, -1, "views %s", agree ? "agree" : "differ");
        if (w->phase == PHASE_LIVENESS)
            w->stats.liveness_view_us = agree ? w->now - w->stats.liveness_start_us : -1;
    }
    w->views_agree = agree;
    if (w->open_detections == 0)
        return;
    for (guint k = 0; k < w->detections->len; k++) {
        dm_world_detection *d = &g_array_index(w->detections, dm_world_detection, k);
        if (!d->open)
            continue;
        bool all_dead = true;
        for (uint32_t i = 0; i < w->n && all_dead; i++)
            if (i != d->node && node_live(&w->nodes[i]))
                all_dead = member_gone(&w->nodes[i], d->node);
        if (!all_dead)
            continue;
        if (d->dead_all_us < 0)
            d->dead_all_us = w->now - d->crashed_at;
        if (agree) {
            d->converge_us = w->now - d->crashed_at;
            detection_close(w, d, "converged");
        }
    }
}

/* Node `nd` reported a member event: first suspicions of crashed nodes, and
 * false suspicions and deaths of running ones. */
static void member_event_seen(dm_world *w, const sim_node *nd, const dm_event *ev)
{
    if (ev->member_event != DM_MEMBER_EV_SUSPECT && ev->member_event != DM_MEMBER_EV_DEAD)
        return;
    if (ev->member >= w->n || ev->member == nd->id)
        return;
    const sim_node *m = &w->nodes[ev->member];
    if (m->state == NODE_DOWN) {
        dm_world_detection *d = detection_of(w, ev->member);
        if (d && d->first_suspect_us < 0)
            d->first_suspect_us = w->now - d->crashed_at;
        if (d && d->first_dead_us < 0 && ev->member_event == DM_MEMBER_EV_DEAD)
            d->first_dead_us = w->now - d->crashed_at;
        return;
    }
    /* News about an earlier life of the member (an incarnation below the one
     * this life started with, typically reported by a node that was itself
     * down when the member restarted) accuses nobody that runs: not a false
     * positive. An incarnation of this life the member has since refuted is
     * one: a slow member declaring a healthy one dead because it read the
     * refutation too late is Lifeguard's false positive. */
    const dm_membership *mm = dm_node_membership(m->core);
    if (mm && ev->incarnation < m->life_incarnation) {
        w->stats.stale_accusations++;
        TRACE(w, nd->id, "stale %s of %u (incarnation %u, running %u)",
              ev->member_event == DM_MEMBER_EV_SUSPECT ? "suspicion" : "death", ev->member,
              ev->incarnation, dm_membership_incarnation(mm));
        return;
    }
    bool connected = m->state == NODE_UP;
    for (uint32_t j = 0; j < w->n && connected; j++)
        connected = j == m->id || (!dm_simnet_is_cut(w->net, m->id, j) &&
                                   !dm_simnet_is_cut(w->net, j, m->id));
    /* Healthy: what Lifeguard counts, an accusation that nothing wrong with
     * the member itself explains (it is not slow, not paused, not cut off). */
    bool healthy = connected && !is_slow(m);
    if (ev->member_event == DM_MEMBER_EV_SUSPECT) {
        w->stats.false_suspicions++;
        w->stats.false_suspicions_connected += connected;
        w->stats.false_suspicions_healthy += healthy;
    } else {
        w->stats.false_deaths++;
        w->stats.false_deaths_connected += connected;
        w->stats.false_deaths_healthy += healthy;
    }
    TRACE(w, nd->id, "false %s of %u (%s)",
          ev->member_event == DM_MEMBER_EV_SUSPECT ? "suspicion" : "death", ev->member,
          m->state == NODE_PAUSED ? "paused" : !connected ? "cut off" : healthy ? "connected" : "slow");
}

/* Live members that disagree on the view when the liveness bound passes:
 * one line naming the groups. */
static void report_views(dm_world *w)
{
    GString *t = g_string_new(NULL);
    uint32_t *group = g_new0(uint32_t, w->n);   /* group leader + 1, 0: not live */
    uint32_t groups = 0, smallest = UINT32_MAX, smallest_size = UINT32_MAX;
    for (uint32_t i = 0; i < w->n; i++) {
        if (!node_live(&w->nodes[i]))
            continue;
        for (uint32_t j = 0; j < i && !group[i]; j++)
            if (group[j] == j + 1 && w->nodes[j].view_hash == w->nodes[i].view_hash &&
                w->nodes[j].tree_hash == w->nodes[i].tree_hash)
                group[i] = j + 1;
        if (!group[i]) {
            group[i] = i + 1;
            groups++;
        }
    }
    g_string_append_printf(t, "liveness: live members disagree on the view at the bound "
                              "(%u distinct views):", groups);
    for (uint32_t i = 0; i < w->n; i++) {
        if (group[i] != i + 1)
            continue;
        uint32_t size = 0;
        g_string_append(t, " {");
        for (uint32_t j = i; j < w->n; j++)
            if (group[j] == i + 1) {
                g_string_append_printf(t, size ? ",%u" : "%u", j);
                size++;
            }
        const dm_membership *m = dm_node_membership(w->nodes[i].core);
        g_string_append_printf(t, "} see %u members (view %016" PRIx64 ", tree %016" PRIx64 ");",
                               m ? dm_membership_view_size(m) : w->n, w->nodes[i].view_hash,
                               w->nodes[i].tree_hash);
        if (size < smallest_size) {
            smallest_size = size;
            smallest = i;
        }
    }
    g_string_truncate(t, t->len - 1);
    TRACE(w, -1, "%s", t->str);
    dm_checker_add_violation(w->checker, DM_VIOLATION_LIVENESS, w->now, NULL, smallest, t->str);
    g_free(group);
    g_string_free(t, TRUE);
}

static void membership_crash(dm_world *w, sim_node *nd)
{
    view_touch(w, nd);
    detection_open(w, nd);
}

static void membership_restart(dm_world *w, sim_node *nd)
{
    dm_world_detection *d = detection_of(w, nd->id);
    if (d)
        detection_close(w, d, "cut short: the node is back");
}

static void membership_event(dm_world *w)
{
    if (w->member_dirty)
        members_update(w);
}

static void membership_phase_end(dm_world *w, phase p)
{
    if (p != PHASE_LIVENESS)
        return;
    if (w->member_dirty)
        members_update(w);
    if (!w->views_agree)
        report_views(w);
}

/* Records still open are censored. */
static void membership_report(dm_world *w)
{
    for (guint k = 0; k < w->detections->len; k++)
        detection_close(w, &g_array_index(w->detections, dm_world_detection, k), "cut short by the end");
}

const dm_observer dm_observe_membership = {
    .name = "membership",
    .crash = membership_crash,
    .restart = membership_restart,
    .view = view_touch,
    .member = member_event_seen,
    .event = membership_event,
    .phase_end = membership_phase_end,
    .report = membership_report,
};
