/* dmutex core: Maekawa's sqrt(N) grid (quorum.h), quorums of about 2 sqrt(N)
 * members that spread the arbiter load evenly, where the tree sends every
 * failure-free acquisition through its root.
 *
 * Layout. The members, in ascending id order, fill a grid row by row with
 * c = ceil(sqrt(N)) columns and r = ceil(N / c) rows (r is c - 1 or c, so
 * the grid stays nearly square). Position k is cell (k / c, k % c). Every
 * row but the last is full; the last holds s = N - (r - 1) c members,
 * 1 <= s <= c, in columns 0 .. s-1. Column j has r members when j < s and
 * r - 1 otherwise -- never none, since row 0 is full (r = 1 only for N <= 2,
 * where s = c). Filling by rows keeps the whole shortfall in one row, which
 * is what the proof below rests on.
 *
 * Quorums. Q(i, j) = row i united with column j, for every row i and column
 * j, whatever their lengths. For a square N this is Maekawa's grid, 2c - 1
 * members. For other N nothing is added or patched: a short row or column
 * is taken as it is.
 *
 * Claim: any two quorums Q(i1, j1) and Q(i2, j2) intersect.
 * Proof. If i1 = i2 both contain row i1, which is not empty (s >= 1).
 * Otherwise the rows differ, and at most one of them is the last row; name
 * the quorums so that row i2 is not the last. Row i2 is then full, so cell
 * (i2, j1) holds a member. It lies in row i2, hence in Q(i2, j2), and in
 * column j1, hence in Q(i1, j1). []
 * The proof fixes nothing but (i, j): which members each former believed
 * unusable plays no part, as the lock protocol requires (a short column may
 * miss the last row; it is the full row of the other quorum that meets it).
 * tests/test_quorum.c checks it exhaustively for N = 1..12.
 *
 * Sizes: |Q(i, j)| = |row i| + |column j| - (1 if cell (i, j) exists).
 * Formation tries every (row, column) pair whose members are all usable and
 * keeps the largest preference sum. Ties go first to the larger preference
 * of the crossing cell (i, j): a requester that weights itself alone ties
 * over its whole row and its whole column, and taking its own row AND
 * column, as in Maekawa's scheme, spreads the load where "lowest row" would
 * send every acquisition through row 0. Then to the smaller quorum, the
 * lower row, the lower column.
 *
 * Availability is exact for every N, by the dynamic programme described in
 * the availability section below (the tests check it against enumeration of
 * all 2^N up/down patterns for N <= 16, and by hand at N = 3, 4, 9).
 */
#include "quorum.h"

#include <glib.h>
#include <math.h>
#include <string.h>

#include "error.h"

typedef struct grid {
    uint32_t n;
    uint32_t cols;      /* c */
    uint32_t rows;      /* r */
    uint32_t last;      /* s: members in the last row */
    const uint32_t *ids; /* the wrapper's (quorum.h), ascending; position k is cell (k / c, k % c) */
} grid;

static uint32_t row_len(const grid *g, uint32_t i)
{
    return i + 1 < g->rows ? g->cols : g->last;
}

static uint32_t col_len(const grid *g, uint32_t j)
{
    return j < g->last ? g->rows : g->rows - 1;
}

static bool cell_exists(const grid *g, uint32_t i, uint32_t j)
{
    return (uint64_t)i * g->cols + j < g->n;
}

static uint32_t cell_id(const grid *g, uint32_t i, uint32_t j)
{
    return g->ids[i * g->cols + j];
}

static uint32_t pair_size(const grid *g, uint32_t i, uint32_t j)
{
    return row_len(g, i) + col_len(g, j) - (cell_exists(g, i, j) ? 1 : 0);
}

static int grid_create(const uint32_t *ids, uint32_t count, void **state)
{
    if (!ids || count == 0 || !state)
        return -DM_EINVAL;
    grid *g = g_try_new(grid, 1);
    if (!g)
        return -DM_ENOMEM;
    g->n = count;
    g->cols = 1;
    while ((uint64_t)g->cols * g->cols < count)
        g->cols++;
    g->rows = (count + g->cols - 1) / g->cols;
    g->last = count - (g->rows - 1) * g->cols;
    g->ids = ids;
    *state = g;
    return 0;
}

static void grid_destroy(void *state)
{
    g_free(state);
}

/* ---- formation ---- */

/* What a row or a column offers: whether all its members are usable, and
 * their preference sum. */
typedef struct line {
    bool usable;
    int64_t preference;
} line;

static void add_member(line *l, const dm_quorum_hint *hint, uint32_t id)
{
    if (hint && hint->unusable && hint->unusable[id])
        l->usable = false;
    if (hint && hint->preference)
        l->preference += hint->preference[id];
}

