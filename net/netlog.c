#include "netlog.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "netconfig.h"

static GLogLevelFlags threshold = G_LOG_LEVEL_MESSAGE;   /* this and more severe */
static const char *program = "dmutex";

static const char *level_name(GLogLevelFlags l)
{
    if (l & G_LOG_LEVEL_ERROR) return "ERROR";
    if (l & G_LOG_LEVEL_CRITICAL) return "CRITICAL";
    if (l & G_LOG_LEVEL_WARNING) return "WARNING";
    if (l & G_LOG_LEVEL_MESSAGE) return "MESSAGE";
    if (l & G_LOG_LEVEL_INFO) return "INFO";
    return "DEBUG";
}

static void handler(const gchar *domain, GLogLevelFlags level, const gchar *message, gpointer user)
{
    (void)user;
    GLogLevelFlags l = level & G_LOG_LEVEL_MASK;
    if (l > threshold && !(level & G_LOG_FLAG_FATAL))
        return;
    GDateTime *now = g_date_time_new_now_local();
    char *ts = g_date_time_format(now, "%H:%M:%S");
    fprintf(stderr, "%s.%03d %s[%d] %s %s: %s\n", ts, g_date_time_get_microsecond(now) / 1000, program,
            (int)getpid(), level_name(l), domain ? domain : "", message);
    fflush(stderr);
    g_free(ts);
    g_date_time_unref(now);
}

gboolean dmn_log_setup(const char *level, const char *prog, GError **err)
{
    static const struct { const char *name; GLogLevelFlags l; } levels[] = {
        { "error", G_LOG_LEVEL_ERROR },     { "critical", G_LOG_LEVEL_CRITICAL },
        { "warning", G_LOG_LEVEL_WARNING }, { "message", G_LOG_LEVEL_MESSAGE },
        { "info", G_LOG_LEVEL_INFO },       { "debug", G_LOG_LEVEL_DEBUG },
    };
    if (prog)
        program = prog;
    if (level) {
        bool found = false;
        for (size_t i = 0; i < G_N_ELEMENTS(levels); i++)
            if (g_ascii_strcasecmp(level, levels[i].name) == 0) {
                threshold = levels[i].l;
                found = true;
            }
        if (!found) {
            g_set_error(err, DMN_CONFIG_ERROR, 0,
                        "unknown log level '%s' (error, critical, warning, message, info, debug)", level);
            return FALSE;
        }
    }
    g_log_set_default_handler(handler, NULL);
    return TRUE;
}
