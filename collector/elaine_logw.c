/* The log writer: whole JSON lines into elaine.jsonl, rotation to zstd files, retention. */
#include "elaine_logw.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>
#define ZSTD_STATIC_LINKING_ONLY /* ZSTD_c_stableInBuffer (zstd is linked statically) */
#include <zstd.h>

#include "elaine_logread.h"
#include "elaine_paths.h"

#define ACTIVE_NAME "elaine.jsonl"
#define PART_NAME ".elaine.jsonl.zst.part"
#define LOCK_NAME ".elaine.lock"
/* Level 1: the shadow compresses between records, and level 3's tables
 * (about 3.5 MiB of context) pushed the collector's own data out of the
 * caches: in captured wrk runs level 3 cost 5.3 us of collector CPU a
 * request against 4.7 at level 1, and 4.9 with no shadow (read-back at
 * rotation). Files come out about 10% larger on varied text, smaller on
 * the benchmark's alike records. The frame checksum stays (0.3-0.4 us a
 * request, for files that tell when they are damaged). */
#define ZSTD_LEVEL 1
/* The shadow is a run of frames, each ended once it holds SHADOW_FRAME
 * bytes of input (at the end of the write that got there), with a window of
 * that size. zstd reads a frame in place from the writer's line buffer
 * (ZSTD_c_stableInBuffer): no copy into a window buffer of its own, and no
 * wrap of one (a wrap makes it match against two segments, its slower
 * "extDict" path). Against one endless frame with the default 512 KiB
 * window (tests/bench/zstd_shadow on varied_log.py's records), frames of
 * 2 MiB took 10% less time for files 3% smaller (the same time and 2%
 * larger on the benchmark's alike records); reading in place takes 4-18%
 * less time again, and the copy it saves was 3.4% of the collector's
 * cycles under wrk (perf).
 * Readers (zstd, elaine) take the frames as one stream. */
#define SHADOW_WLOG 21
#define SHADOW_FRAME ((uint64_t)1 << SHADOW_WLOG)
/* A 128 KiB match table instead of level 1's 64 KiB: files 23% smaller and
 * 8% less time on varied records (zstd_shadow; the benchmark's alike
 * records compress the same, in the same instructions), and collector CPU
 * under wrk within the noise (medians of four alternating runs: 4.5 us a
 * request against 4.9, then 5.3 against 5.2 at a busier time). 256 KiB:
 * files 10% smaller again, 4% more time. */
#define ZSTD_HASHLOG 15

/* The parameters of every compression of the log. 0 or -1. */
static int zstd_params(ZSTD_CCtx *c, int window_log)
{
    return ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, ZSTD_LEVEL)) ||
                   (window_log && ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_windowLog, window_log))) ||
                   ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_hashLog, ZSTD_HASHLOG)) ||
                   ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1))
               ? -1
               : 0;
}

struct elaine_logw {
    elaine_logw_opts o; /* o.dir points to dir below */
    char *dir;
    char *path;         /* dir/elaine.jsonl */
    int fd;             /* -1 after a failed reopen; the next write retries */
    uint64_t size;      /* bytes of whole lines in the active file */
    time_t born;        /* first line (or creation) of the active file; 0 while empty */
    uint64_t errors;
    int in_rotate;      /* on_new_file may write: no nested rotation */
    uint64_t rotations; /* active files renamed away */
    int lockfd;         /* dir/.elaine.lock, flocked: one writer per folder */
    /* Blocks of the active file reserved ahead of its end, up to this
     * offset (fallocate, the size kept); prealloc_on: the filesystem is
     * one where that saves time (not tmpfs) and takes it. */
    uint64_t prealloc;
    int prealloc_on;
    /* The shadow: what write_iov appends to the active file goes through a
     * zstd stream into dir/.elaine.jsonl.zst.part as well, so that rotation
     * renames that instead of reading the file back. Valid only while it
     * has seen exactly the bytes of the active file since it was empty. */
    char *zpath;        /* dir/.elaine.jsonl.zst.part */
    ZSTD_CCtx *zc;      /* made once, reset between frames */
    char *zbuf;         /* ZSTD_CStreamOutSize() bytes of output */
    size_t zcap;
    int zfd;            /* the part file; -1 while the shadow is invalid */
    uint64_t zin;       /* bytes fed into the shadow since the active file was empty */
    uint64_t zout;      /* bytes in the part file */
    uint64_t zframe_out; /* of them, before the open frame */
    /* The lines (elaine_logw_lines): [done, len) gathered and not yet
     * written; [zstart, done) the shadow's open frame, which zstd reads
     * where it is. An append that grows the buffer moves it: the open frame
     * is then compressed again from its new place (zbase tells), so the
     * writer never reads memory that was given back. */
    elaine_buf lines;
    size_t done, zstart;
    int zopen;          /* a frame is open: [zstart, done) must stay */
    const char *zbase;  /* lines.p when zstd last read the open frame */
    ZSTD_inBuffer zib;  /* the open frame's input, as zstd left it */
};

