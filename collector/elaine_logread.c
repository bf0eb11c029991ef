/* Reading the log directory: rotated files in time order, then elaine.jsonl, and following it. */
#include "elaine_logread.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#define ACTIVE_NAME "elaine.jsonl"
#define READ_CHUNK (64 * 1024)

/* ---- names ---- */

static int has_suffix(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && memcmp(s + n - m, suf, m) == 0;
}

/* Splits elaine-<ts>[-N].jsonl[.zst] into the <ts> span and N (0 without a suffix). */
static void name_key(const char *name, const char **ts, size_t *tslen, unsigned long *num)
{
    const char *s = name;
    if (strncmp(s, "elaine-", 7) == 0)
        s += 7;
    const char *end = strstr(s, ".jsonl");
    if (!end)
        end = s + strlen(s);
    *ts = s;
    *tslen = (size_t)(end - s);
    *num = 0;
    const char *dash = NULL;
    for (const char *p = s; p < end; p++)
        if (*p == '-')
            dash = p;
    if (!dash || dash + 1 == end)
        return;
    unsigned long v = 0;
    for (const char *p = dash + 1; p < end; p++) {
        if (*p < '0' || *p > '9')
            return;
        v = v * 10 + (unsigned long)(*p - '0');
    }
    *tslen = (size_t)(dash - s);
    *num = v;
}

int elaine_logread_namecmp(const char *a, const char *b)
{
    const char *ta, *tb;
    size_t la, lb;
    unsigned long na, nb;
    name_key(a, &ta, &la, &na);
    name_key(b, &tb, &lb, &nb);
    int c = memcmp(ta, tb, la < lb ? la : lb);
    if (c)
        return c;
    if (la != lb)
        return la < lb ? -1 : 1;
    if (na != nb)
        return na < nb ? -1 : 1;
    return strcmp(a, b);
}

static int cmp_names(const void *a, const void *b)
{
    return elaine_logread_namecmp(*(char *const *)a, *(char *const *)b);
}

static int is_rotated_name(const char *n)
{
    return strncmp(n, "elaine-", 7) == 0 && (has_suffix(n, ".jsonl.zst") || has_suffix(n, ".jsonl"));
}

void elaine_logread_list_free(char **names, size_t count)
{
    if (!names)
        return;
    for (size_t i = 0; i < count; i++)
        free(names[i]);
    free(names);
}

int elaine_logread_list(const char *dir, char ***names, size_t *count)
{
    char **v = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    DIR *d = opendir(dir);
    if (!d)
        return -errno;
    struct dirent *e;
    errno = 0;
    while ((e = readdir(d))) {
        if (!is_rotated_name(e->d_name))
            continue;
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 16;
            char **nv = realloc(v, nc * sizeof(*nv));
            if (!nv) {
                rc = -ENOMEM;
                goto out;
            }
            v = nv;
            cap = nc;
        }
        if (!(v[n] = strdup(e->d_name))) {
            rc = -ENOMEM;
            goto out;
        }
        n++;
    }
    if (errno)
        rc = -errno;
    if (rc)
        goto out;
    if (n > 1)
        qsort(v, n, sizeof(*v), cmp_names);
    /* An uncompressed leftover whose .zst exists too: the .zst is complete. */
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(v[i]);
        if (has_suffix(v[i], ".jsonl") && i + 1 < n && strncmp(v[i + 1], v[i], l) == 0 &&
            strcmp(v[i + 1] + l, ".zst") == 0) {
            free(v[i]);
            continue;
        }
        v[w++] = v[i];
    }
    n = w;
out:
    closedir(d);
    if (rc) {
        elaine_logread_list_free(v, n);
        return rc;
    }
    *names = v;
    *count = n;
    return 0;
}

/* ---- line splitting ---- */

typedef struct lsplit {
    char *buf; /* a line begun in an earlier chunk */
    size_t len, cap;
} lsplit;

static int lsplit_hold(lsplit *s, const char *p, size_t n)
{
    if (s->len + n + 1 > s->cap) {
        size_t nc = s->cap ? s->cap : 4096;
        while (nc < s->len + n + 1)
            nc *= 2;
        char *nb = realloc(s->buf, nc);
        if (!nb)
            return -ENOMEM;
        s->buf = nb;
        s->cap = nc;
    }
    memcpy(s->buf + s->len, p, n);
    s->len += n;
    s->buf[s->len] = 0;
    return 0;
}

/* Passes the complete lines in p[0..n) (p is modified: "\n" becomes 0). */
static int lsplit_feed(lsplit *s, char *p, size_t n, elaine_logread_cb cb, void *ud)
{
    while (n > 0) {
        char *nl = memchr(p, '\n', n);
        if (!nl)
            return lsplit_hold(s, p, n);
        size_t k = (size_t)(nl - p);
        int rc;
        if (s->len) {
            if ((rc = lsplit_hold(s, p, k)) < 0)
                return rc;
            rc = cb(ud, s->buf, s->len);
            s->len = 0;
        } else {
            *nl = 0;
            rc = cb(ud, p, k);
        }
        if (rc)
            return rc;
        p += k + 1;
        n -= k + 1;
    }
    return 0;
}