static line scan_row(const grid *g, const dm_quorum_hint *hint, uint32_t i)
{
    line l = { true, 0 };
    for (uint32_t j = 0; j < row_len(g, i); j++)
        add_member(&l, hint, cell_id(g, i, j));
    return l;
}

static line scan_col(const grid *g, const dm_quorum_hint *hint, uint32_t j)
{
    line l = { true, 0 };
    for (uint32_t i = 0; i < col_len(g, j); i++)
        add_member(&l, hint, cell_id(g, i, j));
    return l;
}

/* The best usable (row, column) pair, or false when there is none. Columns
 * are rescanned for every row: O(N sqrt(N)) work, no scratch memory. */
static bool choose(const grid *g, const dm_quorum_hint *hint, uint32_t *row, uint32_t *col)
{
    bool found = false;
    int64_t best_pref = 0, best_cross = 0;
    uint32_t best_size = 0;
    for (uint32_t i = 0; i < g->rows; i++) {
        line r = scan_row(g, hint, i);
        if (!r.usable)
            continue;
        for (uint32_t j = 0; j < g->cols; j++) {
            line c = scan_col(g, hint, j);
            if (!c.usable)
                continue;
            int64_t cross = 0;
            if (cell_exists(g, i, j) && hint && hint->preference)
                cross = hint->preference[cell_id(g, i, j)];
            /* The crossing cell is counted once. */
            int64_t pref = r.preference + c.preference - cross;
            uint32_t size = pair_size(g, i, j);
            /* Strictly better only: rows and columns come in ascending
             * order, so full ties keep the lower row, then the lower
             * column. */
            bool better = !found || pref > best_pref ||
                          (pref == best_pref && (cross > best_cross ||
                                                 (cross == best_cross && size < best_size)));
            if (better) {
                found = true;
                best_pref = pref;
                best_cross = cross;
                best_size = size;
                *row = i;
                *col = j;
            }
        }
    }
    return found;
}

static int grid_form(const void *state, const dm_quorum_hint *hint, uint32_t *out, uint32_t cap)
{
    const grid *g = state;
    uint32_t row, col;
    if (!out && cap > 0)
        return -DM_EINVAL;
    if (!choose(g, hint, &row, &col))
        return -DM_ENOQUORUM;
    uint32_t size = pair_size(g, row, col);
    if (size > cap)
        return -DM_EINVAL;
    /* Positions in ascending order give the ids in ascending order. */
    uint32_t len = 0;
    for (uint32_t k = 0; k < g->n; k++)
        if (k / g->cols == row || k % g->cols == col)
            out[len++] = g->ids[k];
    return (int)len;
}

/* A row and a column are chosen independently of each other, so a quorum
 * exists exactly when some row and some column are wholly usable. */
static bool grid_exists(const void *state, const uint8_t *unusable)
{
    const grid *g = state;
    dm_quorum_hint hint = { unusable, NULL };
    bool any_row = false, any_col = false;
    for (uint32_t i = 0; i < g->rows && !any_row; i++)
        any_row = scan_row(g, &hint, i).usable;
    for (uint32_t j = 0; j < g->cols && !any_col; j++)
        any_col = scan_col(g, &hint, j).usable;
    return any_row && any_col;
}

static void grid_size_bounds(const void *state, uint32_t *min, uint32_t *max)
{
    const grid *g = state;
    *min = g->n;
    *max = 0;
    for (uint32_t i = 0; i < g->rows; i++)
        for (uint32_t j = 0; j < g->cols; j++) {
            uint32_t size = pair_size(g, i, j);
            *min = size < *min ? size : *min;
            *max = size > *max ? size : *max;
        }
}

/* ---- availability ----
 *
 * P(some row is wholly up and some column is wholly up), each member up
 * independently with probability p. Columns come in two kinds: the L = s
 * "long" ones that reach into the last row (all c when s = c) and the
 * M = c - L "short" ones that stop above it. Within a kind columns are
 * interchangeable, so after scanning some rows all that matters is
 *   (a, b, f): a long and b short columns are still wholly up so far, and
 *   f: some scanned row was wholly up.
 * A full row keeps each surviving column alive with probability p,
 * independently: a -> a' ~ Binomial(a, p), b -> b' ~ Binomial(b, p). It is
 * itself wholly up when no surviving column died (a' = a, b' = b) and its
 * c - a - b cells in already dead columns are up too (p^(c-a-b)). A short
 * last row (s < c) meets only the long columns, and is up when a' = a and
 * its s - a other cells are up. Starting from (L, M, 0) with probability 1,
 * the answer is the mass on f = 1 with a + b >= 1 once every row is scanned.
 *
 * Every step adds non-negative products, so nothing cancels (inclusion-
 * exclusion over rows and columns gives the same polynomial with
 * alternating terms as large as C(c, c/2)^2). Cost: r rows times
 * ((L + 1)(M + 1))^2 transitions, at most about N^2.5 / 16 when half the
 * columns are short (measured at -O2: 3 ms at N = 1000, 0.13 s at
 * N = 4000, 0.2 ms at the square N = 1024). Memory: O(c^2) doubles; if they
 * cannot be had the result is -1 with *exact false (the wrapper's
 * "unknown"). */

