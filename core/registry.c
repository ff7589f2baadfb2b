/* dmutex core: name lookups over module tables (see registry.h). */
#include "registry.h"

#include <glib.h>
#include <string.h>

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
    GString *s = g_string_new(NULL);
    for (size_t i = 0; i < n; i++)
        g_string_append_printf(s, "%s%s", i ? sep : "", name_of(table[i]));
    return g_string_free(s, FALSE);
}
