/* dmutex core: configuration agreement (see confagree.h). The settings come
 * from the one key table (core/confkeys.c, DM_CONFKEY_AGREE), formatted as
 * the configuration spells them, so the log says what an operator writes. */
#include "confagree.h"

#include <string.h>

#include "codec.h"
#include "confkeys.h"
#include "error.h"
#include "policy.h"

#define HELLO_REPLY 0x01u
#define OFF_VERSION 4      /* in the codec header (core/codec.h) */
#define OFF_NAME_LEN 10

static void add_item(dm_agree *a, const char *name, const char *value)
{
    if (a->n_items >= DM_AGREE_MAX_ITEMS)
        return;
    dm_agree_item *it = &a->items[a->n_items++];
    g_strlcpy(it->name, name, sizeof it->name);
    g_strlcpy(it->value, value, sizeof it->value);
}

static int cmp_str(const void *x, const void *y)
{
    return strcmp(*(const char *const *)x, *(const char *const *)y);
}

void dm_agree_describe(const dm_config *cfg, const char *self, const char *const *members,
                       uint32_t n_members, dm_agree *out)
{
    memset(out, 0, sizeof *out);
    g_strlcpy(out->address, self ? self : "", sizeof out->address);
    for (size_t i = 0; dm_confkey_at(i); i++) {
        const dm_confkey *k = dm_confkey_at(i);
        if (!(k->flags & DM_CONFKEY_AGREE))
            continue;
        g_autofree char *name = dm_confkey_flat_name(k);
        GString *v = g_string_new(NULL);
        dm_confkey_format(k, cfg, v);
        add_item(out, name, v->str);
        g_string_free(v, TRUE);
    }
    if (cfg->policy && cfg->policy->epochs)
        return;
    /* FNV-1a over the sorted list, each address ended by a NUL: the member
     * ids are indices into that order, so the order is what must agree. */
    const char **sorted = g_new(const char *, n_members ? n_members : 1);
    for (uint32_t i = 0; i < n_members; i++)
        sorted[i] = members[i];
    qsort(sorted, n_members, sizeof *sorted, cmp_str);
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    for (uint32_t i = 0; i < n_members; i++)
        for (const char *p = sorted[i];; p++) {
            h = (h ^ (uint8_t)*p) * UINT64_C(0x100000001b3);
            if (!*p)
                break;
        }
    g_free(sorted);
    char v[DM_AGREE_VALUE_MAX + 1];
    g_snprintf(v, sizeof v, "%u members, digest %016" G_GINT64_MODIFIER "x", n_members, h);
    add_item(out, "members", v);
}

static bool put_text(uint8_t *buf, size_t cap, size_t *at, const char *s, size_t max, bool empty_ok)
{
    size_t n = strlen(s);
    if ((n == 0 && !empty_ok) || n > max || *at + 1 + n > cap)
        return false;
    buf[(*at)++] = (uint8_t)n;
    memcpy(buf + *at, s, n);
    *at += n;
    return true;
}

int dm_agree_encode(const dm_agree *a, uint32_t from, uint8_t *buf, size_t cap)
{
    cap = MIN(cap, (size_t)DM_FRAME_MAX);
    if (cap < DM_FRAME_HEADER + 4 || a->n_items > DM_AGREE_MAX_ITEMS || from > UINT16_MAX)
        return -DM_EINVAL;
    size_t at = DM_FRAME_HEADER;
    buf[at++] = DM_AGREE_VERSION;
    buf[at++] = a->reply ? HELLO_REPLY : 0;
    if (!put_text(buf, cap, &at, a->address, DM_AGREE_ADDR_MAX, false) || at >= cap)
        return -DM_EINVAL;
    buf[at++] = (uint8_t)a->n_items;
    for (uint32_t i = 0; i < a->n_items; i++)
        if (!put_text(buf, cap, &at, a->items[i].name, DM_AGREE_NAME_MAX, false) ||
            !put_text(buf, cap, &at, a->items[i].value, DM_AGREE_VALUE_MAX, true))
            return -DM_EINVAL;
    dm_codec_put_header(buf, DM_AGREE_WIRE_TYPE, (uint16_t)from, 0xffff, (uint32_t)at);
    return (int)at;
}

