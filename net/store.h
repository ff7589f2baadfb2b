/* dmutex net: the core's persisted state, kept in a file of --data-dir.
 *
 * dmn_store_save writes DIR/state atomically and durably: DIR/state.tmp is
 * written and fsync'ed, renamed over DIR/state, and DIR itself is fsync'ed
 * so the rename survives a power loss. A crash at any point leaves either
 * the old or the new content in DIR/state. dmn_store_load reads it back
 * (a missing file is a first start, not an error).
 */
#ifndef DMUTEX_NET_STORE_H
#define DMUTEX_NET_STORE_H

#include <glib.h>

#define DMN_STORE_FILE "state"

/* Create DIR (mode 0700) if needed. */
gboolean dmn_store_prepare(const char *dir, GError **err);

/* Read DIR/state into *out (NULL when there is none). */
gboolean dmn_store_load(const char *dir, GBytes **out, GError **err);

gboolean dmn_store_save(const char *dir, const void *bytes, size_t len, GError **err);

/* The same for another file of DIR (DIR/name, written through
 * DIR/name.tmp): the net driver's own tables kept next to the state. */
gboolean dmn_store_load_file(const char *dir, const char *name, GBytes **out, GError **err);
gboolean dmn_store_save_file(const char *dir, const char *name, const void *bytes, size_t len,
                             GError **err);

#endif