/* Lines buffer kept for the next frame up to this capacity (a frame, a
 * batch of lines and room); a bigger one (a record of megabytes) is given
 * back once no frame reads it. */
#define LINES_KEEP ((size_t)8 << 20)

/* ---- small helpers ---- */

/* Disk blocks are reserved this far ahead of the active file's end. On
 * ext4 a write into reserved blocks skips the block allocator: the log's
 * file work (elaine_sink --log under wrk, 4 alternating pairs) took
 * 1.56-1.62 us a request against 1.62-1.74 without. tmpfs would only take
 * its memory early. */
#define PREALLOC_STEP ((uint64_t)4 << 20)

static int prealloc_worth(int fd)
{
    struct statfs f;
    return fstatfs(fd, &f) == 0 && f.f_type != TMPFS_MAGIC && f.f_type != RAMFS_MAGIC;
}

/* Reserves the active file's blocks past end (rounded up to the step,
 * but not past the size limit's next step). Best effort: a failure is
 * the write's to report, if it fails too. */
static void prealloc_ahead(elaine_logw *w, uint64_t end)
{
    if (!w->prealloc_on || end <= w->prealloc)
        return;
    uint64_t to = (end + PREALLOC_STEP - 1) / PREALLOC_STEP * PREALLOC_STEP;
    if (w->o.max_size && to > w->o.max_size + PREALLOC_STEP)
        to = end;
    if (fallocate(w->fd, FALLOC_FL_KEEP_SIZE, (off_t)w->prealloc, (off_t)(to - w->prealloc)) == 0)
        w->prealloc = to;
    else if (errno == EOPNOTSUPP || errno == ENOSYS)
        w->prealloc_on = 0;
}

/* Gives back the blocks reserved past the active file's end (before the
 * file is closed and stays); not when someone else wrote to it, whose
 * bytes the truncation would cut. */
static void prealloc_release(elaine_logw *w)
{
    struct stat st;
    if (w->fd >= 0 && w->prealloc > w->size && fstat(w->fd, &st) == 0 && (uint64_t)st.st_size == w->size &&
        ftruncate(w->fd, (off_t)w->size) == 0)
        w->prealloc = w->size;
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

static int has_suffix(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && memcmp(s + n - m, suf, m) == 0;
}

/* fsync of the directory itself (renames, creations, unlinks). 0 or -errno. */
static int sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int rc = fsync(fd) < 0 ? -errno : 0;
    close(fd);
    return rc;
}

/* fsync of dir/name (best effort). */
static void fsync_path(const char *dir, const char *name)
{
    char *p = join(dir, name);
    int fd = p ? open(p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW) : -1;
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    free(p);
}