typedef struct dp {
    double p;
    uint32_t L, M;
    double *pmf;        /* pmf[n * (c + 1) + k] = C(n, k) p^k (1-p)^(n-k) */
    double *cur, *next; /* [(a * (M + 1) + b) * 2 + f] */
} dp;

static size_t at(const dp *d, uint32_t a, uint32_t b, int f)
{
    return ((size_t)a * (d->M + 1) + b) * 2 + (size_t)f;
}

/* The binomial probabilities by Pascal's rule: positive sums only. */
static void fill_pmf(double *pmf, uint32_t c, double p)
{
    size_t w = (size_t)c + 1;
    pmf[0] = 1.0;
    for (uint32_t n = 1; n <= c; n++)
        for (uint32_t k = 0; k <= n; k++) {
            double stay = k < n ? pmf[(n - 1) * w + k] * (1.0 - p) : 0.0;
            double rise = k > 0 ? pmf[(n - 1) * w + k - 1] * p : 0.0;
            pmf[n * w + k] = stay + rise;
        }
}

/* One row of `width` cells that meets the long columns and, when
 * `meets_short`, the short ones too. */
static void scan_one_row(dp *d, uint32_t cols, uint32_t width, bool meets_short)
{
    size_t w = (size_t)cols + 1, states = at(d, d->L, d->M, 1) + 1;
    memset(d->next, 0, states * sizeof d->next[0]);
    for (uint32_t a = 0; a <= d->L; a++)
        for (uint32_t b = 0; b <= d->M; b++)
            for (int f = 0; f < 2; f++) {
                double mass = d->cur[at(d, a, b, f)];
                if (mass == 0.0)
                    continue;
                uint32_t b_lo = meets_short ? 0 : b;
                for (uint32_t a2 = 0; a2 <= a; a2++)
                    for (uint32_t b2 = b_lo; b2 <= b; b2++) {
                        double m = mass * d->pmf[a * w + a2] * (meets_short ? d->pmf[b * w + b2] : 1.0);
                        if (a2 == a && b2 == b) {
                            uint32_t alive = meets_short ? a + b : a;
                            double rest_up = pow(d->p, (double)(width - alive));
                            d->next[at(d, a, b, 1)] += m * rest_up;
                            d->next[at(d, a, b, f)] += m * (1.0 - rest_up);
                        } else {
                            d->next[at(d, a2, b2, f)] += m;
                        }
                    }
            }
    double *t = d->cur;
    d->cur = d->next;
    d->next = t;
}

static double grid_availability(const void *state, double p, bool *exact)
{
    const grid *g = state;
    uint32_t c = g->cols;
    bool short_row = g->last < c;
    dp d = { .p = p, .L = g->last, .M = c - g->last };
    size_t states = at(&d, d.L, d.M, 1) + 1, table = ((size_t)c + 1) * ((size_t)c + 1);
    double *mem = g_try_new(double, table + 2 * states);
    if (!mem) {
        *exact = false;
        return -1.0;
    }
    d.pmf = mem;
    d.cur = mem + table;
    d.next = d.cur + states;
    fill_pmf(d.pmf, c, p);
    memset(d.cur, 0, states * sizeof d.cur[0]);
    d.cur[at(&d, d.L, d.M, 0)] = 1.0;

    uint32_t full_rows = short_row ? g->rows - 1 : g->rows;
    for (uint32_t i = 0; i < full_rows; i++)
        scan_one_row(&d, c, c, true);
    if (short_row)
        scan_one_row(&d, c, g->last, false);

    double a = 0.0;
    for (uint32_t x = 0; x <= d.L; x++)
        for (uint32_t y = 0; y <= d.M; y++)
            if (x + y > 0)
                a += d.cur[at(&d, x, y, 1)];
    g_free(mem);
    *exact = true;
    return a > 1.0 ? 1.0 : a;
}

const dm_quorum_ops dm_quorum_grid_ops = {
    .name = "grid",
    .summary = "Maekawa's grid: one row plus one column, about 2 sqrt(N) members",
    .create = grid_create,
    .destroy = grid_destroy,
    .form = grid_form,
    .exists = grid_exists,
    .size_bounds = grid_size_bounds,
    .availability = grid_availability,
};
