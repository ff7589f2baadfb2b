/* dmutex simulator: the run's fingerprint and its optional text trace.
 *
 * Every event the simulator processes is folded into a 64-bit hash (always,
 * whether or not a trace is written), so two runs can be compared cheaply:
 * same seed and configuration, same hash. The text trace is one line per
 * event, "<seconds> n<node> <what>", buffered and written to a FILE, or
 * kept in memory when no FILE is given (tests compare the bytes).
 */
#ifndef DMUTEX_SIM_TRACE_H
#define DMUTEX_SIM_TRACE_H

#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <glib.h>

#define DM_TRACE_HASH_INIT 0xcbf29ce484222325u

typedef struct dm_trace {
    uint64_t hash;
    GString *buf;       /* NULL when no text is wanted */
    FILE *out;          /* where buf drains to; NULL keeps everything in buf */
} dm_trace;

/* Hash only, no text. */
void dm_trace_init(dm_trace *t);
/* Also keep the text: written to `out`, or kept in memory when out is NULL. */
void dm_trace_enable(dm_trace *t, FILE *out);
/* Write what is buffered (FILE mode; memory mode keeps it). */
void dm_trace_flush(dm_trace *t);
/* Flush and free the buffer. */
void dm_trace_clear(dm_trace *t);

static inline bool dm_trace_on(const dm_trace *t) { return t->buf != NULL; }

/* FNV-1a over 64-bit words, with a shift folding the high bits back down so
 * that every input bit reaches every output bit within a few words. */
static inline void dm_trace_fold(dm_trace *t, uint64_t x)
{
    uint64_t h = (t->hash ^ x) * 0x100000001b3u;
    t->hash = h ^ (h >> 29);
}

/* Combine two hashes (runs of a sweep, in order). */
uint64_t dm_trace_combine(uint64_t acc, uint64_t h);

/* Append one line; node < 0 prints "-" (a world event). */
void dm_trace_line(dm_trace *t, int64_t at, int node, const char *fmt, ...) G_GNUC_PRINTF(4, 5);

/* The text kept in memory (memory mode), or "" . */
const char *dm_trace_text(const dm_trace *t);

#endif