/* Writes all of buf (loops on short writes). 0 or -errno. */
static int write_all(int fd, const void *buf, size_t n)
{
    const char *p = buf;
    while (n > 0) {
        ssize_t r = write(fd, p, n);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (r == 0)
            return -EIO;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

/* Size of fd after cutting a last line without "\n" (a crash mid-write). 0 or -errno. */
static int cut_partial(int fd, uint64_t *size)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return -errno;
    off_t end = st.st_size;
    char buf[4096];
    off_t pos = end;
    while (pos > 0) {
        size_t k = pos > (off_t)sizeof(buf) ? sizeof(buf) : (size_t)pos;
        ssize_t r = pread(fd, buf, k, pos - (off_t)k);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if ((size_t)r != k)
            return -EIO;
        char *nl = memrchr(buf, '\n', k);
        if (nl) {
            pos = pos - (off_t)k + (nl - buf) + 1;
            break;
        }
        pos -= (off_t)k;
    }
    if (pos != end && ftruncate(fd, pos) < 0)
        return -errno;
    *size = (uint64_t)pos;
    return 0;
}

/* When the file's life began: its birth time where the file system knows it, else its mtime. */
static time_t file_birth(int fd)
{
    struct statx sx;
    if (statx(fd, "", AT_EMPTY_PATH, STATX_BTIME | STATX_MTIME, &sx) == 0) {
        if (sx.stx_mask & STATX_BTIME)
            return (time_t)sx.stx_btime.tv_sec;
        return (time_t)sx.stx_mtime.tv_sec;
    }
    return time(NULL);
}

/* ---- the shadow ---- */

/* A compression context for the shadow. 0 or -1. */
static int shadow_cctx(elaine_logw *w)
{
    ZSTD_freeCCtx(w->zc);
    w->zc = ZSTD_createCCtx();
    if (w->zc && zstd_params(w->zc, SHADOW_WLOG) == 0 &&
        !ZSTD_isError(ZSTD_CCtx_setParameter(w->zc, ZSTD_c_stableInBuffer, 1)))
        return 0;
    ZSTD_freeCCtx(w->zc);
    w->zc = NULL;
    return -1;
}

/* Invalid from now on: the next rotation compresses the file by reading it back. */
static void shadow_drop(elaine_logw *w)
{
    w->zopen = 0;
    if (w->zfd >= 0) {
        close(w->zfd);
        w->zfd = -1;
        unlink(w->zpath);
        /* The context may be in the middle of a frame, and zstd 1.5.4's
         * session reset keeps the count of input it was shown but did not
         * take yet (read in place, ZSTD_c_stableInBuffer): the next frame
         * would fail. The next start makes a new one. */
        ZSTD_freeCCtx(w->zc);
        w->zc = NULL;
    }
}

/* A fresh frame for an active file that is empty now. On failure the shadow
 * stays invalid (nothing lost: rotation falls back to the read-back). */
static void shadow_start(elaine_logw *w)
{
    shadow_drop(w);
    if (!w->zbuf) {
        w->zcap = ZSTD_CStreamOutSize();
        if (!(w->zbuf = malloc(w->zcap)))
            return;
    }
    /* (a context whose last frame ended is reset; see shadow_drop) */
    if (!w->zc ? shadow_cctx(w) < 0 : ZSTD_isError(ZSTD_CCtx_reset(w->zc, ZSTD_reset_session_only))) {
        return;
    }
    /* A stale part file (a crash, a dropped shadow) goes; O_EXCL then makes sure the file is ours and new. */
    if (unlink(w->zpath) < 0 && errno != ENOENT)
        return;
    int fd = open(w->zpath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return;
    struct stat st;
    if (fstat(fd, &st) < 0 || st.st_uid != geteuid() ||
        ((st.st_mode & 0777) != 0600 && fchmod(fd, 0600) < 0)) {
        close(fd);
        unlink(w->zpath);
        return;
    }
    w->zfd = fd;
    w->zin = w->zout = w->zframe_out = 0;
}

/* zstd over ib (mode ZSTD_e_continue: all of it taken in; ZSTD_e_end: the
 * frame ended); what it puts out goes to the part file. 0 or -1. */
static int shadow_run(elaine_logw *w, ZSTD_inBuffer *ib, ZSTD_EndDirective mode)
{
    for (;;) {
        ZSTD_outBuffer ob = {w->zbuf, w->zcap, 0};
        size_t left = ZSTD_compressStream2(w->zc, &ob, ib, mode);
        if (ZSTD_isError(left))
            return -1;
        if (ob.pos && write_all(w->zfd, w->zbuf, ob.pos))
            return -1;
        w->zout += ob.pos;
        if (mode == ZSTD_e_end ? left == 0 : ib->pos == ib->size)
            return 0;
    }
}

/* The open frame's bytes moved with the line buffer (an append grew it):
 * zstd would read them at their old place, so the frame is cut off the
 * part file and made again from the new one. 0 or -1. */
static int shadow_rebase(elaine_logw *w)
{
    if (w->lines.p == w->zbase)
        return 0;
    /* (a new context: a reset would not do, see shadow_drop) */
    if (ftruncate(w->zfd, (off_t)w->zframe_out) < 0 || lseek(w->zfd, (off_t)w->zframe_out, SEEK_SET) < 0 ||
        shadow_cctx(w) < 0)
        return -1;
    w->zout = w->zframe_out;
    w->zbase = w->lines.p;
    w->zib = (ZSTD_inBuffer){w->lines.p + w->zstart, w->zib.size, 0};
    return shadow_run(w, &w->zib, ZSTD_e_continue);
}

/* Ends the open frame, if any. 0 or -1. */
static int shadow_end(elaine_logw *w)
{
    if (!w->zopen)
        return 0;
    w->zopen = 0;
    if (shadow_rebase(w) || shadow_run(w, &w->zib, ZSTD_e_end))
        return -1;
    w->zframe_out = w->zout;
    return 0;
}

/* The lines [done, upto) are now in the active file: the same into the
 * open frame (a new one begins at done), which ends once it holds
 * SHADOW_FRAME bytes. */
static void shadow_feed_lines(elaine_logw *w, size_t upto)
{
    if (w->zfd < 0)
        return;
    size_t n = upto - w->done;
    if (!w->zopen) {
        w->zopen = 1;
        w->zstart = w->done;
        w->zbase = w->lines.p;
        w->zib = (ZSTD_inBuffer){w->lines.p + w->zstart, 0, 0};
    } else if (shadow_rebase(w)) {
        shadow_drop(w);
        return;
    }
    w->zib.size += n;
    int end = w->zib.size >= SHADOW_FRAME;
    if (shadow_run(w, &w->zib, end ? ZSTD_e_end : ZSTD_e_continue)) {
        shadow_drop(w);
        return;
    }
    w->zin += n;
    if (end) {
        w->zopen = 0;
        w->zframe_out = w->zout;
    }
}

/* Bytes from elsewhere (elaine_logw_write), now in the active file: a
 * frame of their own after the open one ends (they are not next to it). */
static void shadow_feed_iov(elaine_logw *w, const struct iovec *v, int cnt, size_t total)
{
    if (w->zfd < 0)
        return;
    char *tmp = malloc(total ? total : 1);
    if (!tmp || shadow_end(w)) {
        free(tmp);
        shadow_drop(w);
        return;
    }
    for (size_t i = 0, at = 0; i < (size_t)cnt; at += v[i].iov_len, i++)
        memcpy(tmp + at, v[i].iov_base, v[i].iov_len);
    ZSTD_inBuffer ib = {tmp, total, 0};
    int rc = shadow_run(w, &ib, ZSTD_e_end);
    free(tmp);
    if (rc) {
        shadow_drop(w);
        return;
    }
    w->zin += total;
    w->zframe_out = w->zout;
}

/* Ends the frame of a shadow that saw all file_size bytes of the active
 * file, and makes the part file durable when do_sync: from then on it is a
 * complete copy of the file (rotation does this before it renames the
 * file, which then needs no fsync of its own). 0; -1 when the shadow cannot
 * stand in for the file (it is dropped). */
static int shadow_seal(elaine_logw *w, uint64_t file_size, int do_sync)
{
    if (w->zfd < 0)
        return -1;
    /* (the open frame ends; a file of no lines is one empty frame) */
    ZSTD_inBuffer none = {"", 0, 0};
    int ok = w->zin == file_size && shadow_end(w) == 0 &&
             (w->zin || shadow_run(w, &none, ZSTD_e_end) == 0) && !(do_sync && fsync(w->zfd) < 0);
    w->zframe_out = w->zout; /* a write after a rotation that failed later starts a new frame */
    if (!ok)
        shadow_drop(w);
    return ok ? 0 : -1;
}

/* Makes a sealed shadow dir/<plain>.zst, then removes dir/<plain>, the
 * renamed active file. 0; 1 when the shadow cannot stand in for it (then
 * dir/<plain> is untouched, the part file gone, and the caller compresses
 * by reading back); -errno when only the final unlink failed (the .zst is
 * complete, readers skip the .jsonl). */
static int shadow_finish(elaine_logw *w, const char *plain)
{
    if (w->zfd < 0)
        return 1;
    int fd = w->zfd;
    char *src = join(w->dir, plain);
    size_t n = src ? strlen(src) : 0;
    char *dst = src ? malloc(n + 5) : NULL;
    int ok = src && dst;
    w->zfd = -1;
    if (close(fd) < 0)
        ok = 0;
    if (ok) {
        snprintf(dst, n + 5, "%s.zst", src);
        ok = rename(w->zpath, dst) == 0;
    }
    int rc = 1;
    if (!ok)
        unlink(w->zpath);
    else
        rc = unlink(src) < 0 ? -errno : 0;
    free(src);
    free(dst);
    return rc;
}

static int open_active(elaine_logw *w)
{
    int fd = open(w->path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return -errno;
    struct stat st; /* made by somebody else, or readable by others: not for our records */
    if (fstat(fd, &st) < 0 || st.st_uid != geteuid() || ((st.st_mode & 077) && fchmod(fd, 0600) < 0)) {
        close(fd);
        return -EPERM;
    }
    uint64_t size = 0;
    int rc = cut_partial(fd, &size);
    if (rc) {
        close(fd);
        return rc;
    }
    w->fd = fd;
    w->size = size;
    w->prealloc = size;
    w->prealloc_on = prealloc_worth(fd);
    w->born = size ? file_birth(fd) : 0;
    /* Only a file that starts empty is known byte for byte to the shadow. */
    if (size == 0)
        shadow_start(w);
    else
        shadow_drop(w);
    return 0;
}

/* Takes dir/.elaine.lock (made 0600 if missing): two collectors on one
 * folder would rename, compress and delete each other's active file.
 * The fd, -EBUSY when another writer holds it, or -errno. */
static int lock_dir(const char *dir)
{
    char *p = join(dir, LOCK_NAME);
    if (!p)
        return -ENOMEM;
    int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    int rc = fd < 0 ? -errno : 0;
    free(p);
    if (rc)
        return rc;
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        rc = errno == EWOULDBLOCK ? -EBUSY : -errno;
        close(fd);
        return rc;
    }
    return fd;
}

/* ---- compression ---- */

/* Compresses src into dst (created 0600, fsynced when do_sync). 0 or -errno. */
static int compress_file(const char *src, const char *dst, int do_sync)
{
    int in = -1, out = -1, rc = 0;
    size_t inmax = ZSTD_CStreamInSize(), outmax = ZSTD_CStreamOutSize();
    char *ibuf = malloc(inmax), *obuf = malloc(outmax);
    ZSTD_CCtx *cc = ZSTD_createCCtx();
    if (!ibuf || !obuf || !cc) {
        rc = -ENOMEM;
        goto out;
    }
    if (zstd_params(cc, 0) < 0) {
        rc = -EINVAL;
        goto out;
    }
    if ((in = open(src, O_RDONLY | O_CLOEXEC)) < 0 ||
        (out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0) {
        rc = -errno;
        goto out;
    }
    for (int done = 0; !done;) {
        ssize_t r = read(in, ibuf, inmax);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            rc = -errno;
            goto out;
        }
        ZSTD_EndDirective mode = r == 0 ? ZSTD_e_end : ZSTD_e_continue;
        ZSTD_inBuffer ib = {ibuf, (size_t)r, 0};
        for (;;) {
            ZSTD_outBuffer ob = {obuf, outmax, 0};
            size_t left = ZSTD_compressStream2(cc, &ob, &ib, mode);
            if (ZSTD_isError(left)) {
                rc = -EIO;
                goto out;
            }
            if ((rc = write_all(out, obuf, ob.pos)))
                goto out;
            if (mode == ZSTD_e_end ? left == 0 : ib.pos == ib.size)
                break;
        }
        done = r == 0;
    }
    if (do_sync && fsync(out) < 0)
        rc = -errno;
out:
    if (out >= 0 && close(out) < 0 && !rc)
        rc = -errno;
    if (in >= 0)
        close(in);
    ZSTD_freeCCtx(cc);
    free(ibuf);
    free(obuf);
    return rc;
}

/* dir/<name>.jsonl -> dir/<name>.jsonl.zst through <name>.jsonl.zst.tmp, then
 * removes the uncompressed file. 0 or -errno (the .jsonl stays on failure). */
static int compress_rotated(const char *dir, const char *plain, int do_sync)
{
    char *src = join(dir, plain);
    size_t n = src ? strlen(src) : 0;
    char *dst = src ? malloc(n + 5) : NULL, *tmp = src ? malloc(n + 9) : NULL;
    int rc = 0;
    if (!src || !dst || !tmp) {
        rc = -ENOMEM;
        goto out;
    }
    snprintf(dst, n + 5, "%s.zst", src);
    snprintf(tmp, n + 9, "%s.zst.tmp", src);
    if ((rc = compress_file(src, tmp, do_sync))) {
        unlink(tmp);
        goto out;
    }
    if (rename(tmp, dst) < 0) {
        rc = -errno;
        unlink(tmp);
        goto out;
    }
    if (unlink(src) < 0)
        rc = -errno;
out:
    free(src);
    free(dst);
    free(tmp);
    return rc;
}

/* Finishes what a crash interrupted: compresses leftover elaine-*.jsonl, removes
 * *.zst.tmp (a stale .elaine.jsonl.zst.part went before open_active). */
static void recover(elaine_logw *w)
{
    char **names = NULL;
    size_t n = 0;
    DIR *d = opendir(w->dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)))
            if (strncmp(e->d_name, "elaine-", 7) == 0 && has_suffix(e->d_name, ".jsonl.zst.tmp")) {
                char *p = join(w->dir, e->d_name);
                if (p)
                    unlink(p);
                free(p);
            }
        closedir(d);
    }
    if (elaine_logread_list(w->dir, &names, &n) < 0)
        return;
    for (size_t i = 0; i < n; i++)
        if (has_suffix(names[i], ".jsonl") &&
            compress_rotated(w->dir, names[i], w->o.fsync_mode != ELAINE_FSYNC_NEVER) < 0)
            w->errors++;
    elaine_logread_list_free(names, n);
}

