/* dmutex simulator: the CSV outputs of a run.
 *
 * One row per acquisition attempt (dm_world_set_csv) and one per crash
 * detection record (dm_world_set_csv_members); the columns are in world.h's
 * headers and sim/README.md. Rows go out as things end, so a sweep can
 * stream them; nothing here feeds back into the run.
 */
#include "world_internal.h"

#include "error.h"
void dm_world_csv_header(FILE *out)
{
    fputs("seed,node,lock,requested_at,granted_at,failed_at,outcome,messages\n", out);
}

static void csv_time(GString *s, int64_t us)
{
    char buf[32];
    if (us >= 0)
        g_string_append(s, fmt_time(buf, sizeof buf, us));
    g_string_append_c(s, ',');
}

/* Outcome names for the CSV: "timeout" rather than "timedout". */
const char *reason_name(int reason)
{
    static const char *const names[DM_ERROR_COUNT] = {
        [DM_ETIMEDOUT] = "timeout", [DM_ENOQUORUM] = "noquorum", [DM_ELEASE] = "lease",
        [DM_EREVOKED] = "revoked", [DM_ESHUTDOWN] = "shutdown", [DM_EPERSIST] = "persist",
        [DM_EINVAL] = "invalid", [DM_EBADNAME] = "badname",
    };
    int r = reason < 0 ? -reason : reason;
    return r < DM_ERROR_COUNT && names[r] ? names[r] : "error";
}

/* One acquisition attempt ends (or the run does): granted_at < 0 when never
 * granted, failed_at < 0 when it did not fail. */
void csv_attempt(dm_world *w, const sim_node *nd, uint32_t lock, int64_t requested_at,
                        int64_t granted_at, int64_t failed_at, const char *outcome,
                        uint32_t messages)
{
    if (!w->csv)
        return;
    GString *s = g_string_sized_new(96);
    g_string_append_printf(s, "%" PRIu64 ",%u,%s,", w->cfg->seed, nd->id, w->lock_names[lock]);
    csv_time(s, requested_at);
    csv_time(s, granted_at);
    csv_time(s, failed_at);
    g_string_append_printf(s, "%s,%u\n", outcome, messages);
    fwrite(s->str, 1, s->len, w->csv);
    g_string_free(s, TRUE);
}

/* The client's current attempt ends. */
void csv_row(dm_world *w, const sim_node *nd, uint32_t lock, const sim_client *cl,
                    int64_t failed_at, const char *outcome)
{
    csv_attempt(w, nd, lock, cl->requested_at, cl->state == CL_HOLDING ? cl->granted_at : -1,
                failed_at, outcome, cl->messages);
}

void dm_world_csv_members_header(FILE *out)
{
    fputs("seed,n,node,crashed_at,first_suspect_s,dead_all_s,converge_s\n", out);
}

/* A detection record closed. */
void csv_member_row(dm_world *w, const dm_world_detection *d)
{
    char t1[32];
    if (!w->csv_members)
        return;
    GString *s = g_string_sized_new(96);
    g_string_append_printf(s, "%" PRIu64 ",%u,%u,", w->cfg->seed, w->n, d->node);
    csv_time(s, d->crashed_at);
    csv_time(s, d->first_suspect_us);
    csv_time(s, d->dead_all_us);
    if (d->converge_us >= 0)
        g_string_append(s, fmt_time(t1, sizeof t1, d->converge_us));
    g_string_append_c(s, '\n');
    fwrite(s->str, 1, s->len, w->csv_members);
    g_string_free(s, TRUE);
}
