/* dmutex core: the registries of pluggable modules (quorum systems,
 * policies). A registry is a built-in table of pointers to ops structs whose
 * first member is `const char *name`, plus the entries a program registers
 * at run time (a user's own policy, from a test, a plugin or an embedding
 * program): lookups, listings and --help text then include them, with no
 * file of the core edited. This file is the one place that searches and
 * lists them, so that each registry is only its table. Registration is for
 * start-up, before threads that look names up: it takes no lock. */
#ifndef DMUTEX_CORE_REGISTRY_H
#define DMUTEX_CORE_REGISTRY_H

#include <stddef.h>

/* The entry named `name`, or NULL (also for a NULL name). */
const void *dm_registry_lookup(const void *const *table, size_t n, const char *name);
/* The names joined by `sep`, newly allocated (g_free). */
char *dm_registry_names(const void *const *table, size_t n, const char *sep);

typedef struct dm_registry {
    const void *const *builtin;
    size_t n_builtin;
    void *added;               /* GPtrArray of registered entries, in order; NULL: none */
} dm_registry;
#define DM_REGISTRY_INIT(table) { (const void *const *)(table), sizeof(table) / sizeof((table)[0]), NULL }

/* Built-in entries first, then the registered ones in registration order. */
size_t dm_registry_count(const dm_registry *r);
const void *dm_registry_at(const dm_registry *r, size_t i);   /* NULL past the end */
const void *dm_registry_find(const dm_registry *r, const char *name);
char *dm_registry_list(const dm_registry *r, const char *sep);
/* Add an entry: 0; -DM_EINVAL when its name is missing, empty or holds
 * anything but letters, digits, '_' and '-' (names go on command lines and
 * into config files); -DM_EEXIST when the name is taken. The entry must
 * outlive every lookup (a static table). */
int dm_registry_add(dm_registry *r, const void *entry);

#endif