/* ---- rotation ---- */

/* A free stem elaine-YYYYmmddTHHMMSS.ffffffZ[-N] (neither .jsonl nor .jsonl.zst exists). */
static int pick_name(elaine_logw *w, char *stem, size_t size)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    char base[64];
    snprintf(base, sizeof(base), "elaine-%04d%02d%02dT%02d%02d%02d.%06ldZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000);
    for (int i = 0; i < 100000; i++) {
        if (i == 0)
            snprintf(stem, size, "%s", base);
        else
            snprintf(stem, size, "%s-%d", base, i);
        char name[128];
        struct stat st;
        snprintf(name, sizeof(name), "%s.jsonl", stem);
        char *p1 = join(w->dir, name);
        snprintf(name, sizeof(name), "%s.jsonl.zst", stem);
        char *p2 = join(w->dir, name);
        if (!p1 || !p2) {
            free(p1);
            free(p2);
            return -ENOMEM;
        }
        int taken = lstat(p1, &st) == 0 || lstat(p2, &st) == 0;
        free(p1);
        free(p2);
        if (!taken)
            return 0;
    }
    return -EEXIST;
}

/* Removes the oldest rotated .zst files beyond keep (keep <= 0: none removed). */
static int retain(elaine_logw *w)
{
    if (w->o.keep <= 0)
        return 0;
    char **names = NULL;
    size_t n = 0, zst = 0;
    int rc = elaine_logread_list(w->dir, &names, &n);
    if (rc)
        return rc;
    for (size_t i = 0; i < n; i++)
        zst += has_suffix(names[i], ".zst");
    for (size_t i = 0; i < n && zst > (size_t)w->o.keep; i++) {
        if (!has_suffix(names[i], ".zst"))
            continue;
        char *p = join(w->dir, names[i]);
        if (!p) {
            rc = -ENOMEM;
            break;
        }
        if (unlink(p) < 0 && errno != ENOENT && !rc)
            rc = -errno;
        free(p);
        zst--;
    }
    elaine_logread_list_free(names, n);
    return rc;
}

