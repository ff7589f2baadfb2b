#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static gboolean fail_errno(GError **err, int e, const char *what, const char *path)
{
    g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(e), "%s %s: %s", what, path,
                g_strerror(e));
    return FALSE;
}

gboolean dmn_store_prepare(const char *dir, GError **err)
{
    if (g_mkdir_with_parents(dir, 0700) < 0)
        return fail_errno(err, errno, "cannot create data directory", dir);
    return TRUE;
}

gboolean dmn_store_load(const char *dir, GBytes **out, GError **err)
{
    return dmn_store_load_file(dir, DMN_STORE_FILE, out, err);
}

gboolean dmn_store_load_file(const char *dir, const char *name, GBytes **out, GError **err)
{
    *out = NULL;
    g_autofree char *path = g_build_filename(dir, name, NULL);
    char *data = NULL;
    gsize len = 0;
    GError *e = NULL;
    if (!g_file_get_contents(path, &data, &len, &e)) {
        if (g_error_matches(e, G_FILE_ERROR, G_FILE_ERROR_NOENT)) {
            g_error_free(e);
            return TRUE;
        }
        g_propagate_error(err, e);
        return FALSE;
    }
    *out = g_bytes_new_take(data, len);
    return TRUE;
}

static gboolean write_all(int fd, const void *bytes, size_t len)
{
    const char *p = bytes;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return FALSE;
        }
        p += w;
        len -= (size_t)w;
    }
    return TRUE;
}

gboolean dmn_store_save(const char *dir, const void *bytes, size_t len, GError **err)
{
    return dmn_store_save_file(dir, DMN_STORE_FILE, bytes, len, err);
}

gboolean dmn_store_save_file(const char *dir, const char *name, const void *bytes, size_t len,
                             GError **err)
{
    g_autofree char *path = g_build_filename(dir, name, NULL);
    g_autofree char *tmp = g_strconcat(path, ".tmp", NULL);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return fail_errno(err, errno, "cannot create", tmp);
    if (!write_all(fd, bytes, len) || fsync(fd) < 0) {
        int e = errno;
        close(fd);
        unlink(tmp);
        return fail_errno(err, e, "cannot write", tmp);
    }
    if (close(fd) < 0)
        return fail_errno(err, errno, "cannot close", tmp);
    if (rename(tmp, path) < 0) {
        int e = errno;
        unlink(tmp);
        return fail_errno(err, e, "cannot rename over", path);
    }
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return fail_errno(err, errno, "cannot open directory", dir);
    if (fsync(dfd) < 0) {
        int e = errno;
        close(dfd);
        return fail_errno(err, e, "cannot fsync directory", dir);
    }
    close(dfd);
    return TRUE;
}
