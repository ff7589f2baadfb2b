#include "tree.h"

#include <glib.h>
#include <string.h>

#include "error.h"

/* The shape is implicit: a subtree is a half-open range [lo, end) of
 * positions in the sorted id array, its root at the middle, its children
 * the ranges on either side. No node arrays to build or keep consistent,
 * and an id is found by the search the tree itself encodes. */
struct dm_tree {
    uint32_t n;
    uint32_t height;
    uint32_t ids[];
};

typedef struct range {
    uint32_t lo, end;
} range;

static bool range_empty(range r)
{
    return r.lo == r.end;
}

/* (lo + hi) / 2 for the inclusive range [lo, hi], without overflow. */
static uint32_t range_root(range r)
{
    return r.lo + (r.end - 1 - r.lo) / 2;
}

static range range_left(range r)
{
    return (range){ r.lo, range_root(r) };
}

static range range_right(range r)
{
    return (range){ range_root(r) + 1, r.end };
}

static range whole(const dm_tree *t)
{
    return (range){ 0, t->n };
}

int dm_tree_new(const uint32_t *members, uint32_t n, dm_tree **out)
{
    if (!members || n == 0 || !out)
        return -DM_EINVAL;
    for (uint32_t i = 1; i < n; i++)
        if (members[i - 1] >= members[i])
            return -DM_EINVAL;

    dm_tree *t = g_try_malloc(sizeof *t + (size_t)n * sizeof t->ids[0]);
    if (!t)
        return -DM_ENOMEM;
    t->n = n;
    memcpy(t->ids, members, (size_t)n * sizeof t->ids[0]);
    /* The right half of a range is never the smaller one, so the right
     * spine is a longest root path: floor(log2 n) edges. */
    t->height = 0;
    for (uint32_t s = n; s > 1; s /= 2)
        t->height++;
    *out = t;
    return 0;
}

void dm_tree_free(dm_tree *t)
{
    g_free(t);
}

uint32_t dm_tree_size(const dm_tree *t)
{
    return t->n;
}

uint32_t dm_tree_max_id(const dm_tree *t)
{
    return t->ids[t->n - 1];
}

uint32_t dm_tree_root(const dm_tree *t)
{
    return t->ids[range_root(whole(t))];
}

uint32_t dm_tree_height(const dm_tree *t)
{
    return t->height;
}

/* The subtree rooted at id, or an empty range when id is not a member. */
static range find(const dm_tree *t, uint32_t id)
{
    range r = whole(t);
    while (!range_empty(r)) {
        uint32_t mid = range_root(r);
        if (t->ids[mid] == id)
            break;
        r = id < t->ids[mid] ? range_left(r) : range_right(r);
    }
    return r;
}

static uint32_t root_id(const dm_tree *t, range r)
{
    return range_empty(r) ? DM_TREE_NONE : t->ids[range_root(r)];
}

uint32_t dm_tree_left(const dm_tree *t, uint32_t id)
{
    range r = find(t, id);
    return range_empty(r) ? DM_TREE_NONE : root_id(t, range_left(r));
}

uint32_t dm_tree_right(const dm_tree *t, uint32_t id)
{
    range r = find(t, id);
    return range_empty(r) ? DM_TREE_NONE : root_id(t, range_right(r));
}

bool dm_tree_contains(const dm_tree *t, uint32_t id)
{
    return !range_empty(find(t, id));
}

/* ---- formation ---- */

typedef struct former {
    const dm_tree *t;
    const uint8_t *unusable;
    const int32_t *preference;
    uint32_t *out;      /* written below cap only; len counts on regardless */
    uint32_t cap;
    uint32_t len;
    /* Over positions [0, pos): the usable members' preference and the
     * unusable members counted, so a weighing is two subtractions (or NULL:
     * weigh by walking the range). */
    int64_t *pref_sum;
    uint32_t *unusable_sum;
} former;

static bool usable(const former *f, uint32_t pos)
{
    return !f->unusable || !f->unusable[f->t->ids[pos]];
}

typedef struct weight {
    int64_t preference;     /* over usable members */
    uint32_t unusable;
} weight;