/* A fresh active file is open: the caller's on_new_file (which may write,
 * but not rotate again). */
static void new_file(elaine_logw *w)
{
    if (!w->o.on_new_file || w->in_rotate)
        return;
    w->in_rotate = 1;
    w->o.on_new_file(w->o.ud);
    w->in_rotate = 0;
}

/* The active file was removed from outside (its name no longer leads to it,
 * or it has no name at all): what was written since is gone with it. */
static int active_gone(elaine_logw *w)
{
    struct stat st, at;
    if (w->fd < 0 || fstat(w->fd, &st) < 0)
        return 0;
    if (st.st_nlink == 0)
        return 1;
    return lstat(w->path, &at) < 0 && errno == ENOENT;
}

/* A new active file (and its folder, if that went too) after active_gone:
 * otherwise every write would go to a file nobody can read, and every
 * rotation would fail on it. 0 or -errno. */
static int start_over(elaine_logw *w)
{
    shadow_drop(w);
    prealloc_release(w); /* (a file moved away stays: without our reserve) */
    close(w->fd);
    w->fd = -1;
    int rc = elaine_mkdirs(w->dir, 0700);
    /* (the lock file, if it went too: a new one, so that a collector
     * started now finds the folder taken) */
    char *lp = join(w->dir, LOCK_NAME);
    struct stat st;
    if (!rc && lp && lstat(lp, &st) < 0 && errno == ENOENT) {
        int fd = lock_dir(w->dir);
        if (fd >= 0) {
            close(w->lockfd);
            w->lockfd = fd;
        }
    }
    free(lp);
    if (!rc)
        rc = open_active(w);
    if (rc)
        w->errors++;
    if (!rc)
        new_file(w);
    return rc;
}

