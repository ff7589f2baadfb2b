/* dmutex core: name lookups over the built-in tables of pluggable modules
 * (quorum systems, policies). Every such table holds pointers to ops
 * structs whose first member is `const char *name`; this file is the one
 * place that searches them and lists their names, so that each registry is
 * only its table. */
#ifndef DMUTEX_CORE_REGISTRY_H
#define DMUTEX_CORE_REGISTRY_H

#include <stddef.h>

/* The entry named `name`, or NULL (also for a NULL name). */
const void *dm_registry_lookup(const void *const *table, size_t n, const char *name);
/* The names joined by `sep`, newly allocated (g_free). */
char *dm_registry_names(const void *const *table, size_t n, const char *sep);

#endif
