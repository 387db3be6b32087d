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

static const msg_adapter_ops file_ops = {"file", file_attempt, file_describe, file_destroy};

/* ---------------------------------------------------------------- the outbox directory */

static pthread_mutex_t dir_lock = PTHREAD_MUTEX_INITIALIZER;
static char *outbox_dir; /* as configured; NULL: file adapters are refused */

int msg_outbox_dir_set(const char *dir)
{
    char *copy = dir && *dir ? strdup(dir) : NULL;
    if (dir && *dir && !copy) return -1;
    pthread_mutex_lock(&dir_lock);
    free(outbox_dir);
    outbox_dir = copy;
    pthread_mutex_unlock(&dir_lock);
    return 0;
}

const char *msg_outbox_dir(void)
{
    return outbox_dir;
}

/* A relative path of plain names under the outbox directory: no "..", "." or empty
 * component, not absolute. */
static const char *path_problem(const char *path)
{
    if (path[0] == '/') return "must be relative to the outbox directory, not absolute";
    for (const char *p = path; *p;) {
        const char *end = strchr(p, '/');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n == 0) return "has an empty component";
        if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
            return "may not contain . or .. components";
        if (!end) break;
        if (!end[1]) return "names a directory, not a file";
        p = end + 1;
    }
    return NULL;
}

/* Opens path inside the outbox directory (creating the directory itself if needed, and
 * the file, never following a symbolic link out of it). -1 with e naming "path". */
static int open_in_outbox(const char *path, char **full_out, siyu_err *e)
{
    const char *why = path_problem(path);
    if (why) return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "path", "path: %s", why);
    pthread_mutex_lock(&dir_lock);
    char *dir = outbox_dir ? strdup(outbox_dir) : NULL;
    pthread_mutex_unlock(&dir_lock);
    if (!dir)
        return siyu_err_set(e, SIYU_INVALID_ARGUMENT, "path",
                            "path: no outbox directory is configured for file adapters");
    (void)mkdir(dir, 0750);
    char *root = realpath(dir, NULL);
    if (!root) {
        siyu_err_set(e, SIYU_INVALID_ARGUMENT, "path", "path: the outbox directory %s: %s", dir,
                     strerror(errno));
        free(dir);
        return -1;
    }
    free(dir);
    size_t rl = strlen(root), pl = strlen(path);
    char *full = malloc(rl + pl + 2);
    memcpy(full, root, rl);
    full[rl] = '/';
    memcpy(full + rl + 1, path, pl + 1);
    /* the parent, with every symbolic link resolved, must still be inside the root */
    char *slash = strrchr(full, '/');
    *slash = 0;
    char *parent = realpath(full, NULL);
    *slash = '/';
    int fd = -1;
    size_t ql = parent ? strlen(parent) : 0;
    if (!parent) {
        siyu_err_set(e, SIYU_INVALID_ARGUMENT, "path", "path: cannot open %s: %s", path,
                     strerror(errno));
    } else if (!(ql >= rl && memcmp(parent, root, rl) == 0 &&
                 (parent[rl] == 0 || parent[rl] == '/'))) {
        siyu_err_set(e, SIYU_INVALID_ARGUMENT, "path",
                     "path: %s leads outside the outbox directory", path);
    } else {
        int dfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        const char *base = slash + 1;
        if (dfd >= 0) {
            /* a new file's directory entry is fsynced too, or the whole file could vanish */
            fd = openat(dfd, base, O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                        0640);
            if (fd >= 0)
                (void)fsync(dfd);
            else if (errno == EEXIST)
                fd = openat(dfd, base, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC);
            int err = errno;
            close(dfd);
            errno = err;
        }
        if (fd < 0)
            siyu_err_set(e, SIYU_INVALID_ARGUMENT, "path", "path: cannot open %s: %s", path,
                         errno == ELOOP ? "it is a symbolic link" : strerror(errno));
    }
    free(parent);
    free(root);
    if (fd < 0) {
        free(full);
        return -1;
    }
    *full_out = full;
    return fd;
}

msg_adapter *msg_file_new(json_t *cfg, siyu_err *e)
{
    static const char *const keys[] = {MSG_ADAPTER_COMMON_KEYS, "path", NULL};
    const char *path = NULL;
    if (jx_only(cfg, keys, NULL, e) || jx_str(cfg, "path", true, &path, e) < 0) return NULL;
    if (!*path) {
        siyu_err_set(e, SIYU_INVALID_ARGUMENT, "path", "path: empty");
        return NULL;
    }
    char *full = NULL;
    int fd = open_in_outbox(path, &full, e);
    if (fd < 0) return NULL;
    file_adapter *f = calloc(1, sizeof *f);
    if (!f || !(f->path = strdup(path))) {
        free(f);
        free(full);
        close(fd);
        siyu_err_set(e, SIYU_INTERNAL, NULL, "out of memory");
        return NULL;
    }
    free(full);
    f->base.ops = &file_ops;
    f->fd = fd;
    pthread_mutex_init(&f->lock, NULL);
    return &f->base;
}
