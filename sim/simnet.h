/* dmutex simulator: the network model.
 *
 * Directed links between n nodes. Each message gets a latency drawn from
 * its link's distribution (a per-link base, fixed for the run, plus jitter),
 * may be lost or duplicated, and may be held back by an extra reordering
 * delay. Links can be cut one direction at a time; partitions come in
 * Jepsen's shapes. All randomness comes from the network PRNG stream, except
 * the choice of who ends up on which side, which the caller draws from its
 * own (fault) stream so that partitions do not perturb message timings.
 */
#ifndef DMUTEX_SIM_SIMNET_H
#define DMUTEX_SIM_SIMNET_H

#include <stdint.h>
#include <stdbool.h>
#include <glib.h>
#include "prng.h"

typedef enum dm_jitter_dist {
    DM_JITTER_EXPONENTIAL = 0,
    DM_JITTER_LOGNORMAL,
} dm_jitter_dist;

typedef enum dm_shape {
    DM_SHAPE_HALVES = 0,        /* nodes [0, n/2) against the rest */
    DM_SHAPE_RANDOM_HALVES,     /* the same after a shuffle */
    DM_SHAPE_ISOLATE,           /* one node against the rest */
    DM_SHAPE_BRIDGE,            /* two halves; one node sees both sides */
    DM_SHAPE_MAJORITIES_RING,   /* each node sees a majority, no two the same */
    DM_SHAPE_ONE_WAY,           /* random halves, cut in one direction only */
    DM_SHAPE_COUNT
} dm_shape;

/* "halves", "random-halves", ...; NULL for an invalid shape. */
const char *dm_shape_name(int shape);
/* The shape named `name`, or -1. */
int dm_shape_parse(const char *name);

typedef struct dm_simnet_params {
    int64_t latency_us;         /* base one-way latency */
    int64_t jitter_us;          /* mean of the jitter added to it */
    dm_jitter_dist jitter_dist;
    double jitter_sigma;        /* lognormal shape parameter */
    double link_spread;         /* per-link base = latency * U(1 - s, 1 + s) */
    double loss, dup, reorder;  /* probabilities per message */
    int64_t reorder_delay_us;   /* mean extra delay of a reordered message */
} dm_simnet_params;

typedef struct dm_simnet_stats {
    uint64_t routed;            /* messages handed to route() */
    uint64_t cut;               /* dropped at send: link cut */
    uint64_t lost;              /* dropped at send: random loss */
    uint64_t duplicated;
    uint64_t reordered;
} dm_simnet_stats;

typedef struct dm_simnet dm_simnet;

#define DM_SIMNET_ANY UINT32_MAX
#define DM_SIMNET_CUT (-1)
#define DM_SIMNET_LOST (-2)

/* `prng` seeds the network stream (copied). */
dm_simnet *dm_simnet_new(uint32_t n, const dm_simnet_params *p, const dm_prng *prng);
void dm_simnet_free(dm_simnet *net);

/* Replace loss, duplication and reordering probabilities. */
void dm_simnet_set_rates(dm_simnet *net, double loss, double dup, double reorder);

/* The fate of one message from -> to: the number of copies (1 or 2) with
 * their delays in delay[], or DM_SIMNET_CUT / DM_SIMNET_LOST. */
int dm_simnet_route(dm_simnet *net, uint32_t from, uint32_t to, int64_t delay[2]);
/* The same for a message over a reliable stream (TCP; dm_msg_is_stream):
 * never lost, duplicated or reordered, but cut when either direction is
 * (a connection needs both); `legs` one-way link latencies (jitter each,
 * no reordering delay): 3 for a message that opens a connection (SYN,
 * SYN-ACK, then the data), 1 for a reply on it. Returns 1 or
 * DM_SIMNET_CUT. */
int dm_simnet_route_stream(dm_simnet *net, uint32_t from, uint32_t to, int legs,
                           int64_t *delay);

/* The cut links: the head of every dm_simnet, so that the test below is
 * inline (the simulator asks it for every message, sent and arriving). */
typedef struct dm_simnet_cuts {
    uint32_t n;
    uint64_t *bits;             /* n * n bits, row `from`, column `to` */
} dm_simnet_cuts;

static inline bool dm_simnet_is_cut(const dm_simnet *net, uint32_t from, uint32_t to)
{
    const dm_simnet_cuts *c = (const dm_simnet_cuts *)(const void *)net;
    uint64_t bit = (uint64_t)from * c->n + to;
    return (c->bits[bit / 64] >> (bit % 64)) & 1;
}
void dm_simnet_set_cut(dm_simnet *net, uint32_t from, uint32_t to, bool cut);
void dm_simnet_heal(dm_simnet *net);
/* Number of cut directed links. */
uint64_t dm_simnet_cut_count(const dm_simnet *net);

/* Replace the current cuts with `shape`. `pivot` names the isolated node
 * (ISOLATE), the bridge (BRIDGE) or the node whose messages cannot get out
 * (ONE_WAY); DM_SIMNET_ANY lets `prng` choose. Appends a description of the
 * sides to `desc` when it is not NULL. */
void dm_simnet_partition(dm_simnet *net, dm_shape shape, uint32_t pivot, dm_prng *prng,
                         GString *desc);
/* The same, with the order of the nodes every shape is cut from given:
 * `order` (n ids, a permutation; NULL: drawn from `prng` as above) --
 * halves and random halves are its first n/2 against the rest, isolate
 * its first node, the bridge its node n/2, one-way's muted side its first
 * n/2 (or its first node, the pivot), the ring its sequence. The order
 * used goes to `order_out` (n ids) when not NULL: a partition recorded so
 * strikes the same sides again (sim/shrink.c). */
void dm_simnet_partition_order(dm_simnet *net, dm_shape shape, uint32_t pivot,
                               const uint32_t *order, dm_prng *prng, GString *desc,
                               uint32_t *order_out);

const dm_simnet_stats *dm_simnet_get_stats(const dm_simnet *net);

#endif
