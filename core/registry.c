/* dmutex core: the registries of pluggable modules (see registry.h). */
#include "registry.h"

#include <glib.h>
#include <stdbool.h>
#include <string.h>

#include "error.h"

/* The first member of every ops struct a registry lists. */
static const char *name_of(const void *entry)
{
    return *(const char *const *)entry;
}

const void *dm_registry_lookup(const void *const *table, size_t n, const char *name)
{
    for (size_t i = 0; name && i < n; i++)
        if (strcmp(name_of(table[i]), name) == 0)
            return table[i];
    return NULL;
}

char *dm_registry_names(const void *const *table, size_t n, const char *sep)
{
    dm_registry r = { table, n, NULL };
    return dm_registry_list(&r, sep);
}

size_t dm_registry_count(const dm_registry *r)
{
    return r->n_builtin + (r->added ? ((GPtrArray *)r->added)->len : 0);
}

const void *dm_registry_at(const dm_registry *r, size_t i)
{
    if (i < r->n_builtin)
        return r->builtin[i];
    i -= r->n_builtin;
    GPtrArray *added = r->added;
    return added && i < added->len ? g_ptr_array_index(added, i) : NULL;
}

const void *dm_registry_find(const dm_registry *r, const char *name)
{
    const void *e = dm_registry_lookup(r->builtin, r->n_builtin, name);
    GPtrArray *added = r->added;
    if (!e && added)
        e = dm_registry_lookup((const void *const *)added->pdata, added->len, name);
    return e;
}

char *dm_registry_list(const dm_registry *r, const char *sep)
{
    GString *s = g_string_new(NULL);
    for (size_t i = 0; i < dm_registry_count(r); i++)
        g_string_append_printf(s, "%s%s", i ? sep : "", name_of(dm_registry_at(r, i)));
    return g_string_free(s, FALSE);
}

static bool name_ok(const char *name)
{
    if (!name || !*name)
        return false;
    for (const char *c = name; *c; c++)
        if (!g_ascii_isalnum(*c) && *c != '_' && *c != '-')
            return false;
    return true;
}

int dm_registry_add(dm_registry *r, const void *entry)
{
    if (!entry || !name_ok(name_of(entry)))
        return -DM_EINVAL;
    if (dm_registry_find(r, name_of(entry)))
        return -DM_EEXIST;
    if (!r->added)
        r->added = g_ptr_array_new();
    g_ptr_array_add(r->added, (gpointer)entry);
    return 0;
}
