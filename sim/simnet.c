#include "simnet.h"

#include <math.h>
#include <string.h>

struct dm_simnet {
    dm_simnet_cuts cuts;        /* first: dm_simnet_is_cut reads it */
    dm_simnet_params p;
    double lognormal_mu;        /* chosen so that the jitter mean is p.jitter_us */
    dm_prng prng;
    uint64_t link_seed;
    double *bases;              /* [n * n] link_base of every link, or NULL (large n) */
    uint64_t n_cut;
    dm_simnet_stats stats;
};

static const char *const shape_names[DM_SHAPE_COUNT] = {
    [DM_SHAPE_HALVES] = "halves",
    [DM_SHAPE_RANDOM_HALVES] = "random-halves",
    [DM_SHAPE_ISOLATE] = "isolate",
    [DM_SHAPE_BRIDGE] = "bridge",
    [DM_SHAPE_MAJORITIES_RING] = "majorities-ring",
    [DM_SHAPE_ONE_WAY] = "one-way",
};

const char *dm_shape_name(int shape)
{
    return shape >= 0 && shape < DM_SHAPE_COUNT ? shape_names[shape] : NULL;
}

int dm_shape_parse(const char *name)
{
    for (int i = 0; i < DM_SHAPE_COUNT; i++)
        if (g_strcmp0(name, shape_names[i]) == 0)
            return i;
    return -1;
}

static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/* One compiled copy, so that the table and a large cluster's calls get the
 * same floating-point operations. */
static G_GNUC_NO_INLINE double link_base_of(const dm_simnet *net, uint32_t from, uint32_t to)
{
    uint64_t h = mix64(net->link_seed ^ ((uint64_t)from << 32 | to));
    double u = (double)(h >> 11) * 0x1.0p-53;
    return (double)net->p.latency_us * (1 + net->p.link_spread * (2 * u - 1));
}

/* Links whose bases dm_simnet_new tabulates at most (8 KiB: n <= 32). */
#define BASES_MAX 1024

static inline double link_base(const dm_simnet *net, uint32_t from, uint32_t to)
{
    if (net->bases)
        return net->bases[(size_t)from * net->cuts.n + to];
    return link_base_of(net, from, to);
}

dm_simnet *dm_simnet_new(uint32_t n, const dm_simnet_params *p, const dm_prng *prng)
{
    dm_simnet *net = g_new0(dm_simnet, 1);
    net->cuts.n = n;
    net->p = *p;
    net->prng = *prng;
    /* The link bases are a pure function of (link_seed, from, to): a large
     * cluster needs no n*n table, and the message stream does not depend on
     * the order links are first used. */
    net->link_seed = dm_prng_next(&net->prng);
    double s = p->jitter_sigma;
    net->lognormal_mu = p->jitter_us > 0 ? log((double)p->jitter_us) - s * s / 2 : 0;
    net->cuts.bits = g_new0(uint64_t, ((uint64_t)n * n + 63) / 64);
    /* Every message asks for its link's base: for a small cluster, worked
     * out once (the same values, kept small enough to stay in cache). */
    if ((uint64_t)n * n <= BASES_MAX) {
        net->bases = g_new(double, (gsize)n * n);
        for (uint32_t from = 0; from < n; from++)
            for (uint32_t to = 0; to < n; to++)
                net->bases[(gsize)from * n + to] = link_base_of(net, from, to);
    }
    return net;
}

void dm_simnet_free(dm_simnet *net)
{
    if (!net)
        return;
    g_free(net->cuts.bits);
    g_free(net->bases);
    g_free(net);
}

void dm_simnet_set_rates(dm_simnet *net, double loss, double dup, double reorder)
{
    net->p.loss = loss;
    net->p.dup = dup;
    net->p.reorder = reorder;
}

/* A standard normal deviate (Box-Muller; one of the pair is enough here). */
static double gaussian(dm_prng *prng)
{
    double u1 = 1 - dm_prng_double(prng);   /* (0, 1]: log is finite */
    double u2 = dm_prng_double(prng);
    return sqrt(-2 * log(u1)) * cos(2 * G_PI * u2);
}

/* One leg's latency: the link's base plus jitter. */
static inline double leg_delay(dm_simnet *net, uint32_t from, uint32_t to)
{
    double d = link_base(net, from, to);
    if (net->p.jitter_us > 0) {
        if (net->p.jitter_dist == DM_JITTER_LOGNORMAL)
            d += exp(net->lognormal_mu + net->p.jitter_sigma * gaussian(&net->prng));
        else
            d += dm_prng_exponential(&net->prng, (double)net->p.jitter_us);
    }
    return d;
}