bool dm_agree_is_hello(const uint8_t *buf, size_t len)
{
    return dm_codec_frame_type(buf, len) == DM_AGREE_WIRE_TYPE;
}

/* The text at buf[*at], of at most max bytes, into out (NUL-terminated). */
static bool get_text(const uint8_t *buf, size_t len, size_t *at, char *out, size_t max, bool empty_ok)
{
    if (*at >= len)
        return false;
    size_t n = buf[(*at)++];
    if ((n == 0 && !empty_ok) || n > max || *at + n > len || memchr(buf + *at, '\0', n))
        return false;
    memcpy(out, buf + *at, n);
    out[n] = '\0';
    *at += n;
    return true;
}

int dm_agree_decode(const uint8_t *buf, size_t len, dm_agree *out)
{
    int fl = dm_codec_frame_length(buf, len);
    if (fl < 0)
        return fl;
    if ((size_t)fl > len)
        return -DM_ETRUNC;
    if (buf[OFF_VERSION] != DM_WIRE_VERSION)
        return -DM_EVERSION;
    if (!dm_agree_is_hello(buf, len))
        return -DM_ETYPE;
    size_t end = (size_t)fl, at = DM_FRAME_HEADER;
    memset(out, 0, sizeof *out);
    if (buf[OFF_NAME_LEN] != 0 || end < at + 2 || buf[at] != DM_AGREE_VERSION ||
        (buf[at + 1] & ~HELLO_REPLY))
        return -DM_EMALFORMED;
    out->reply = buf[at + 1] & HELLO_REPLY;
    at += 2;
    if (!get_text(buf, end, &at, out->address, DM_AGREE_ADDR_MAX, false) || at >= end)
        return -DM_EMALFORMED;
    uint32_t n = buf[at++];
    if (n > DM_AGREE_MAX_ITEMS)
        return -DM_EMALFORMED;
    for (uint32_t i = 0; i < n; i++)
        if (!get_text(buf, end, &at, out->items[i].name, DM_AGREE_NAME_MAX, false) ||
            !get_text(buf, end, &at, out->items[i].value, DM_AGREE_VALUE_MAX, true))
            return -DM_EMALFORMED;
    out->n_items = n;
    return at == end ? fl : -DM_EMALFORMED;
}

static const dm_agree_item *find(const dm_agree *a, const char *name)
{
    for (uint32_t i = 0; i < a->n_items; i++)
        if (strcmp(a->items[i].name, name) == 0)
            return &a->items[i];
    return NULL;
}

static void differs(GString *what, GString *names, const char *name, const char *there,
                    const char *here)
{
    if (what)
        g_string_append_printf(what, "%s%s: %s there, %s here", what->len ? "; " : "", name, there,
                               here);
    if (names)
        g_string_append_printf(names, "%s%s", names->len ? "," : "", name);
}

int dm_agree_compare(const dm_agree *mine, const dm_agree *theirs, GString *what, GString *names)
{
    int n = 0;
    for (uint32_t i = 0; i < mine->n_items; i++) {
        const dm_agree_item *m = &mine->items[i], *t = find(theirs, m->name);
        if (!t || strcmp(t->value, m->value) != 0) {
            differs(what, names, m->name, t ? t->value : "(not sent)", m->value);
            n++;
        }
    }
    for (uint32_t i = 0; i < theirs->n_items; i++)
        if (!find(mine, theirs->items[i].name)) {
            differs(what, names, theirs->items[i].name, theirs->items[i].value, "(not compared)");
            n++;
        }
    return n;
}
