/* dmutex net: configuration agreement with each peer (see agree.h). The
 * comparison itself is the core's (core/confagree.c); this keeps the
 * verdicts by peer, says them in the log and STATUS, and answers "is this
 * datagram from a peer we refuse?". */
#include "agree.h"

#include <netinet/in.h>
#include <string.h>

#include "json.h"

typedef struct mismatch {
    char address[DM_AGREE_ADDR_MAX + 1];
    struct sockaddr_storage udp;
    char *names;          /* "lease,members" */
    char *what;           /* "lease: 5s there, 10s here; ..." */
    int64_t logged_at;
} mismatch;

struct dmn_agreebook {
    dm_agree mine;
    const dmn_config *cfg;
    GPtrArray *peers;     /* mismatch*, oldest first */
};

int dmn_agree_hello(const dmn_config *cfg, bool reply, uint8_t *buf, size_t cap)
{
    dm_agree a;
    dm_agree_describe(&cfg->core, cfg->self, (const char *const *)cfg->members->pdata,
                      cfg->members->len, &a);
    a.reply = reply;
    return dm_agree_encode(&a, cfg->self_id, buf, cap);
}

static void mismatch_free(mismatch *m)
{
    g_free(m->names);
    g_free(m->what);
    g_free(m);
}

dmn_agreebook *dmn_agreebook_new(const dmn_config *cfg)
{
    dmn_agreebook *b = g_new0(dmn_agreebook, 1);
    b->cfg = cfg;
    dm_agree_describe(&cfg->core, cfg->self, (const char *const *)cfg->members->pdata,
                      cfg->members->len, &b->mine);
    b->peers = g_ptr_array_new_with_free_func((GDestroyNotify)mismatch_free);
    return b;
}

void dmn_agreebook_free(dmn_agreebook *b)
{
    if (!b)
        return;
    g_ptr_array_unref(b->peers);
    g_free(b);
}

static bool same_addr(const struct sockaddr *a, const struct sockaddr_storage *b)
{
    if (a->sa_family != b->ss_family)
        return false;
    if (a->sa_family == AF_INET) {
        const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
        return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
    if (a->sa_family == AF_INET6) {
        const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
        return x->sin6_port == y->sin6_port &&
               memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr) == 0;
    }
    return false;
}

static guint find(const dmn_agreebook *b, const char *address)
{
    for (guint i = 0; i < b->peers->len; i++)
        if (strcmp(((mismatch *)g_ptr_array_index(b->peers, i))->address, address) == 0)
            return i;
    return G_MAXUINT;
}

static bool is_member(const dmn_config *cfg, const char *address)
{
    for (guint i = 0; i < cfg->members->len; i++)
        if (strcmp(g_ptr_array_index(cfg->members, i), address) == 0)
            return true;
    return false;
}

bool dmn_agreebook_hello(dmn_agreebook *b, const dm_agree *theirs, const struct sockaddr *udp,
                         int64_t now)
{
    GString *what = g_string_new(NULL), *names = g_string_new(NULL);
    int n = dm_agree_compare(&b->mine, theirs, what, names);
    guint at = find(b, theirs->address);
    if (n == 0) {
        if (at != G_MAXUINT) {
            g_message("configuration of %s agrees with ours now: its frames are taken again",
                      theirs->address);
            g_ptr_array_remove_index(b->peers, at);
        }
        g_string_free(what, TRUE);
        g_string_free(names, TRUE);
        return true;
    }
    mismatch *m = at != G_MAXUINT ? g_ptr_array_index(b->peers, at) : NULL;
    bool changed = !m || strcmp(m->what, what->str) != 0;
    if (!m) {
        if (b->peers->len >= DMN_AGREE_MAX_PEERS)
            g_ptr_array_remove_index(b->peers, 0);
        m = g_new0(mismatch, 1);
        g_strlcpy(m->address, theirs->address, sizeof m->address);
        g_ptr_array_add(b->peers, m);
    }
    memset(&m->udp, 0, sizeof m->udp);
    if (udp)
        memcpy(&m->udp, udp, udp->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                                        : sizeof(struct sockaddr_in));
    if (changed || now - m->logged_at >= DMN_AGREE_LOG_US) {
        g_warning("configuration differs from %s's%s: %s; its frames are refused "
                  "(config_mismatch) until it is started with the same settings",
                  theirs->address, is_member(b->cfg, theirs->address) ? "" : " (not in our member list)",
                  what->str);
        m->logged_at = now;
    }
    g_free(m->names);
    g_free(m->what);
    m->names = g_string_free(names, FALSE);
    m->what = g_string_free(what, FALSE);
    return false;
}

const char *dmn_agreebook_refused(const dmn_agreebook *b, const struct sockaddr *addr)
{
    for (guint i = 0; i < b->peers->len; i++) {
        const mismatch *m = g_ptr_array_index(b->peers, i);
        if (same_addr(addr, &m->udp))
            return m->address;
    }
    return NULL;
}

void dmn_agreebook_format(const dmn_agreebook *b, GString *out)
{
    g_string_append(out, "config_mismatch");
    if (b->peers->len == 0)
        g_string_append(out, " none");
    for (guint i = 0; i < b->peers->len; i++) {
        const mismatch *m = g_ptr_array_index(b->peers, i);
        g_string_append_printf(out, " %s=%s", m->address, m->names);
    }
}

void dmn_agreebook_json(const dmn_agreebook *b, dmn_json *w)
{
    dmn_json_begin_object(w, "config_mismatch");
    for (guint i = 0; i < b->peers->len; i++) {
        const mismatch *m = g_ptr_array_index(b->peers, i);
        dmn_json_string(w, m->address, m->names);
    }
    dmn_json_end_object(w);
}
