/* msg_file.c — the file adapter: one NDJSON line per message, appended and fsynced.
 *
 * Useful as a channel's adapter where a message only needs to land somewhere durable
 * (an SMS gateway that picks files up, a test, a demo). The line is the message's JSON
 * (msg_message_to_json) plus "written_at". The file is opened O_APPEND once; each line
 * goes out in one write() under the adapter's lock and is fsynced before the message
 * counts as sent. A short or failed write is cut back off the file (ftruncate to the
 * previous size), so a reader never sees half a line, and the message is retried. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/jsonx.h"
#include "base/timeutil.h"
#include "messaging/msg_adapter_internal.h"

typedef struct file_adapter {
    msg_adapter base;
    char *path;
    int fd;
    pthread_mutex_t lock; /* one line at a time, and the cut-back after a failure */
} file_adapter;

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t k = write(fd, p, n);
        if (k < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

static void file_attempt(msg_adapter *a, const msg_message *m, json_t *msg, int attempt_no,
                         int64_t now_ms, msg_attempt *r)
{
    file_adapter *f = (file_adapter *)a;
    char at[40];
    int64_t now_s = now_ms >= 0 ? now_ms / 1000 : -((-now_ms + 999) / 1000);
    time_format_rfc3339(now_s, at, sizeof at);
    json_object_set_new(msg, "written_at", json_string(at));
    char *line = json_dumps(msg, JSON_COMPACT);
    size_t len = line ? strlen(line) : 0;
    char *nl = line ? realloc(line, len + 2) : NULL;
    if (!nl) {
        free(line);
        snprintf(r->error, sizeof r->error, "out of memory");
        return;
    }
    line = nl;
    line[len++] = '\n';
    line[len] = 0;

    pthread_mutex_lock(&f->lock);
    struct stat st;
    if (fstat(f->fd, &st) != 0) {
        snprintf(r->error, sizeof r->error, "%s: %s", f->path, strerror(errno));
    } else if (write_all(f->fd, line, len) != 0 || fsync(f->fd) != 0) {
        snprintf(r->error, sizeof r->error, "%s: %s", f->path, strerror(errno));
        if (ftruncate(f->fd, st.st_size) != 0) { /* best effort: the line must not stay half */
            size_t k = strlen(r->error);
            snprintf(r->error + k, sizeof r->error - k, " (and the partial line stays)");
        }
    } else {
        r->ok = true;
    }
    pthread_mutex_unlock(&f->lock);
    free(line);
    (void)m;
    (void)attempt_no;
}

static void file_describe(const msg_adapter *a, json_t *o)
{
    json_object_set_new(o, "path", json_string(((const file_adapter *)a)->path));
}

static void file_destroy(msg_adapter *a)
{
    file_adapter *f = (file_adapter *)a;
    if (f->fd >= 0) close(f->fd);
    pthread_mutex_destroy(&f->lock);
    free(f->path);
    free(f);
}

static void sync_parent(const char *path)
{
    char *dir = strdup(path);
    if (!dir) return;
    char *slash = strrchr(dir, '/');
    if (slash == dir)
        slash[1] = 0;
    else if (slash)
        *slash = 0;
    int dfd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
    free(dir);
}

static const msg_adapter_ops file_ops = {"file", file_attempt, file_describe, file_destroy};

msg_adapter *msg_file_new(json_t *cfg, siyu_err *e)
{
    static const char *const keys[] = {MSG_ADAPTER_COMMON_KEYS, "path", NULL};
    const char *path = NULL;
    if (jx_only(cfg, keys, NULL, e) || jx_str(cfg, "path", true, &path, e) < 0) return NULL;
    if (!*path) {
        siyu_err_set(e, SIYU_INVALID_ARGUMENT, "path", "path: empty");
        return NULL;
    }
    /* a new file's directory entry is fsynced too, or the whole file could vanish */
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    if (fd >= 0)
        sync_parent(path);
    else if (errno == EEXIST)
        fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
    if (fd < 0) {
        siyu_err_set(e, SIYU_INVALID_ARGUMENT, "path", "path: cannot open %s: %s", path,
                     strerror(errno));
        return NULL;
    }
    file_adapter *f = calloc(1, sizeof *f);
    if (!f || !(f->path = strdup(path))) {
        free(f);
        close(fd);
        siyu_err_set(e, SIYU_INTERNAL, NULL, "out of memory");
        return NULL;
    }
    f->base.ops = &file_ops;
    f->fd = fd;
    pthread_mutex_init(&f->lock, NULL);
    return &f->base;
}
