/* dmutex-demo: show the Agrawal-El Abbadi tree quorums the core forms.
 *
 *   dmutex-demo [--nodes N] [--down LIST]
 *
 * Builds the AE tree over N members (ids 0..N-1, default 7) and prints it,
 * the failure-free quorum, the quorum formed when the members in LIST (comma
 * separated ids) are unusable, how many quorums the formation rule can
 * produce, and the exact availability at p = 0.9 and p = 0.99.
 * Uses only the public API of core/tree.h. Exit status: 0 on success, 1 on
 * an internal error, 2 on bad options.
 */
#include "config.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <glib.h>

#include "error.h"
#include "tree.h"

#define DEMO_DEFAULT_NODES 7
#define DEMO_MAX_NODES 1024
/* The number of quorums explodes (N = 31: 65 535; N = 63: ~4e9). */
#define DEMO_MAX_ENUMERATE 31

typedef struct quorum_stats {
    uint64_t count;
    uint32_t min_size;
    uint32_t max_size;
} quorum_stats;

static int count_quorum(const uint32_t *ids, uint32_t n, void *user)
{
    quorum_stats *st = user;

    (void)ids;
    if (st->count == 0 || n < st->min_size)
        st->min_size = n;
    if (st->count == 0 || n > st->max_size)
        st->max_size = n;
    st->count++;
    return 0;
}

static void print_ids(const uint32_t *ids, uint32_t n)
{
    fputc('{', stdout);
    for (uint32_t i = 0; i < n; i++)
        printf("%s%" PRIu32, i > 0 ? ", " : "", ids[i]);
    fputc('}', stdout);
}

static const char *down_mark(const uint8_t *down, uint32_t id)
{
    return (down != NULL && down[id]) ? "  (down)" : "";
}

/* Prints the children of `id`, one line each, below a line already printed
 * for `id`; `prefix` holds the rails of the ancestors. */
static void print_children(const dm_tree *t, uint32_t id, GString *prefix, const uint8_t *down)
{
    const uint32_t kids[2] = { dm_tree_left(t, id), dm_tree_right(t, id) };
    const char side[2] = { 'L', 'R' };

    for (int k = 0; k < 2; k++) {
        uint32_t kid = kids[k];
        bool last = (k == 1) || kids[1] == DM_TREE_NONE;
        gsize keep = prefix->len;

        if (kid == DM_TREE_NONE)
            continue;
        printf("%s%s%c %" PRIu32 "%s\n", prefix->str, last ? "`-" : "+-", side[k], kid,
               down_mark(down, kid));
        g_string_append(prefix, last ? "    " : "|   ");
        print_children(t, kid, prefix, down);
        g_string_truncate(prefix, keep);
    }
}

static void print_tree(const dm_tree *t, const uint8_t *down)
{
    GString *prefix = g_string_new(NULL);
    uint32_t root = dm_tree_root(t);

    printf("%" PRIu32 "%s\n", root, down_mark(down, root));
    print_children(t, root, prefix, down);
    g_string_free(prefix, TRUE);
}

/* Parses "3,5,6" into down[0..n). Returns FALSE with a message on error. */
static gboolean parse_down(const char *list, uint32_t n, uint8_t *down, uint32_t *ndown, GString *err)
{
    gchar **tokens = g_strsplit(list, ",", -1);
    gboolean ok = TRUE;

    *ndown = 0;
    for (gchar **tok = tokens; *tok != NULL; tok++) {
        guint64 v = 0;
        GError *error = NULL;

        g_strstrip(*tok);
        if (**tok == '\0') {
            g_string_printf(err, "--down: empty member id in '%s'", list);
            ok = FALSE;
            break;
        }
        if (!g_ascii_string_to_unsigned(*tok, 10, 0, n - 1, &v, &error)) {
            g_string_printf(err, "--down: '%s' is not a member id (0..%" PRIu32 ")", *tok, n - 1);
            g_error_free(error);
            ok = FALSE;
            break;
        }
        if (!down[v])
            (*ndown)++;
        down[v] = 1;
    }
    g_strfreev(tokens);
    return ok;
}

static int usage_error(const char *message)
{
    fprintf(stderr, "dmutex-demo: %s\nTry 'dmutex-demo --help'.\n", message);
    return 2;
}