/* The rest of a final file: a last line without "\n". */
static int lsplit_finish(lsplit *s, elaine_logread_cb cb, void *ud)
{
    if (!s->len)
        return 0;
    int rc = cb(ud, s->buf, s->len);
    s->len = 0;
    return rc;
}

/* ---- whole files ---- */

static int read_plain(int fd, elaine_logread_cb cb, void *ud)
{
    lsplit s = {0};
    char *buf = malloc(READ_CHUNK);
    int rc = 0;
    if (!buf)
        return -ENOMEM;
    for (;;) {
        ssize_t r = read(fd, buf, READ_CHUNK);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            rc = -errno;
            break;
        }
        if (r == 0)
            break;
        if ((rc = lsplit_feed(&s, buf, (size_t)r, cb, ud)))
            break;
    }
    free(buf);
    free(s.buf);
    return rc;
}

static int read_zst(int fd, elaine_logread_cb cb, void *ud)
{
    lsplit s = {0};
    size_t inmax = ZSTD_DStreamInSize(), outmax = ZSTD_DStreamOutSize();
    char *in = malloc(inmax), *out = malloc(outmax + 1);
    ZSTD_DCtx *dc = ZSTD_createDCtx();
    size_t last = 0; /* ZSTD_decompressStream's last hint: 0 when a frame is complete */
    int rc = 0, any = 0;
    if (!in || !out || !dc) {
        rc = -ENOMEM;
        goto out;
    }
    for (;;) {
        ssize_t r = read(fd, in, inmax);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            rc = -errno;
            goto out;
        }
        if (r == 0)
            break;
        any = 1;
        ZSTD_inBuffer ib = {in, (size_t)r, 0};
        while (ib.pos < ib.size) {
            ZSTD_outBuffer ob = {out, outmax, 0};
            last = ZSTD_decompressStream(dc, &ob, &ib);
            if (ZSTD_isError(last)) {
                rc = -EBADMSG;
                goto out;
            }
            if (ob.pos && (rc = lsplit_feed(&s, out, ob.pos, cb, ud)))
                goto out;
        }
    }
    /* Output still buffered inside the decoder after the input ran out. */
    while (any && last != 0) {
        ZSTD_inBuffer ib = {in, 0, 0};
        ZSTD_outBuffer ob = {out, outmax, 0};
        last = ZSTD_decompressStream(dc, &ob, &ib);
        if (ZSTD_isError(last)) {
            rc = -EBADMSG;
            goto out;
        }
        if (ob.pos == 0)
            break;
        if ((rc = lsplit_feed(&s, out, ob.pos, cb, ud)))
            goto out;
    }
    if ((rc = lsplit_finish(&s, cb, ud)))
        goto out;
    if (last != 0)
        rc = -EBADMSG; /* truncated frame */
out:
    ZSTD_freeDCtx(dc);
    free(in);
    free(out);
    free(s.buf);
    return rc;
}

int elaine_logread_file(const char *path, elaine_logread_cb cb, void *ud)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int rc = has_suffix(path, ".zst") ? read_zst(fd, cb, ud) : read_plain(fd, cb, ud);
    close(fd);
    return rc;
}

static char *join(const char *dir, const char *name)
{
    size_t a = strlen(dir), b = strlen(name);
    char *p = malloc(a + b + 2);
    if (!p)
        return NULL;
    memcpy(p, dir, a);
    p[a] = '/';
    memcpy(p + a + 1, name, b + 1);
    return p;
}

/* A rotated file; an uncompressed one may have been compressed and removed since the listing. */
static int read_rotated(const char *dir, const char *name, elaine_logread_cb cb, void *ud)
{
    char *path = join(dir, name);
    if (!path)
        return -ENOMEM;
    int rc = elaine_logread_file(path, cb, ud);
    if (rc == -ENOENT && has_suffix(name, ".jsonl")) {
        char *z = malloc(strlen(path) + 5);
        if (!z) {
            free(path);
            return -ENOMEM;
        }
        strcpy(z, path);
        strcat(z, ".zst");
        rc = elaine_logread_file(z, cb, ud);
        free(z);
    }
    free(path);
    return rc;
}

int elaine_logread_each(const char *dir, elaine_logread_cb cb, void *ud)
{
    char **names = NULL;
    size_t n = 0;
    int rc = elaine_logread_list(dir, &names, &n);
    if (rc)
        return rc;
    for (size_t i = 0; i < n && !rc; i++)
        rc = read_rotated(dir, names[i], cb, ud);
    elaine_logread_list_free(names, n);
    if (rc)
        return rc;
    char *path = join(dir, ACTIVE_NAME);
    if (!path)
        return -ENOMEM;
    rc = elaine_logread_file(path, cb, ud);
    free(path);
    return rc == -ENOENT ? 0 : rc;
}

