/* dmutex simulator: what a run simulates.
 *
 * A dm_sim_config says everything about a run: the cluster and the core's
 * timing, clocks, network, workload, faults and the liveness phase. It is
 * filled from defaults (dm_sim_config_defaults: the one place simulation
 * defaults live), then a scenario file (a GLib key file; sim/scenarios/
 * default.ini documents every key), then command-line overrides.
 *
 * Some values may be left "auto" (a negative sentinel): resolving the
 * configuration for a seed (dm_sim_config_resolve) fills them -- swarm mode
 * draws the fault mix and rates from the seed, FoundationDB/VOPR style -- and
 * validates the result. A resolved configuration printed with
 * dm_sim_config_to_ini is itself a scenario file that replays the run.
 */
#ifndef DMUTEX_SIM_SIMCONFIG_H
#define DMUTEX_SIM_SIMCONFIG_H

#include <stdint.h>
#include <stdbool.h>
#include <glib.h>
#include "node.h"
#include "quorum.h"
#include "simnet.h"

#define DM_SIM_ERROR (dm_sim_error_quark())
GQuark dm_sim_error_quark(void);

typedef enum dm_sim_error_code {
    DM_SIM_ERROR_CONFIG = 1,     /* a bad key, value or file */
    DM_SIM_ERROR_UNSUPPORTED,    /* a valid request the simulator cannot do yet */
} dm_sim_error_code;

/* Fault kinds: the registry in fault.h (one file each, sim/fault_NAME.c);
 * a kind's index is its position there. These name the built-in ones. */
typedef enum dm_fault_kind {
    DM_FAULT_CRASH = 0,      /* a node crashes (stays down unless restart is on) */
    DM_FAULT_RESTART,        /* a crashed node restarts */
    DM_FAULT_PAUSE,          /* a node pauses for a while */
    DM_FAULT_PARTITION,      /* a partition of a random shape, healed after a while */
    DM_FAULT_LOSS,           /* messages are lost with network.loss */
    DM_FAULT_DUP,            /* ... duplicated with network.dup */
    DM_FAULT_REORDER,        /* ... held back with network.reorder */
    DM_FAULT_SKEW,           /* a node's clock rate changes (within the bound) */
    DM_FAULT_CHURN,          /* every node alternates exponential up and down
                                periods (faults.churn_p, faults.churn_up_mean) */
    DM_FAULT_WIPE,           /* a node crashes and loses what it persisted (a new
                                disk), then restarts after faults.wipe_down */
    DM_FAULT_SLOW,           /* a node reads its messages faults.slow_delay late
                                for a while (faults.slow_mean); timers on time */
} dm_fault_kind;

/* At most this many kinds (a kind mask is 32 bits). */
#define DM_FAULT_MAX 32

/* The kinds swarm mode may draw (churn is a measurement mode, never drawn). */
uint32_t dm_fault_swarm_mask(void);
#define DM_FAULT_SWARM_MASK (dm_fault_swarm_mask())

const char *dm_fault_kind_name(int kind);
/* Kinds that strike at a rate (events per second); loss, dup and reorder
 * are probabilities per message instead (network.*). */
bool dm_fault_kind_timed(int kind);
/* Parse "crash,pause,..." into a bit mask (1 << kind). */
bool dm_fault_kinds_parse(const char *list, uint32_t *mask, GError **err);

typedef enum dm_fault_mode {
    DM_FAULTS_NONE = 0,
    DM_FAULTS_SCRIPTED,      /* only the schedule */
    DM_FAULTS_SWARM,         /* kinds and rates drawn from the seed */
    DM_FAULTS_LIST,          /* the listed kinds; their rates drawn unless set */
} dm_fault_mode;

/* Distribution of hold times, and of times between a client's requests. */
typedef enum dm_hold_dist {
    DM_HOLD_EXPONENTIAL = 0,
    DM_HOLD_FIXED,
} dm_hold_dist;

/* How a client meets a request that arrives while its previous one is still
 * outstanding (sim/README.md, Clients). */
typedef enum dm_workload_loop {
    DM_LOOP_CLOSED = 0,      /* lock() is called anyway: the core refuses it, -DM_EBUSY */
    DM_LOOP_OPEN,            /* it waits in the client's queue, its latency running */
} dm_workload_loop;

/* One scripted fault: "at=SECONDS VERB[=ARG] [node=N] [for=SECONDS] [rate=PPM] [delay=SECONDS]";
 * the verbs and what they take come from the fault kinds (fault.h). */
struct dm_fault_verb;

#define DM_TARGET_RANDOM (-1)    /* node=random: drawn from the fault stream */
#define DM_TARGET_HOLDER (-2)    /* node=holder: a node holding a lock (waits for one) */
#define DM_TARGET_NONE (-3)      /* partition without a pivot */

typedef struct dm_fault_step {
    int64_t at;              /* global microseconds */
    const struct dm_fault_verb *verb;
    int shape;               /* a SHAPE verb (partition): dm_shape */
    int32_t node;            /* target (or pivot), or DM_TARGET_* */
    int64_t dur_us;          /* for=: undo after this long; 0: not undone */
    double value;            /* rate=PPM (skew), or a PROB verb's probability (loss, dup, reorder) */
    int64_t delay_us;        /* delay=SECONDS (slow) */
    /* order=I,J,...: a SHAPE verb's order of the nodes (simnet.h,
     * dm_simnet_partition_order), so that its sides are not drawn; an
     * interned string (never freed, so steps copy as values), or NULL. */
    const char *order;
} dm_fault_step;