static int64_t sample_delay(dm_simnet *net, uint32_t from, uint32_t to)
{
    double d = leg_delay(net, from, to);
    if (net->p.reorder > 0 && dm_prng_double(&net->prng) < net->p.reorder) {
        net->stats.reordered++;
        d += dm_prng_exponential(&net->prng, (double)net->p.reorder_delay_us);
    }
    /* At least 1 us: a reply never arrives in the instant its request left. */
    return d < 1 ? 1 : (int64_t)d;
}

int dm_simnet_route(dm_simnet *net, uint32_t from, uint32_t to, int64_t delay[2])
{
    net->stats.routed++;
    if (dm_simnet_is_cut(net, from, to)) {
        net->stats.cut++;
        return DM_SIMNET_CUT;
    }
    /* The two draws work on a copy of the stream's state, kept in registers
     * between them rather than stored and loaded back. */
    dm_prng prng = net->prng;
    bool lost = net->p.loss > 0 && dm_prng_double(&prng) < net->p.loss;
    bool dup = !lost && net->p.dup > 0 && dm_prng_double(&prng) < net->p.dup;
    net->prng = prng;
    if (lost) {
        net->stats.lost++;
        return DM_SIMNET_LOST;
    }
    int copies = 1;
    if (dup) {
        net->stats.duplicated++;
        copies = 2;
    }
    for (int i = 0; i < copies; i++)
        delay[i] = sample_delay(net, from, to);
    return copies;
}

int dm_simnet_route_stream(dm_simnet *net, uint32_t from, uint32_t to, int legs,
                           int64_t *delay)
{
    net->stats.routed++;
    if (dm_simnet_is_cut(net, from, to) || dm_simnet_is_cut(net, to, from)) {
        net->stats.cut++;
        return DM_SIMNET_CUT;
    }
    /* TCP retransmits what is lost and delivers in order; the legs of a
     * handshake alternate direction, but a link's two directions share
     * their base closely enough for this model. */
    double d = 0;
    for (int i = 0; i < legs; i++)
        d += leg_delay(net, from, to);
    *delay = d < 1 ? 1 : (int64_t)d;
    return 1;
}

void dm_simnet_set_cut(dm_simnet *net, uint32_t from, uint32_t to, bool cut)
{
    if (from == to || dm_simnet_is_cut(net, from, to) == cut)
        return;
    uint64_t bit = (uint64_t)from * net->cuts.n + to;
    net->cuts.bits[bit / 64] ^= (uint64_t)1 << (bit % 64);
    if (cut)
        net->n_cut++;
    else
        net->n_cut--;
}

void dm_simnet_heal(dm_simnet *net)
{
    memset(net->cuts.bits, 0, ((uint64_t)net->cuts.n * net->cuts.n + 63) / 64 * sizeof(uint64_t));
    net->n_cut = 0;
}

uint64_t dm_simnet_cut_count(const dm_simnet *net)
{
    return net->n_cut;
}

const dm_simnet_stats *dm_simnet_get_stats(const dm_simnet *net)
{
    return &net->stats;
}

/* ---------------------------------------------------------------- shapes */

/* Cut every link between side[i] != side[j] (both ways unless one_way, in
 * which case only messages from side 0 to side 1). Side 2 is the bridge,
 * connected to everyone. */
static void cut_sides(dm_simnet *net, const uint8_t *side, bool one_way)
{
    for (uint32_t i = 0; i < net->cuts.n; i++)
        for (uint32_t j = 0; j < net->cuts.n; j++) {
            bool across = side[i] != side[j] && side[i] != 2 && side[j] != 2;
            dm_simnet_set_cut(net, i, j, across && (!one_way || side[i] == 0));
        }
}

static void describe_sides(GString *desc, const uint8_t *side, uint32_t n, uint8_t nsides)
{
    for (uint8_t s = 0; s < nsides; s++) {
        g_string_append(desc, s == 0 ? " {" : s == 2 ? " bridge {" : " | {");
        bool first = true;
        for (uint32_t i = 0; i < n; i++)
            if (side[i] == s) {
                g_string_append_printf(desc, first ? "%u" : ",%u", i);
                first = false;
            }
        g_string_append_c(desc, '}');
    }
}