int main(int argc, char **argv)
{
    gint nodes = DEMO_DEFAULT_NODES;
    gchar *down_list = NULL;
    GError *error = NULL;
    const GOptionEntry entries[] = {
        { "nodes", 'n', 0, G_OPTION_ARG_INT, &nodes,
          "Number of members, ids 0..N-1 (default 7, at most 1024)", "N" },
        { "down", 'd', 0, G_OPTION_ARG_STRING, &down_list,
          "Comma-separated member ids to treat as unusable, e.g. 3,5", "LIST" },
        G_OPTION_ENTRY_NULL
    };
    GOptionContext *ctx = g_option_context_new("- show the AE tree quorums dmutex forms");
    int status = 0;

    g_option_context_set_summary(ctx,
        "Builds the Agrawal-El Abbadi tree over N members and prints the tree, the\n"
        "failure-free quorum, the quorum that avoids the --down members, the number\n"
        "of quorums, and the exact availability at p = 0.9 and 0.99.");
    g_option_context_set_description(ctx, PACKAGE_STRING);
    g_option_context_add_main_entries(ctx, entries, NULL);
    if (!g_option_context_parse(ctx, &argc, &argv, &error)) {
        status = usage_error(error->message);
        g_error_free(error);
        goto out_ctx;
    }
    if (argc > 1) {
        GString *msg = g_string_new(NULL);

        g_string_printf(msg, "unexpected argument '%s'", argv[1]);
        status = usage_error(msg->str);
        g_string_free(msg, TRUE);
        goto out_ctx;
    }
    if (nodes < 1 || nodes > DEMO_MAX_NODES) {
        GString *msg = g_string_new(NULL);

        g_string_printf(msg, "--nodes must be between 1 and %d, not %d", DEMO_MAX_NODES, nodes);
        status = usage_error(msg->str);
        g_string_free(msg, TRUE);
        goto out_ctx;
    }

    uint32_t n = (uint32_t)nodes;
    uint32_t *members = g_new(uint32_t, n);
    uint32_t *quorum = g_new(uint32_t, n);
    uint8_t *down = g_new0(uint8_t, n);
    uint32_t ndown = 0;
    dm_tree *tree = NULL;
    int rc;

    if (down_list != NULL) {
        GString *msg = g_string_new(NULL);

        if (!parse_down(down_list, n, down, &ndown, msg))
            status = usage_error(msg->str);
        g_string_free(msg, TRUE);
        if (status != 0)
            goto out;
    }

    for (uint32_t i = 0; i < n; i++)
        members[i] = i;
    rc = dm_tree_new(members, n, &tree);
    if (rc < 0) {
        fprintf(stderr, "dmutex-demo: dm_tree_new: %s\n", dm_strerror(rc));
        status = 1;
        goto out;
    }

    printf("Agrawal-El Abbadi tree over %" PRIu32 " member%s (ids 0..%" PRIu32 "), "
           "height %" PRIu32 ", root %" PRIu32 ":\n\n",
           n, n == 1 ? "" : "s", n - 1, dm_tree_height(tree), dm_tree_root(tree));
    print_tree(tree, ndown > 0 ? down : NULL);
    printf("\n");

    rc = dm_tree_form_quorum(tree, NULL, quorum, n);
    if (rc < 0) {
        fprintf(stderr, "dmutex-demo: dm_tree_form_quorum: %s\n", dm_strerror(rc));
        status = 1;
        goto out;
    }
    printf("failure-free quorum:   ");
    print_ids(quorum, (uint32_t)rc);
    printf("  size %d (best case %" PRIu32 ")\n", rc, dm_tree_min_quorum_size(tree));

    if (ndown > 0) {
        dm_quorum_hint hint = { .unusable = down, .preference = NULL };
        GString *label = g_string_new("with");
        const char *sep = " ";

        for (uint32_t i = 0; i < n; i++)
            if (down[i]) {
                g_string_append_printf(label, "%s%" PRIu32, sep, i);
                sep = ",";
            }
        g_string_append(label, " down:");
        printf("%-22s ", label->str);
        g_string_free(label, TRUE);
        rc = dm_tree_form_quorum(tree, &hint, quorum, n);
        if (rc == -DM_ENOQUORUM) {
            printf("no quorum exists\n");
        } else if (rc < 0) {
            printf("\n");
            fprintf(stderr, "dmutex-demo: dm_tree_form_quorum: %s\n", dm_strerror(rc));
            status = 1;
            goto out;
        } else {
            print_ids(quorum, (uint32_t)rc);
            printf("  size %d\n", rc);
        }
    }

    if (n <= DEMO_MAX_ENUMERATE) {
        quorum_stats st = { 0, 0, 0 };

        rc = dm_tree_enumerate_quorums(tree, count_quorum, &st);
        if (rc != 0) {
            fprintf(stderr, "dmutex-demo: dm_tree_enumerate_quorums: %s\n", dm_strerror(rc));
            status = 1;
            goto out;
        }
        printf("quorums:               %" PRIu64 " (sizes %" PRIu32 "..%" PRIu32 ")\n",
               st.count, st.min_size, st.max_size);
    } else {
        printf("quorums:               not enumerated (N > %d)\n", DEMO_MAX_ENUMERATE);
    }

    printf("availability (each member up independently with probability p):\n");
    printf("  p = 0.9    A = %.10f\n", dm_tree_availability(tree, 0.9));
    printf("  p = 0.99   A = %.10f\n", dm_tree_availability(tree, 0.99));

out:
    if (tree != NULL)
        dm_tree_free(tree);
    g_free(down);
    g_free(quorum);
    g_free(members);
out_ctx:
    g_free(down_list);
    g_option_context_free(ctx);
    return status;
}