/* Parse one step; format one step back (the same grammar). */
bool dm_fault_step_parse(const char *text, dm_fault_step *out, GError **err);
void dm_fault_step_format(const dm_fault_step *s, GString *out);
/* A step's order= as `n` node ids into `out`; false when it is not a
 * permutation of 0 .. n-1 (or the step has none). */
bool dm_fault_step_order(const dm_fault_step *s, uint32_t n, uint32_t *out);
/* `order` (n ids) as an interned order= value. */
const char *dm_fault_order_intern(const uint32_t *order, uint32_t n);

/* Sentinel of "auto" fields. */
#define DM_AUTO (-1)

typedef struct dm_sim_config {
    /* [sim] */
    uint32_t nodes;
    uint32_t members;            /* epoch policy: nodes 0..members-1 form C_1, the others
                                    start outside every configuration, as machines started
                                    with --join (dm_config.initial_members); 0: every node */
    uint64_t seed;
    int64_t duration_us;         /* the fault phase */
    bool codec;                  /* round-trip every message through the codec */
    /* [core] and [swim]: the core's keys (core/confkeys.h), handed to every
     * node; n_members, self, seed and bootstrap are set per node. */
    dm_config core;
    /* [clock] -- the clocks the nodes actually have */
    int64_t clock_drift_ppm;     /* |rate| bound of the simulated clocks; AUTO: core's */
    int64_t clock_offset_us;     /* initial readings drawn from [0, this] */
    GArray *clock_rates;         /* int64 ppm by node id (a prefix), or NULL */
    /* [network] -- loss, dup, reorder may be AUTO */
    dm_simnet_params net;
    uint32_t pause_buffer;       /* messages a paused node's socket keeps */
    /* [workload] */
    GArray *clients;             /* uint32 node ids running a client; NULL: all */
    uint32_t locks;              /* lock names "lock0", "lock1", ... */
    double load;                 /* offered load per lock, when interarrival is AUTO */
    int64_t interarrival_us;     /* mean per client and lock; AUTO: from load */
    dm_hold_dist interarrival_dist; /* exponential, or fixed: a strict period */
    int64_t hold_us;             /* mean; AUTO: 100 ms, or drawn in swarm/list */
    dm_hold_dist hold_dist;
    int64_t timeout_us;          /* acquisition timeout */
    dm_workload_loop loop;
    uint32_t queue;              /* open loop: requests a client keeps waiting, beyond its own */
    /* [faults] */
    dm_fault_mode mode;
    uint32_t kinds;              /* LIST: the kinds; once resolved: those in force */
    double rate[DM_FAULT_MAX];   /* per second, by kind index, for the kinds with a rate
                                    key (fault.h); AUTO */
    int64_t pause_us;            /* mean pause; AUTO */
    int64_t partition_us;        /* mean partition length; AUTO */
    int64_t wipe_down_us;        /* mean downtime after a random wipe; AUTO */
    int64_t slow_delay_us;       /* how late a slow node reads its messages; AUTO */
    int64_t slow_mean_us;        /* mean slow period; AUTO */
    bool wipe_bootstrap;         /* a wiped node restarts claiming it never ran (cfg.bootstrap):
                                    the old, unsafe behaviour, for tests */
    int32_t max_down;            /* most nodes crashed at once; AUTO */
    uint32_t crash_count;        /* > 0: exactly this many crashes, evenly spread
                                    over the fault phase, instead of crash_rate */
    GArray *schedule;            /* dm_fault_step, sorted by `at` once resolved */
    double churn_p;              /* churn: stationary probability a node is up */
    int64_t churn_up_mean_us;    /* churn: mean up period; down: up x (1 - p) / p */
    /* [liveness] */
    int64_t liveness_us;         /* bound on the liveness phase; AUTO: 3 leases + 10 rpc + suspect */
    /* [timeline] */
    int64_t timeline_interval_us; /* --timeline: sampling interval */
    /* [measure] */
    int64_t measure_from_us;     /* the steady-state window: from here to the fault phase's end */
} dm_sim_config;

void dm_sim_config_defaults(dm_sim_config *cfg);
void dm_sim_config_clear(dm_sim_config *cfg);
void dm_sim_config_copy(dm_sim_config *dst, const dm_sim_config *src);

/* Overlay a key file (path) or one "group.key=value" setting. Unknown groups
 * or keys and bad values are errors naming the problem. */
bool dm_sim_config_load(dm_sim_config *cfg, const char *path, GError **err);
bool dm_sim_config_load_data(dm_sim_config *cfg, const char *data, const char *origin, GError **err);
bool dm_sim_config_set(dm_sim_config *cfg, const char *assignment, GError **err);

/* The liveness bound `liveness.bound = auto` resolves to, for an otherwise
 * resolved configuration: leases, RPC timeouts and suspicion to recover
 * from the faults, SWIM's re-probe or push/pull for the views to agree, and
 * a handover allowance per node (16 one-way delays, latency + jitter) for
 * the N requests per lock the liveness phase queues, where it exceeds the
 * 10 RPC timeouts (sim/README.md, "Runs"). */
int64_t dm_sim_liveness_auto(const dm_sim_config *c);

/* Fill every AUTO for `seed` (also stored in out->seed) and validate. */
bool dm_sim_config_resolve(const dm_sim_config *in, uint64_t seed, dm_sim_config *out, GError **err);

/* The configuration as a key file, every key written out. */
char *dm_sim_config_to_ini(const dm_sim_config *cfg);

/* One line of what a resolved swarm/list configuration drew: the fault
 * kinds, their rates and means, network probabilities and the hold time. */
char *dm_sim_config_describe_faults(const dm_sim_config *cfg);

/* Whether node `id` runs a workload client. */
bool dm_sim_config_is_client(const dm_sim_config *cfg, uint32_t id);

#endif