static weight weigh(const former *f, range r)
{
    if (f->pref_sum)
        return (weight){ f->pref_sum[r.end] - f->pref_sum[r.lo],
                         f->unusable_sum[r.end] - f->unusable_sum[r.lo] };
    weight w = { 0, 0 };
    for (uint32_t pos = r.lo; pos < r.end; pos++) {
        if (!usable(f, pos))
            w.unusable++;
        else if (f->preference)
            w.preference += f->preference[f->t->ids[pos]];
    }
    return w;
}

static bool prefer_left(weight l, weight r)
{
    if (l.preference != r.preference)
        return l.preference > r.preference;
    return l.unusable <= r.unusable;
}

static void emit(former *f, uint32_t pos)
{
    if (f->len < f->cap)
        f->out[f->len] = f->t->ids[pos];
    f->len++;
}

/* Form a quorum of the non-empty subtree r, appending it in pre-order.
 * On failure f->len is back where it was. Every subtree is attempted at
 * most once per call, so this is linear in the nodes visited (plus the
 * weighing, n log n at worst). */
static bool form(former *f, range r)
{
    uint32_t mark = f->len;
    uint32_t root = range_root(r);
    range left = range_left(r), right = range_right(r);

    if (usable(f, root)) {
        emit(f, root);
        bool left_first = prefer_left(weigh(f, left), weigh(f, right));
        range order[2] = { left_first ? left : right, left_first ? right : left };
        /* Beneath a usable root an empty subtree is the empty quorum. */
        for (int i = 0; i < 2; i++)
            if (range_empty(order[i]) || form(f, order[i]))
                return true;
    } else if (!range_empty(left) && !range_empty(right)) {
        /* Substitution: both subtrees must stand in for the root. */
        if (form(f, left) && form(f, right))
            return true;
    }
    f->len = mark;
    return false;
}

/* Below this many members walking the ranges is cheaper than summing them
 * up front. Above it the walks add up: each level of a formation weighs
 * both halves of its subtree, and a formation that substitutes for unusable
 * roots weighs the same ranges again and again -- at 1,024 members the
 * walks were most of a formation's cost. */
#define PREFIX_SUMS_FROM 64

static int form_all(former *f)
{
    uint32_t n = f->t->n;
    void *block = NULL;
    if (n >= PREFIX_SUMS_FROM && (f->unusable || f->preference))
        block = g_try_malloc((size_t)(n + 1) * (sizeof(int64_t) + sizeof(uint32_t)));
    if (block) {
        f->pref_sum = block;
        f->unusable_sum = (uint32_t *)(f->pref_sum + n + 1);
        f->pref_sum[0] = 0;
        f->unusable_sum[0] = 0;
        for (uint32_t pos = 0; pos < n; pos++) {
            bool ok = usable(f, pos);
            f->unusable_sum[pos + 1] = f->unusable_sum[pos] + !ok;
            f->pref_sum[pos + 1] =
                f->pref_sum[pos] + (ok && f->preference ? f->preference[f->t->ids[pos]] : 0);
        }
    }
    int rc = form(f, whole(f->t)) ? (int)f->len : -DM_ENOQUORUM;
    g_free(block);
    return rc;
}

int dm_tree_form_quorum(const dm_tree *t, const dm_quorum_hint *hint, uint32_t *out, uint32_t cap)
{
    if (!t || (!out && cap > 0))
        return -DM_EINVAL;
    former f = {
        .t = t,
        .unusable = hint ? hint->unusable : NULL,
        .preference = hint ? hint->preference : NULL,
        .out = out,
        .cap = cap,
    };
    int rc = form_all(&f);
    return rc > 0 && (uint32_t)rc > cap ? -DM_EINVAL : rc;
}

bool dm_tree_quorum_exists(const dm_tree *t, const uint8_t *unusable)
{
    former f = { .t = t, .unusable = unusable };
    return form_all(&f) > 0;
}

uint32_t dm_tree_min_quorum_size(const dm_tree *t)
{
    former f = { .t = t };
    return (uint32_t)form_all(&f);
}