/* Nodes in an order that puts `pivot` (when given) at position `at`;
 * `given` (may be NULL) replaces the identity and the shuffle. */
static uint32_t *ordering(uint32_t n, bool shuffle, uint32_t pivot, uint32_t at, dm_prng *prng,
                          const uint32_t *given)
{
    uint32_t *order = g_new(uint32_t, n);
    for (uint32_t i = 0; i < n; i++)
        order[i] = given ? given[i] : i;
    if (shuffle && !given)
        dm_prng_shuffle_u32(prng, order, n);
    if (pivot < n) {
        for (uint32_t i = 0; i < n; i++)
            if (order[i] == pivot) {
                order[i] = order[at];
                order[at] = pivot;
                break;
            }
    }
    return order;
}

static uint32_t *ring(dm_simnet *net, dm_prng *prng, const uint32_t *given, GString *desc)
{
    uint32_t n = net->cuts.n;
    uint32_t *order = ordering(n, true, DM_SIMNET_ANY, 0, prng, given);
    uint32_t *pos = g_new(uint32_t, n);
    for (uint32_t i = 0; i < n; i++)
        pos[order[i]] = i;
    /* A node keeps its links to the reach nearest on each side of the ring:
     * itself plus 2 * reach >= a majority, and every node's view is centred
     * on itself, so no two views coincide (for n >= 4). */
    uint32_t reach = (n / 2 + 1) / 2;
    for (uint32_t i = 0; i < n; i++)
        for (uint32_t j = 0; j < n; j++) {
            uint32_t d = pos[i] > pos[j] ? pos[i] - pos[j] : pos[j] - pos[i];
            if (n - d < d)
                d = n - d;
            dm_simnet_set_cut(net, i, j, d > reach);
        }
    if (desc) {
        g_string_append(desc, " ring");
        for (uint32_t i = 0; i < n; i++)
            g_string_append_printf(desc, i ? "-%u" : " %u", order[i]);
    }
    g_free(pos);
    return order;
}

void dm_simnet_partition(dm_simnet *net, dm_shape shape, uint32_t pivot, dm_prng *prng,
                         GString *desc)
{
    dm_simnet_partition_order(net, shape, pivot, NULL, prng, desc, NULL);
}

void dm_simnet_partition_order(dm_simnet *net, dm_shape shape, uint32_t pivot,
                               const uint32_t *given, dm_prng *prng, GString *desc,
                               uint32_t *order_out)
{
    uint32_t n = net->cuts.n;
    if (desc)
        g_string_append(desc, dm_shape_name(shape));
    if (shape == DM_SHAPE_MAJORITIES_RING) {
        uint32_t *order = ring(net, prng, given, desc);
        if (order_out)
            memcpy(order_out, order, n * sizeof *order);
        g_free(order);
        return;
    }
    /* A given order has its pivot in place already. */
    if (pivot >= n && !given && (shape == DM_SHAPE_ISOLATE || shape == DM_SHAPE_BRIDGE))
        pivot = (uint32_t)dm_prng_below(prng, n);
    uint8_t *side = g_new0(uint8_t, n);
    uint8_t nsides = 2;
    uint32_t *order;
    switch (shape) {
    case DM_SHAPE_HALVES:
        order = ordering(n, false, DM_SIMNET_ANY, 0, prng, given);
        break;
    case DM_SHAPE_ISOLATE:
        order = ordering(n, false, pivot, 0, prng, given);
        break;
    case DM_SHAPE_BRIDGE:
        order = ordering(n, true, pivot, n / 2, prng, given);
        break;
    default:   /* RANDOM_HALVES, ONE_WAY */
        order = ordering(n, true, pivot, 0, prng, given);
        break;
    }
    /* Side 0 is the first part of the order: the smaller half, the isolated
     * node, or the node (or half) whose messages cannot get out. */
    uint32_t split = (shape == DM_SHAPE_ISOLATE || (shape == DM_SHAPE_ONE_WAY && pivot < n)) ? 1 : n / 2;
    for (uint32_t i = split; i < n; i++)
        side[order[i]] = 1;
    if (shape == DM_SHAPE_BRIDGE) {
        side[order[n / 2]] = 2;
        nsides = 3;
    }
    cut_sides(net, side, shape == DM_SHAPE_ONE_WAY);
    if (desc)
        describe_sides(desc, side, n, nsides);
    if (order_out)
        memcpy(order_out, order, n * sizeof *order);
    g_free(side);
    g_free(order);
}
