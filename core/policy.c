/* dmutex core: the registry of built-in policies (see policy.h). Adding one
 * is its file plus one line in `builtin`. */
#include "policy.h"

#include <glib.h>
#include <stddef.h>
#include <string.h>

#include "error.h"
#include "reconfig.h"
#include "registry.h"

static const dm_policy_ops *const builtin[] = {
    &dm_policy_ae_ops,
    &dm_policy_memberlist_ops,
    &dm_policy_epoch_ops,
};

_Static_assert(offsetof(dm_policy_ops, name) == 0, "dm_policy_ops must start with its name");

static dm_registry registry = DM_REGISTRY_INIT(builtin);

const dm_policy_ops *dm_policy_lookup(const char *name)
{
    return dm_registry_find(&registry, name);
}

int dm_policy_register(const dm_policy_ops *ops)
{
    if (!ops || !ops->members)
        return -DM_EINVAL;
    return dm_registry_add(&registry, ops);
}

size_t dm_policy_registered_count(void)
{
    return dm_registry_count(&registry);
}

const dm_policy_ops *dm_policy_registered(size_t i)
{
    return dm_registry_at(&registry, i);
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
    return dm_registry_list(&registry, sep);
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

uint32_t dm_policy_members_in_view(const dm_membership *m, uint32_t n_members, uint32_t *ids)
{
    uint32_t count = 0;
    for (uint32_t i = 0; i < n_members; i++)
        if (dm_membership_in_view(m, i))
            ids[count++] = i;
    return count;
}

uint32_t dm_policy_max_members(const dm_policy_ops *p)
{
    return p && p->epochs ? DM_RECONFIG_MAX_MEMBERS : DM_MAX_MEMBERS;
}