/* ---- enumeration ----
 *
 * Q(T) = { {root} + q : q in Q0(L) or Q0(R) }  union  { qL + qR : qL in Q(L), qR in Q(R) }
 * with Q0(empty) = { {} } and Q(empty) = {}. The recursion yields no set twice:
 * sets of the first part hold the root and those of the second do not; L and
 * R are disjoint and a non-empty subtree has no empty quorum, so Q0(L) and
 * Q0(R) share at most the empty set, which only a leaf sees twice; and a set
 * of the second part is split back into its (qL, qR) by L and R. So it is
 * generated, not collected: a stack of subtrees still owing a quorum (the
 * factors of a product) and the members chosen so far. */

typedef struct enumerator {
    const dm_tree *t;
    dm_quorum_visit_fn fn;
    void *user;
    uint8_t *chosen;        /* by position */
    uint32_t *preorder;     /* positions in pre-order */
    uint32_t *ids;          /* the quorum handed to fn */
    range *pending;         /* non-empty and pairwise disjoint: at most n */
} enumerator;

static uint32_t list_preorder(range r, uint32_t *out, uint32_t k)
{
    if (range_empty(r))
        return k;
    out[k++] = range_root(r);
    k = list_preorder(range_left(r), out, k);
    return list_preorder(range_right(r), out, k);
}

static int visit(enumerator *e)
{
    uint32_t k = 0;
    for (uint32_t i = 0; i < e->t->n; i++)
        if (e->chosen[e->preorder[i]])
            e->ids[k++] = e->t->ids[e->preorder[i]];
    return e->fn(e->ids, k, e->user);
}

/* Extend the chosen set by one quorum of each of the top `top` pending
 * subtrees, in every way. Leaves the pending stack as it found it. */
static int generate(enumerator *e, uint32_t top)
{
    if (top == 0)
        return visit(e);

    range r = e->pending[--top];
    uint32_t root = range_root(r);
    range left = range_left(r), right = range_right(r);
    int rc = 0;

    e->chosen[root] = 1;
    if (range_empty(left) && range_empty(right)) {
        rc = generate(e, top);
    } else {
        range sides[2] = { left, right };
        for (int i = 0; i < 2 && !rc; i++) {
            if (range_empty(sides[i])) {
                rc = generate(e, top);
            } else {
                e->pending[top] = sides[i];
                rc = generate(e, top + 1);
            }
        }
    }
    e->chosen[root] = 0;

    if (!rc && !range_empty(left) && !range_empty(right)) {
        e->pending[top] = right;
        e->pending[top + 1] = left;
        rc = generate(e, top + 2);
    }
    e->pending[top] = r;
    return rc;
}

int dm_tree_enumerate_quorums(const dm_tree *t, dm_quorum_visit_fn fn, void *user)
{
    if (!t || !fn)
        return -DM_EINVAL;
    uint32_t n = t->n;
    enumerator e = {
        .t = t,
        .fn = fn,
        .user = user,
        .chosen = g_try_new0(uint8_t, n),
        .preorder = g_try_new(uint32_t, n),
        .ids = g_try_new(uint32_t, n),
        .pending = g_try_new(range, n),
    };
    int rc = -DM_ENOMEM;
    if (e.chosen && e.preorder && e.ids && e.pending) {
        list_preorder(whole(t), e.preorder, 0);
        e.pending[0] = whole(t);
        rc = generate(&e, 1);
    }
    g_free(e.chosen);
    g_free(e.preorder);
    g_free(e.ids);
    g_free(e.pending);
    return rc;
}

/* ---- availability ---- */

/* A(T) = D(T) for non-empty T; an empty child counts A = 1 but D = 0. */
static double avail(range r, double p)
{
    range sides[2] = { range_left(r), range_right(r) };
    double a[2], d[2];
    for (int i = 0; i < 2; i++) {
        bool empty = range_empty(sides[i]);
        a[i] = empty ? 1.0 : avail(sides[i], p);
        d[i] = empty ? 0.0 : a[i];
    }
    return p * (1 - (1 - a[0]) * (1 - a[1])) + (1 - p) * d[0] * d[1];
}

double dm_tree_availability(const dm_tree *t, double p)
{
    return avail(whole(t), p);
}
