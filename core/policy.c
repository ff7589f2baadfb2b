/* dmutex core: the registry of built-in policies (see policy.h). Adding one
 * is its file plus one line in `builtin`. */
#include "policy.h"

#include <glib.h>
#include <string.h>

#include "error.h"

static const dm_policy_ops *const builtin[] = {
    &dm_policy_ae_ops,
    &dm_policy_memberlist_ops,
};

const dm_policy_ops *dm_policy_lookup(const char *name)
{
    for (size_t i = 0; name && i < G_N_ELEMENTS(builtin); i++)
        if (strcmp(builtin[i]->name, name) == 0)
            return builtin[i];
    return NULL;
}

size_t dm_policy_builtin_count(void)
{
    return G_N_ELEMENTS(builtin);
}

const dm_policy_ops *dm_policy_builtin(size_t i)
{
    return i < G_N_ELEMENTS(builtin) ? builtin[i] : NULL;
}

char *dm_policy_names(const char *sep)
{
    const char *names[G_N_ELEMENTS(builtin) + 1];
    for (size_t i = 0; i < G_N_ELEMENTS(builtin); i++)
        names[i] = builtin[i]->name;
    names[G_N_ELEMENTS(builtin)] = NULL;
    return g_strjoinv(sep, (char **)names);
}

const char *dm_policy_name(const dm_policy_ops *p)
{
    return (p ? p : builtin[0])->name;
}

int dm_policy_parse(const char *name, const dm_policy_ops **out)
{
    const dm_policy_ops *p = dm_policy_lookup(name);
    if (!p)
        return -DM_EINVAL;
    *out = p;
    return 0;
}
