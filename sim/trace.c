#include "trace.h"

#include <inttypes.h>
#include <stdarg.h>

/* Drain to the FILE in chunks this large: few writes, bounded memory. */
#define FLUSH_AT (256 * 1024)

void dm_trace_init(dm_trace *t)
{
    t->hash = DM_TRACE_HASH_INIT;
    t->buf = NULL;
    t->out = NULL;
}

void dm_trace_enable(dm_trace *t, FILE *out)
{
    if (!t->buf)
        t->buf = g_string_sized_new(out ? FLUSH_AT + 1024 : 4096);
    t->out = out;
}

static void drain(dm_trace *t)
{
    if (t->out && t->buf->len > 0) {
        fwrite(t->buf->str, 1, t->buf->len, t->out);
        g_string_truncate(t->buf, 0);
    }
}

void dm_trace_flush(dm_trace *t)
{
    if (t->buf) {
        drain(t);
        if (t->out)
            fflush(t->out);
    }
}

void dm_trace_clear(dm_trace *t)
{
    if (t->buf) {
        drain(t);
        g_string_free(t->buf, TRUE);
        t->buf = NULL;
    }
    t->out = NULL;
}

uint64_t dm_trace_combine(uint64_t acc, uint64_t h)
{
    dm_trace t = { .hash = acc };
    dm_trace_fold(&t, h);
    dm_trace_fold(&t, h >> 32);
    return t.hash;
}

void dm_trace_line(dm_trace *t, int64_t at, int node, const char *fmt, ...)
{
    if (!t->buf)
        return;
    /* Integer formatting: the text never depends on the C library's
     * rounding of doubles. */
    g_string_append_printf(t->buf, "%" PRId64 ".%06" PRId64 " ", at / G_USEC_PER_SEC,
                           at % G_USEC_PER_SEC);
    if (node < 0)
        g_string_append(t->buf, "- ");
    else
        g_string_append_printf(t->buf, "n%d ", node);
    va_list ap;
    va_start(ap, fmt);
    g_string_append_vprintf(t->buf, fmt, ap);
    va_end(ap);
    g_string_append_c(t->buf, '\n');
    if (t->buf->len >= FLUSH_AT)
        drain(t);
}

const char *dm_trace_text(const dm_trace *t)
{
    return t->buf ? t->buf->str : "";
}
