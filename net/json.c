/* dmutex net: the JSON writer (json.h). */
#include "json.h"

void dmn_json_init(dmn_json *w, GString *out)
{
    w->out = out;
    w->depth = 0;
    w->first[0] = true;
}

void dmn_json_escape(GString *out, const char *s)
{
    g_string_append_c(out, '"');
    const char *p = s;
    while (*p) {
        unsigned char c = (unsigned char)*p;
        if (c == '"' || c == '\\') {
            g_string_append_c(out, '\\');
            g_string_append_c(out, (char)c);
            p++;
        } else if (c < 0x20 || c == 0x7f) {
            switch (c) {
            case '\n': g_string_append(out, "\\n"); break;
            case '\r': g_string_append(out, "\\r"); break;
            case '\t': g_string_append(out, "\\t"); break;
            default: g_string_append_printf(out, "\\u%04x", c); break;
            }
            p++;
        } else if (c < 0x80) {
            g_string_append_c(out, (char)c);
            p++;
        } else {
            gunichar u = g_utf8_get_char_validated(p, -1);
            if (u == (gunichar)-1 || u == (gunichar)-2) {
                g_string_append(out, "\\ufffd");   /* not UTF-8: one byte replaced */
                p++;
            } else {
                const char *next = g_utf8_next_char(p);
                g_string_append_len(out, p, next - p);
                p = next;
            }
        }
    }
    g_string_append_c(out, '"');
}

/* Separator, newline and indentation before a value, then its key. */
static void member(dmn_json *w, const char *key)
{
    if (w->depth > 0 || !w->first[0]) {
        if (!w->first[w->depth])
            g_string_append_c(w->out, ',');
        g_string_append_c(w->out, '\n');
        for (unsigned i = 0; i < w->depth; i++)
            g_string_append(w->out, "  ");
    }
    w->first[w->depth] = false;
    if (key) {
        dmn_json_escape(w->out, key);
        g_string_append(w->out, ": ");
    }
}

static void open_container(dmn_json *w, const char *key, char bracket)
{
    member(w, key);
    g_string_append_c(w->out, bracket);
    g_return_if_fail(w->depth + 1 < DMN_JSON_DEPTH_MAX);
    w->first[++w->depth] = true;
}

static void close_container(dmn_json *w, char bracket)
{
    g_return_if_fail(w->depth > 0);
    bool empty = w->first[w->depth];
    w->depth--;
    if (!empty) {
        g_string_append_c(w->out, '\n');
        for (unsigned i = 0; i < w->depth; i++)
            g_string_append(w->out, "  ");
    }
    g_string_append_c(w->out, bracket);
}

void dmn_json_begin_object(dmn_json *w, const char *key) { open_container(w, key, '{'); }
void dmn_json_end_object(dmn_json *w) { close_container(w, '}'); }
void dmn_json_begin_array(dmn_json *w, const char *key) { open_container(w, key, '['); }
void dmn_json_end_array(dmn_json *w) { close_container(w, ']'); }

void dmn_json_string(dmn_json *w, const char *key, const char *value)
{
    member(w, key);
    if (value)
        dmn_json_escape(w->out, value);
    else
        g_string_append(w->out, "null");
}

void dmn_json_uint(dmn_json *w, const char *key, uint64_t value)
{
    member(w, key);
    g_string_append_printf(w->out, "%" G_GUINT64_FORMAT, value);
}

void dmn_json_int(dmn_json *w, const char *key, int64_t value)
{
    member(w, key);
    g_string_append_printf(w->out, "%" G_GINT64_FORMAT, value);
}

void dmn_json_bool(dmn_json *w, const char *key, bool value)
{
    member(w, key);
    g_string_append(w->out, value ? "true" : "false");
}

void dmn_json_null(dmn_json *w, const char *key)
{
    member(w, key);
    g_string_append(w->out, "null");
}