int elaine_logw_rotate(elaine_logw *w)
{
    if (w->fd < 0 || w->size == 0 || w->in_rotate)
        return 0;
    int do_sync = w->o.fsync_mode != ELAINE_FSYNC_NEVER, rc;
    char stem[96], plain[128];
    if ((rc = pick_name(w, stem, sizeof(stem))))
        goto fail;
    /* What the shadow saw must be the file as it is (nobody else appended or truncated). */
    struct stat st;
    uint64_t on_disk = fstat(w->fd, &st) == 0 ? (uint64_t)st.st_size : UINT64_MAX;
    if (on_disk != w->size)
        shadow_drop(w);
    /* "Durable at rotation": the sealed shadow is (its fsync), so the file
     * itself is not written out to disk only to be deleted a moment later
     * (64 MiB per rotation, 24-40 ms of the collector's time on this
     * machine's disk at benchmark rates). Without a shadow the file is
     * fsynced: it is what the read-back compresses, and what stays when
     * that fails. */
    if (shadow_seal(w, on_disk, do_sync) < 0 && do_sync && fsync(w->fd) < 0) {
        rc = -errno;
        goto fail;
    }
    snprintf(plain, sizeof(plain), "%s.jsonl", stem);
    char *dst = join(w->dir, plain);
    if (!dst) {
        rc = -ENOMEM;
        goto fail;
    }
    if (rename(w->path, dst) < 0) {
        rc = -errno;
        free(dst);
        if (rc == -ENOENT && active_gone(w))
            return start_over(w);
        goto fail;
    }
    free(dst);
    w->rotations++;
    close(w->fd);
    w->fd = -1;
    /* The shadow becomes the .zst (no read-back); it must end before the fresh file starts its own. */
    int crc = shadow_finish(w, plain);
    /* A fresh active file first, so that writing goes on even if compressing fails. */
    int orc = open_active(w);
    if (crc > 0 && (crc = compress_rotated(w->dir, plain, do_sync)) < 0 && do_sync)
        fsync_path(w->dir, plain); /* it stays as the rotated file: durable as the .zst would be */
    int rrc = retain(w);
    if (do_sync)
        sync_dir(w->dir);
    rc = orc ? orc : crc ? crc : rrc;
    if (orc || crc || rrc)
        w->errors++;
    if (!orc)
        new_file(w);
    return rc;
fail:
    w->errors++;
    return rc;
}

