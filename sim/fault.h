/* dmutex simulator: fault kinds behind one table.
 *
 * A fault kind (crash, pause, partition, ...) is one dm_fault_ops, in its own
 * file sim/fault_NAME.c, listed once in builtin[] in sim/fault.c. The table
 * is the one place that knows a kind: its name (--faults, [faults] kinds),
 * its rate key ([faults] NAME_rate, for kinds that strike at a rate), what
 * swarm mode draws for it, how it fills its "auto" settings, what it does
 * to the world when it strikes, and the scripted steps it accepts
 * ([faults] schedule). A kind's position in builtin[] is its index: its bit
 * in a kind mask and its slot in dm_sim_config.rate. The dm_fault_kind enum
 * names the positions of the built-in kinds, which the simulator's own code
 * refers to; a new kind needs no enum entry.
 *
 * Swarm draws come in rounds so that adding a kind never changes what
 * earlier kinds draw for a seed: round 1 draws, in table order, one bit per
 * kind of the round, then each kind's stage-0 values (rates), its stage-1
 * values (network probabilities), its stage-2 values (durations), then the
 * draws every mix has (max_down, hold); round 2 the same for its kinds, and
 * so on. A new kind takes a round after every existing one.
 */
#ifndef DMUTEX_SIM_FAULT_H
#define DMUTEX_SIM_FAULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "prng.h"
#include "simconfig.h"

struct dm_world;
struct sim_node;
struct sim_step;

/* What a scripted step's verb takes: VERB, VERB=NODE, VERB=P, VERB=SHAPE. */
typedef enum dm_verb_arg { DM_VERB_NONE, DM_VERB_NODE, DM_VERB_PROB, DM_VERB_SHAPE } dm_verb_arg;

/* One scripted step verb ("at=S VERB[=ARG] [node=N] [rate=PPM] [delay=S] [for=S]"). */
typedef struct dm_fault_verb {
    const char *name;
    dm_verb_arg arg;
    bool rate;                   /* needs rate=PPM (and only such verbs take it) */
    bool delay;                  /* needs delay=SECONDS (and only such verbs take it) */
    /* The nodes a target may be (node=N, random, holder); NULL: the verb
     * has no target (a SHAPE verb's node= is then an optional pivot). */
    bool (*eligible)(const struct sim_node *nd);
    /* Strike; nd is the target, or NULL. */
    void (*apply)(struct dm_world *w, const dm_fault_step *s, struct sim_step *rt,
                  struct sim_node *nd);
    /* After for=: restore what apply saved in rt. NULL: apply handles its own
     * for= (a crash schedules the restart, a partition its heal). */
    void (*undo)(struct dm_world *w, const dm_fault_step *s, struct sim_step *rt);
    bool interval;               /* timeline: one "NAME VALUE" row from apply to undo */
} dm_fault_verb;

typedef struct dm_fault_ops {
    const char *name;            /* first member: core/registry.h looks it up */
    const char *rate_key;        /* [faults] key of its rate; NULL: no rate */
    unsigned swarm_round;        /* 0: swarm never draws it; else its round (above) */
    double swarm_rate[2];        /* with a rate key: swarm draws the rate (stage 0)
                                    uniformly from [0] to [1] per second */
    /* Swarm: draw this kind's other values for `stage` (1 or 2) into
     * `drawn` (a zeroed configuration; `in` gives the sizes and the lease).
     * NULL: nothing. */
    void (*draw)(dm_prng *p, const dm_sim_config *in, dm_sim_config *drawn, int stage);
    /* Resolve: fill this kind's AUTO settings in `out` from `drawn`; `on`:
     * the kind is in force. (Rates are filled for every kind with a rate
     * key.) NULL: nothing to fill. */
    void (*resolve)(dm_sim_config *out, const dm_sim_config *drawn, bool on);
    /* Keys ("group.key") the "faults in force" line shows for it. */
    const char *const *describe;
    /* The world, each may be NULL: `start` at time 0 before the nodes start
     * (kind in force); `arm` at time 0 once the nodes run and the scripted
     * steps are queued (always); `fire` one strike at its rate; `stop` at
     * the end of the fault phase (cancel what start or arm queued). */
    void (*start)(struct dm_world *w);
    void (*arm)(struct dm_world *w);
    void (*fire)(struct dm_world *w);
    void (*stop)(struct dm_world *w);
    const dm_fault_verb *verbs;  /* scripted steps; ends with a NULL name; may be NULL */
} dm_fault_ops;

extern const dm_fault_ops dm_fault_crash_ops, dm_fault_restart_ops, dm_fault_pause_ops,
    dm_fault_partition_ops, dm_fault_loss_ops, dm_fault_dup_ops, dm_fault_reorder_ops,
    dm_fault_skew_ops, dm_fault_churn_ops, dm_fault_wipe_ops, dm_fault_slow_ops,
    dm_fault_operator_ops;

/* The registry, in index order. */
int dm_fault_count(void);
const dm_fault_ops *dm_fault_get(int kind);
/* The index of the kind named `name`, or -1. */
int dm_fault_lookup(const char *name);
/* The kind names joined by `sep` (g_free). */
char *dm_fault_names(const char *sep);

/* Scripted step verbs of every kind: by name (NULL if none), and all names
 * joined by `sep` (g_free). */
const dm_fault_verb *dm_fault_verb_lookup(const char *name);
char *dm_fault_verb_names(const char *sep);

/* Swarm draws keep three significant digits (times: milliseconds), so that
 * a printed configuration stays readable and still replays exactly. */
double dm_fault_uniform(dm_prng *p, double lo, double hi);
int64_t dm_fault_to_ms(double us);

/* Swarm: every round's draws for `seed` into `drawn` (zeroed first): the
 * mask of kinds drawn into drawn->kinds, and the values of every kind. */
void dm_fault_draw(const dm_sim_config *in, uint64_t seed, dm_sim_config *drawn);

#endif
