/* dmutex net: a small JSON writer for the control protocol's JSON answers
 * (STATUS JSON, MEMBERS JSON; net/README.md documents their schema).
 *
 * GLib has no JSON and the answers are small and write-only, so this is
 * the whole of it: values appended to a GString, one member or element per
 * line (indented), strings escaped (quote, backslash, control characters;
 * bytes that are not UTF-8 become U+FFFD, so the output is always valid
 * JSON). Putting every member on a line of its own keeps the answer a
 * sequence of ordinary data lines of the line protocol: none starts with
 * OK, ERR or '!'.
 */
#ifndef DMUTEX_NET_JSON_H
#define DMUTEX_NET_JSON_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#define DMN_JSON_DEPTH_MAX 16

typedef struct dmn_json {
    GString *out;
    unsigned depth;
    bool first[DMN_JSON_DEPTH_MAX];   /* no member written yet at this depth */
} dmn_json;

void dmn_json_init(dmn_json *w, GString *out);

/* `key` names the member inside an object; NULL inside an array or at the
 * top. Containers nest at most DMN_JSON_DEPTH_MAX deep. */
void dmn_json_begin_object(dmn_json *w, const char *key);
void dmn_json_end_object(dmn_json *w);
void dmn_json_begin_array(dmn_json *w, const char *key);
void dmn_json_end_array(dmn_json *w);

void dmn_json_string(dmn_json *w, const char *key, const char *value);   /* NULL: null */
void dmn_json_uint(dmn_json *w, const char *key, uint64_t value);
void dmn_json_int(dmn_json *w, const char *key, int64_t value);
void dmn_json_bool(dmn_json *w, const char *key, bool value);
void dmn_json_null(dmn_json *w, const char *key);

/* Append `s` as a JSON string literal (with its quotes). */
void dmn_json_escape(GString *out, const char *s);

#endif