/* ---- following ---- */

struct elaine_logfollow {
    char *dir;
    char *path;    /* dir/elaine.jsonl */
    int fd;        /* -1 until the file exists */
    dev_t dev;
    ino_t ino;
    off_t off;     /* bytes read from fd, the held partial line included */
    lsplit s;      /* partial last line */
    int ifd;       /* inotify, -1 if unavailable */
    int watching;  /* ifd watches dir */
    char *buf;
};

int elaine_logfollow_open(elaine_logfollow **out, const char *dir)
{
    elaine_logfollow *f = calloc(1, sizeof(*f));
    if (!f)
        return -ENOMEM;
    f->fd = -1;
    f->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    f->dir = strdup(dir);
    f->path = join(dir, ACTIVE_NAME);
    f->buf = malloc(READ_CHUNK);
    if (!f->dir || !f->path || !f->buf) {
        elaine_logfollow_close(f);
        return -ENOMEM;
    }
    *out = f;
    return 0;
}

void elaine_logfollow_close(elaine_logfollow *f)
{
    if (!f)
        return;
    if (f->fd >= 0)
        close(f->fd);
    if (f->ifd >= 0)
        close(f->ifd);
    free(f->s.buf);
    free(f->buf);
    free(f->path);
    free(f->dir);
    free(f);
}

static void watch_dir(elaine_logfollow *f)
{
    if (f->ifd >= 0 && !f->watching &&
        inotify_add_watch(f->ifd, f->dir, IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE) >= 0)
        f->watching = 1;
}

static int drain(elaine_logfollow *f, elaine_logread_cb cb, void *ud)
{
    for (;;) {
        ssize_t r = read(f->fd, f->buf, READ_CHUNK);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (r == 0)
            return 0;
        f->off += r;
        int rc = lsplit_feed(&f->s, f->buf, (size_t)r, cb, ud);
        if (rc)
            return rc;
    }
}

static void drop_fd(elaine_logfollow *f)
{
    close(f->fd);
    f->fd = -1;
    f->off = 0;
    f->s.len = 0;
}

int elaine_logfollow_read(elaine_logfollow *f, elaine_logread_cb cb, void *ud)
{
    int rc;
    watch_dir(f);
    for (int round = 0; round < 4; round++) {
        if (f->fd < 0) {
            f->fd = open(f->path, O_RDONLY | O_CLOEXEC);
            if (f->fd < 0)
                return errno == ENOENT ? 0 : -errno;
            struct stat st;
            if (fstat(f->fd, &st) < 0) {
                rc = -errno;
                drop_fd(f);
                return rc;
            }
            f->dev = st.st_dev;
            f->ino = st.st_ino;
        }
        struct stat fs;
        if (fstat(f->fd, &fs) < 0)
            return -errno;
        if (fs.st_size < f->off) {
            /* Shrank: the writer cut a half line, or someone truncated it. */
            off_t whole = f->off - (off_t)f->s.len;
            off_t to = fs.st_size >= whole ? whole : 0;
            if (lseek(f->fd, to, SEEK_SET) < 0)
                return -errno;
            f->off = to;
            f->s.len = 0;
        }
        if ((rc = drain(f, cb, ud)))
            return rc;
        struct stat ps;
        if (stat(f->path, &ps) == 0 && ps.st_dev == f->dev && ps.st_ino == f->ino)
            return 0;
        /* Renamed away (rotation) or removed: the writer is done with it, so
         * what it holds now is final. Read it out, then switch files. */
        if ((rc = drain(f, cb, ud)))
            return rc;
        drop_fd(f);
    }
    return 0;
}

int elaine_logfollow_wait(elaine_logfollow *f, int timeout_ms)
{
    watch_dir(f);
    if (!f->watching) {
        /* No inotify (or no dir yet): poll at a modest pace. */
        int ms = timeout_ms < 0 || timeout_ms > 250 ? 250 : timeout_ms;
        if (usleep((useconds_t)ms * 1000) < 0 && errno == EINTR)
            return -EINTR;
        return 0;
    }
    struct pollfd p = {.fd = f->ifd, .events = POLLIN};
    int r = poll(&p, 1, timeout_ms);
    if (r < 0)
        return errno == EINTR ? -EINTR : -errno;
    if (r > 0) {
        char ev[4096];
        while (read(f->ifd, ev, sizeof(ev)) > 0)
            ;
    }
    return 0;
}

int elaine_logread_follow(const char *dir, elaine_logread_cb cb, void *ud)
{
    elaine_logfollow *f;
    int rc = elaine_logfollow_open(&f, dir);
    if (rc)
        return rc;
    for (;;) {
        if ((rc = elaine_logfollow_read(f, cb, ud)))
            break;
        if ((rc = elaine_logfollow_wait(f, 1000)))
            break;
    }
    elaine_logfollow_close(f);
    return rc;
}