/* ---- API ---- */

int elaine_logw_open(elaine_logw **out, const elaine_logw_opts *o)
{
    if (!o || !o->dir || !*o->dir)
        return -EINVAL;
    int rc = elaine_mkdirs(o->dir, 0700);
    if (rc)
        return rc;
    if ((rc = elaine_private_dir(o->dir, 0)) < 0)
        return rc;
    elaine_logw *w = calloc(1, sizeof(*w));
    if (!w)
        return -ENOMEM;
    w->fd = -1;
    w->zfd = -1;
    w->o = *o;
    w->dir = strdup(o->dir);
    w->path = w->dir ? join(w->dir, ACTIVE_NAME) : NULL;
    w->zpath = w->dir ? join(w->dir, PART_NAME) : NULL;
    if (!w->dir || !w->path || !w->zpath) {
        rc = -ENOMEM;
        goto fail;
    }
    w->o.dir = w->dir;
    if ((w->lockfd = lock_dir(w->dir)) < 0) {
        rc = w->lockfd;
        goto fail;
    }
    /* A shadow left by a crash is of no use (its frame cannot be continued);
     * recover() below does the rest, after open_active may have begun a new one. */
    unlink(w->zpath);
    if ((rc = open_active(w)))
        goto fail;
    recover(w);
    *out = w;
    return 0;
fail:
    if (w->lockfd > 0)
        close(w->lockfd);
    free(w->zpath);
    free(w->path);
    free(w->dir);
    free(w);
    return rc;
}

/* Bytes now (all of them) in the active file: the same into the shadow. */
static void shadow_feed(elaine_logw *w, const struct iovec *iov, int cnt, size_t total, int from_lines)
{
    if (from_lines) {
        shadow_feed_lines(w, w->done + total);
        w->done += total;
    } else {
        shadow_feed_iov(w, iov, cnt, total);
    }
}

/* Writes total bytes of whole lines (iov) at the end of the active file:
 * rotation first when the size limit requires, one writev continued when
 * short, cut back to the last whole line on error. from_lines: iov is the
 * line buffer's [done, done + total), and done moves past what is written. */
static int write_iov(elaine_logw *w, const struct iovec *iov, int cnt, size_t total, int from_lines)
{
    struct iovec vbuf[2], *v = vbuf; /* (cnt <= 2) advanced over what is written; iov stays for the shadow */
    const int n_iov = cnt;
    memcpy(vbuf, iov, (size_t)cnt * sizeof(*iov));
    int rc;
    if (w->fd < 0 && (rc = open_active(w)) < 0) {
        w->errors++;
        return rc;
    }
    if (w->o.max_size && w->size > 0 && w->size + total > w->o.max_size)
        elaine_logw_rotate(w); /* counted in errors; the lines go to the active file anyway */
    if (w->fd < 0) {
        w->errors++;
        return -EIO;
    }
    prealloc_ahead(w, w->size + total);
    rc = 0;
    while (cnt > 0) {
        ssize_t r = writev(w->fd, v, cnt);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            rc = -errno;
            break;
        }
        if (r == 0) {
            rc = -EIO;
            break;
        }
        size_t k = (size_t)r;
        while (cnt > 0 && k >= v->iov_len) {
            k -= v->iov_len;
            v++;
            cnt--;
        }
        if (cnt > 0) {
            v->iov_base = (char *)v->iov_base + k;
            v->iov_len -= k;
        }
    }
    if (rc == 0 && w->o.fsync_mode == ELAINE_FSYNC_ALWAYS && fdatasync(w->fd) < 0)
        rc = -errno;
    if (rc) {
        w->errors++;
        if (cnt == 0) {
            /* Only fdatasync failed: the lines are in the file, their durability in doubt. */
            shadow_feed(w, iov, n_iov, total, from_lines);
            w->size += total;
            if (!w->born)
                w->born = time(NULL);
            return rc;
        }
        /* Back to the last whole line; if even that fails, the next write
         * reopens the file, which cuts the half line. The shadow does not
         * vouch for a file that was cut. */
        shadow_drop(w);
        if (ftruncate(w->fd, (off_t)w->size) < 0) {
            close(w->fd);
            w->fd = -1;
        }
        w->prealloc = w->size; /* (the truncation gave back what was reserved) */
        return rc;
    }
    shadow_feed(w, iov, n_iov, total, from_lines);
    w->size += total;
    if (!w->born)
        w->born = time(NULL);
    return 0;
}

