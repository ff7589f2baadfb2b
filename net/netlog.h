/* dmutex net: log output of the programs (dmutexd): a GLib default handler
 * that prints "TIME LEVEL domain: message" to stderr for levels at or above
 * a threshold. The library never installs it (the application owns logging).
 */
#ifndef DMUTEX_NET_NETLOG_H
#define DMUTEX_NET_NETLOG_H

#include <glib.h>

/* level: error, critical, warning, message, info, debug. */
gboolean dmn_log_setup(const char *level, const char *prog, GError **err);

#endif