int elaine_logw_write(elaine_logw *w, const char *line, size_t n)
{
    if (memchr(line, '\n', n))
        return -EINVAL; /* it would split the record */
    /* (not for a line inside the buffer itself: an append may move it) */
    uintptr_t lp = (uintptr_t)line, bp = (uintptr_t)w->lines.p;
    if (w->lines.len == w->done && !w->lines.oom && !(bp && lp >= bp && lp < bp + w->lines.cap)) {
        /* through the line buffer: the shadow's frame goes on */
        elaine_buf *b = &w->lines;
        char *d = elaine_buf_reserve(b, n + 1);
        if (d) {
            memcpy(d, line, n);
            d[n] = '\n';
            elaine_buf_commit(b, n + 1);
        }
        return elaine_logw_flush(w);
    }
    /* Lines are pending (this is a rotation's on_new_file, in the middle of
     * their write): before them, in a frame of its own. */
    struct iovec iov[2] = {{(void *)line, n}, {(void *)"\n", 1}};
    return write_iov(w, iov, 2, n + 1, 0);
}

elaine_buf *elaine_logw_lines(elaine_logw *w)
{
    return &w->lines;
}

size_t elaine_logw_pending(const elaine_logw *w)
{
    return w->lines.len - w->done;
}

int elaine_logw_flush(elaine_logw *w)
{
    elaine_buf *b = &w->lines;
    int rc = 0;
    if (b->oom) {
        rc = -ENOMEM; /* the failed append kept the buffer: the open frame can still end */
        if (shadow_end(w))
            shadow_drop(w);
    } else if (b->len > w->done) {
        if (b->p[b->len - 1] != '\n')
            rc = -EINVAL;
        else {
            struct iovec iov[1] = {{b->p + w->done, b->len - w->done}};
            rc = write_iov(w, iov, 1, iov[0].iov_len, 1);
        }
    }
    /* what was not written goes */
    b->len = w->done;
    if (b->p)
        b->p[b->len] = 0;
    if (!w->zopen) { /* nothing reads the lines any more: start over at the buffer's start */
        if (b->oom || b->cap > LINES_KEEP)
            elaine_buf_free(b);
        else
            elaine_buf_reset(b);
        w->done = w->zstart = 0;
    }
    return rc;
}

int elaine_logw_write_lines(elaine_logw *w, const char *text, size_t n)
{
    if (n == 0)
        return 0;
    if (text[n - 1] != '\n')
        return -EINVAL;
    elaine_buf_add(&w->lines, text, n);
    return elaine_logw_flush(w);
}

int elaine_logw_tick(elaine_logw *w, time_t now)
{
    if (active_gone(w)) {
        start_over(w);
        return 1;
    }
    if (!w->o.max_age_s || w->size == 0 || !w->born || now < w->born)
        return 0;
    if ((uint64_t)(now - w->born) < w->o.max_age_s)
        return 0;
    uint64_t before = w->rotations;
    elaine_logw_rotate(w);
    return w->rotations != before;
}

int elaine_logw_reopen(elaine_logw *w)
{
    if (w->fd >= 0) {
        prealloc_release(w);
        if (w->o.fsync_mode != ELAINE_FSYNC_NEVER)
            fsync(w->fd);
        close(w->fd);
        w->fd = -1;
    }
    int rc = open_active(w);
    if (rc)
        w->errors++;
    return rc;
}

void elaine_logw_close(elaine_logw *w)
{
    if (!w)
        return;
    if (w->fd >= 0) {
        prealloc_release(w);
        if (w->o.fsync_mode != ELAINE_FSYNC_NEVER)
            fsync(w->fd);
        close(w->fd);
    }
    shadow_drop(w); /* the next open finds the file non-empty and reads it back at rotation */
    close(w->lockfd);
    elaine_buf_free(&w->lines);
    ZSTD_freeCCtx(w->zc);
    free(w->zbuf);
    free(w->zpath);
    free(w->path);
    free(w->dir);
    free(w);
}

uint64_t elaine_logw_errors(const elaine_logw *w)
{
    return w->errors;
}
