/* Tests for the log writer: whole lines, size and age rotation to .zst, retention, modes, write
 * failures, and the shadow compression (the .zst streamed while writing, no read-back). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#include "check.h"
#include "elaine_logread.h"
#include "elaine_logw.h"
#include "tmpdir.h"

static char root[64];

/* The writer's fsync calls, by the path of the file (this definition takes
 * the place of libc's for the code linked into this test). */
#define FSYNC_LOG 64
static char fsynced[FSYNC_LOG][512];
static int nfsynced;

int fsync(int fd)
{
    char link[64], path[512];
    snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, path, sizeof(path) - 1);
    if (n >= 0 && nfsynced < FSYNC_LOG) {
        path[n] = 0;
        memcpy(fsynced[nfsynced++], path, (size_t)n + 1);
    }
    return (int)syscall(SYS_fsync, fd);
}

/* How many of the fsyncs since the log was cleared were of a file whose
 * path ends in suffix. */
static int fsyncs_of(const char *suffix)
{
    int k = 0;
    size_t m = strlen(suffix);
    for (int i = 0; i < nfsynced; i++) {
        size_t n = strlen(fsynced[i]);
        k += n >= m && strcmp(fsynced[i] + n - m, suffix) == 0;
    }
    return k;
}

static char *mkdir_case(const char *name)
{
    static char p[256];
    snprintf(p, sizeof(p), "%s/%s/logs", root, name); /* two levels: elaine_mkdirs makes both */
    return p;
}

/* Whole file into a malloc'd NUL-terminated buffer; NULL if unreadable. */
static char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *b = NULL;
    size_t len = 0, cap = 0, r;
    char tmp[4096];
    while ((r = fread(tmp, 1, sizeof(tmp), f)) > 0) {
        if (len + r + 1 > cap) {
            cap = (len + r + 1) * 2;
            b = realloc(b, cap);
        }
        memcpy(b + len, tmp, r);
        len += r;
    }
    fclose(f);
    if (!b)
        b = calloc(1, 1);
    b[len] = 0;
    if (n)
        *n = len;
    return b;
}

static void spit(const char *path, const char *s)
{
    FILE *f = fopen(path, "wb");
    fputs(s, f);
    fclose(f);
}

/* Collected lines, joined with "\n" after each. */
typedef struct acc {
    char buf[1 << 20];
    size_t len;
    int lines;
} acc;

static int acc_cb(void *ud, const char *line, size_t n)
{
    acc *a = ud;
    if (a->len + n + 1 < sizeof(a->buf)) {
        memcpy(a->buf + a->len, line, n);
        a->len += n;
        a->buf[a->len++] = '\n';
        a->buf[a->len] = 0;
    }
    a->lines++;
    return 0;
}

static int count_suffix(const char *dir, const char *suffix, int *bad_mode)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        size_t l = strlen(e->d_name), m = strlen(suffix);
        if (l < m || strcmp(e->d_name + l - m, suffix))
            continue;
        n++;
        char p[1024];
        struct stat st;
        snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
        if (bad_mode && (stat(p, &st) < 0 || (st.st_mode & 0777) != 0600))
            (*bad_mode)++;
    }
    if (d)
        closedir(d);
    return n;
}

static int has_zst_suffix(const char *n)
{
    size_t l = strlen(n);
    return l > 4 && strcmp(n + l - 4, ".zst") == 0;
}

/* A rotated name: elaine-YYYYmmddTHHMMSS.ffffffZ[-N].jsonl.zst */
static int name_ok(const char *n)
{
    if (strncmp(n, "elaine-", 7))
        return 0;
    const char *p = n + 7;
    for (int i = 0; i < 22; i++) {
        char c = p[i];
        int ok = i == 8 ? c == 'T' : i == 15 ? c == '.' : c >= '0' && c <= '9';
        if (!ok)
            return 0;
    }
    p += 22;
    if (*p++ != 'Z')
        return 0;
    if (*p == '-') {
        p++;
        if (*p < '1' || *p > '9')
            return 0;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    return strcmp(p, ".jsonl.zst") == 0;
}

static void test_size_rotation(void)
{
    const char *dir = mkdir_case("size");
    elaine_logw_opts o = {.dir = dir, .max_size = 300, .keep = 1000, .fsync_mode = ELAINE_FSYNC_ROTATE};
    elaine_logw *w = NULL;
    CHECK(elaine_logw_open(&w, &o) == 0);
    if (!w)
        return;
    static char expect[1 << 16];
    size_t elen = 0;
    for (int i = 0; i < 60; i++) {
        char line[128];
        int n = snprintf(line, sizeof(line), "{\"type\":\"exchange\",\"id\":\"line-%03d\"}", i);
        CHECK(elaine_logw_write(w, line, (size_t)n) == 0);
        memcpy(expect + elen, line, (size_t)n);
        elen += (size_t)n;
        expect[elen++] = '\n';
    }
    expect[elen] = 0;
    CHECK(elaine_logw_errors(w) == 0);
    elaine_logw_close(w);

    struct stat st;
    char p[512];
    CHECK(stat(dir, &st) == 0 && (st.st_mode & 0777) == 0700);
    snprintf(p, sizeof(p), "%s/..", dir);
    CHECK(stat(p, &st) == 0 && (st.st_mode & 0777) == 0700);
    snprintf(p, sizeof(p), "%s/elaine.jsonl", dir);
    CHECK(stat(p, &st) == 0 && (st.st_mode & 0777) == 0600 && st.st_size > 0 && st.st_size <= 300);

    int bad = 0;
    int nzst = count_suffix(dir, ".jsonl.zst", &bad);
    CHECK(nzst >= 7); /* 60 lines of 37 bytes, 8 a file */
    CHECK(bad == 0);
    CHECK(count_suffix(dir, ".tmp", NULL) == 0);
    CHECK(count_suffix(dir, "Z.jsonl", NULL) == 0); /* no uncompressed leftovers */

    /* Names: the right shape, sorted by time (the listing order), each at most max_size once decompressed. */
    char **names = NULL;
    size_t n = 0;
    CHECK(elaine_logread_list(dir, &names, &n) == 0);
    CHECK((int)n == nzst);
    for (size_t i = 0; i < n; i++) {
        CHECK(name_ok(names[i]));
        if (i)
            CHECK(strcmp(names[i - 1], names[i]) < 0);
        acc *a = calloc(1, sizeof(*a));
        snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
        CHECK(elaine_logread_file(p, acc_cb, a) == 0);
        CHECK(a->len > 0 && a->len <= 300);
        free(a);
    }
    elaine_logread_list_free(names, n);

    /* Rotated files then the active one hold exactly the lines written, in order. */
    acc *a = calloc(1, sizeof(*a));
    CHECK(elaine_logread_each(dir, acc_cb, a) == 0);
    CHECK(a->lines == 60);
    CHECK(a->len == elen && memcmp(a->buf, expect, elen) == 0);
    free(a);
}

static void test_retention(void)
{
    const char *dir = mkdir_case("keep");
    elaine_logw_opts o = {.dir = dir, .max_size = 100, .keep = 3, .fsync_mode = ELAINE_FSYNC_NEVER};
    elaine_logw *w = NULL;
    CHECK(elaine_logw_open(&w, &o) == 0);
    if (!w)
        return;
    for (int i = 0; i < 40; i++) {
        char line[64];
        int n = snprintf(line, sizeof(line), "{\"n\":%d,\"pad\":\"xxxxxxxxxxxxxxxxxxxxxxxx\"}", i);
        CHECK(elaine_logw_write(w, line, (size_t)n) == 0);
    }
    elaine_logw_close(w);
    CHECK(count_suffix(dir, ".jsonl.zst", NULL) == 3);
    /* The kept ones are the newest: the lines read back end with n=39 and are consecutive. */
    acc *a = calloc(1, sizeof(*a));
    CHECK(elaine_logread_each(dir, acc_cb, a) == 0);
    CHECK(a->lines >= 4 && a->lines < 40);
    char want[128];
    int first = 40 - a->lines;
    snprintf(want, sizeof(want), "{\"n\":%d,", first);
    CHECK(strncmp(a->buf, want, strlen(want)) == 0);
    CHECK(strstr(a->buf, "{\"n\":39,") != NULL);
    free(a);
}

static void test_partial_cut(void)
{
    const char *dir = mkdir_case("partial");
    char p[512];
    CHECK(elaine_logw_open(&(elaine_logw *){0}, &(elaine_logw_opts){.dir = "/proc/nonexistent/x"}) < 0);
    elaine_logw *w = NULL;
    elaine_logw_opts o = {.dir = dir, .keep = 5, .fsync_mode = ELAINE_FSYNC_ALWAYS};
    CHECK(elaine_logw_open(&w, &o) == 0); /* creates the dir */
    elaine_logw_close(w);
    snprintf(p, sizeof(p), "%s/elaine.jsonl", dir);
    spit(p, "{\"a\":1}\n{\"b\":2}\n{\"c\":3, \"half");
    CHECK(elaine_logw_open(&w, &o) == 0);
    char *s = slurp(p, NULL);
    CHECK(s && strcmp(s, "{\"a\":1}\n{\"b\":2}\n") == 0);
    free(s);
    CHECK(elaine_logw_write(w, "{\"d\":4}", 7) == 0);
    CHECK(elaine_logw_write(w, "x\ny", 3) == -EINVAL); /* would be two lines */
    s = slurp(p, NULL);
    CHECK(s && strcmp(s, "{\"a\":1}\n{\"b\":2}\n{\"d\":4}\n") == 0);
    free(s);
    elaine_logw_close(w);

    /* No "\n" at all: nothing whole, cut to empty. */
    spit(p, "{\"half\":");
    CHECK(elaine_logw_open(&w, &o) == 0);
    struct stat st;
    CHECK(stat(p, &st) == 0 && st.st_size == 0);
    /* Empty file: rotating is a no-op. */
    CHECK(elaine_logw_rotate(w) == 0);
    CHECK(count_suffix(dir, ".jsonl.zst", NULL) == 0);
    elaine_logw_close(w);
}

typedef struct newfile {
    elaine_logw *w;
    int calls;
} newfile;

static void on_new(void *ud)
{
    newfile *nf = ud;
    nf->calls++;
    const char *l = "{\"type\":\"collector\"}";
    CHECK(elaine_logw_write(nf->w, l, strlen(l)) == 0);
}

static void test_on_new_file_and_age(void)
{
    const char *dir = mkdir_case("age");
    newfile nf = {0};
    elaine_logw_opts o = {.dir = dir, .max_age_s = 60, .keep = 10, .fsync_mode = ELAINE_FSYNC_ROTATE,
                          .on_new_file = on_new, .ud = &nf};
    CHECK(elaine_logw_open(&nf.w, &o) == 0);
    if (!nf.w)
        return;
    elaine_logw *w = nf.w;
    time_t now = time(NULL);
    CHECK(elaine_logw_tick(w, now + 3600) == 0); /* empty: nothing to rotate */
    CHECK(elaine_logw_write(w, "{\"x\":1}", 7) == 0);
    CHECK(elaine_logw_tick(w, now) == 0);
    CHECK(elaine_logw_tick(w, now + 30) == 0);
    CHECK(elaine_logw_tick(w, now + 61) == 1);
    CHECK(nf.calls == 1);
    CHECK(count_suffix(dir, ".jsonl.zst", NULL) == 1);
    char p[512];
    snprintf(p, sizeof(p), "%s/elaine.jsonl", dir);
    char *s = slurp(p, NULL);
    CHECK(s && strcmp(s, "{\"type\":\"collector\"}\n") == 0);
    free(s);
    /* The fresh file's age counts from its first line (written just now). */
    CHECK(elaine_logw_tick(w, time(NULL) + 30) == 0);
    CHECK(elaine_logw_tick(w, time(NULL) + 61) == 1);
    CHECK(nf.calls == 2);
    CHECK(count_suffix(dir, ".jsonl.zst", NULL) == 2);

    /* Explicit rotate; the on_new_file line goes into the fresh file. */
    CHECK(elaine_logw_write(w, "{\"y\":2}", 7) == 0);
    CHECK(elaine_logw_rotate(w) == 0);
    CHECK(nf.calls == 3);
    elaine_logw_close(w);

    acc *a = calloc(1, sizeof(*a));
    CHECK(elaine_logread_each(dir, acc_cb, a) == 0);
    CHECK(strcmp(a->buf, "{\"x\":1}\n{\"type\":\"collector\"}\n{\"type\":\"collector\"}\n{\"y\":2}\n"
                         "{\"type\":\"collector\"}\n") == 0);
    free(a);
}

static void test_reopen(void)
{
    const char *dir = mkdir_case("reopen");
    elaine_logw_opts o = {.dir = dir, .keep = 10, .fsync_mode = ELAINE_FSYNC_NEVER};
    elaine_logw *w = NULL;
    CHECK(elaine_logw_open(&w, &o) == 0);
    if (!w)
        return;
    CHECK(elaine_logw_write(w, "one", 3) == 0);
    char p[512], q[512];
    snprintf(p, sizeof(p), "%s/elaine.jsonl", dir);
    snprintf(q, sizeof(q), "%s/moved.jsonl", dir);
    CHECK(rename(p, q) == 0);
    CHECK(elaine_logw_reopen(w) == 0);
    CHECK(elaine_logw_write(w, "two", 3) == 0);
    elaine_logw_close(w);
    char *s = slurp(p, NULL);
    CHECK(s && strcmp(s, "two\n") == 0);
    free(s);
    s = slurp(q, NULL);
    CHECK(s && strcmp(s, "one\n") == 0);
    free(s);
    struct stat st;
    CHECK(stat(p, &st) == 0 && (st.st_mode & 0777) == 0600);
}

/* The active file (then the whole folder) removed from outside: the next
 * tick, or the next rotation, begins a new file, instead of writing on into
 * a file without a name and failing every rotation after it. */
static void new_file_cb(void *ud)
{
    ++*(int *)ud;
}

static void test_removed_outside(void)
{
    const char *dir = mkdir_case("removed");
    int news = 0;
    elaine_logw_opts o = {.dir = dir, .max_size = 100, .keep = 10, .fsync_mode = ELAINE_FSYNC_ROTATE,
                          .on_new_file = new_file_cb, .ud = &news};
    elaine_logw *w = NULL;
    CHECK(elaine_logw_open(&w, &o) == 0);
    if (!w)
        return;
    char p[512], part[512];
    snprintf(p, sizeof(p), "%s/elaine.jsonl", dir);
    snprintf(part, sizeof(part), "%s/.elaine.jsonl.zst.part", dir);
    time_t now = time(NULL);
    CHECK(elaine_logw_tick(w, now) == 0); /* in place: nothing to do */

    /* by the tick */
    CHECK(elaine_logw_write(w, "one", 3) == 0);
    CHECK(unlink(p) == 0);
    CHECK(elaine_logw_tick(w, now) == 1);
    CHECK(news == 1);
    CHECK(elaine_logw_write(w, "two", 3) == 0);
    char *s = slurp(p, NULL);
    CHECK(s && strcmp(s, "two\n") == 0);
    free(s);
    struct stat st;
    CHECK(stat(p, &st) == 0 && (st.st_mode & 0777) == 0600);
    CHECK(stat(part, &st) == 0); /* the new file has its shadow */

    /* by the rotation that the size asks for: the line goes to a new file */
    CHECK(unlink(p) == 0);
    char line[120];
    memset(line, 'x', sizeof(line));
    CHECK(elaine_logw_write(w, line, 99) == 0);
    CHECK(news == 2);
    s = slurp(p, NULL);
    CHECK(s && strlen(s) == 100 && s[0] == 'x');
    free(s);
    CHECK(count_suffix(dir, ".zst", NULL) == 0); /* nothing rotated: the file was gone */

    /* the whole folder */
    char lock[512];
    snprintf(lock, sizeof(lock), "%s/.elaine.lock", dir);
    CHECK(unlink(p) == 0 && unlink(part) == 0 && unlink(lock) == 0 && rmdir(dir) == 0);
    CHECK(elaine_logw_tick(w, now) == 1);
    CHECK(elaine_logw_write(w, "three", 5) == 0);
    s = slurp(p, NULL);
    CHECK(s && strcmp(s, "three\n") == 0);
    free(s);
    CHECK(stat(dir, &st) == 0 && (st.st_mode & 0777) == 0700);
    CHECK(elaine_logw_tick(w, now) == 0);
    CHECK(elaine_logw_errors(w) == 0);
    elaine_logw_close(w);
}

/* One writer per folder: a second one is refused while the first is open
 * (its lock is not shared with it, even in one process), and takes the
 * folder once the first closes. */
static void test_one_writer(void)
{
    const char *dir = mkdir_case("one_writer");
    elaine_logw_opts o = {.dir = dir, .keep = 10, .fsync_mode = ELAINE_FSYNC_NEVER};
    elaine_logw *w = NULL, *w2 = NULL;
    CHECK(elaine_logw_open(&w, &o) == 0);
    CHECK(elaine_logw_open(&w2, &o) == -EBUSY);
    CHECK(w2 == NULL);
    char p[512];
    struct stat st;
    snprintf(p, sizeof(p), "%s/.elaine.lock", dir);
    CHECK(stat(p, &st) == 0 && (st.st_mode & 0777) == 0600);
    /* the folder removed and made anew by the writer: the lock with it */
    snprintf(p, sizeof(p), "%s/elaine.jsonl", dir);
    CHECK(elaine_logw_write(w, "one", 3) == 0);
    rm_rf(dir);
    CHECK(elaine_logw_tick(w, time(NULL)) == 1);
    CHECK(elaine_logw_open(&w2, &o) == -EBUSY);
    elaine_logw_close(w);
    CHECK(elaine_logw_open(&w2, &o) == 0);
    CHECK(elaine_logw_write(w2, "two", 3) == 0);
    elaine_logw_close(w2);
    char *s = slurp(p, NULL);
    CHECK(s && strstr(s, "two\n") != NULL);
    free(s);
}

/* On a disk filesystem the active file's blocks are reserved ahead of its
 * end (its size stays that of its lines), and given back when the writer
 * closes; tmpfs gets none. */
static void test_prealloc(void)
{
    const char *dir = mkdir_case("prealloc");
    elaine_logw_opts o = {.dir = dir, .max_size = 64 << 20, .keep = 10, .fsync_mode = ELAINE_FSYNC_NEVER};
    elaine_logw *w = NULL;
    CHECK(elaine_logw_open(&w, &o) == 0);
    if (!w)
        return;
    char p[512];
    snprintf(p, sizeof(p), "%s/elaine.jsonl", dir);
    CHECK(elaine_logw_write(w, "one", 3) == 0);
    struct stat st;
    struct statfs f;
    CHECK(stat(p, &st) == 0 && st.st_size == 4);
    int disk = statfs(dir, &f) == 0 && f.f_type != TMPFS_MAGIC;
    if (disk)
        CHECK((uint64_t)st.st_blocks * 512 >= ((uint64_t)4 << 20));
    else
        CHECK((uint64_t)st.st_blocks * 512 < ((uint64_t)1 << 20));
    elaine_logw_close(w);
    CHECK(stat(p, &st) == 0 && st.st_size == 4 && (uint64_t)st.st_blocks * 512 < ((uint64_t)1 << 20));
    char *s = slurp(p, NULL);
    CHECK(s && strcmp(s, "one\n") == 0);
    free(s);

    /* a line appended from outside is not cut by the release at close */
    CHECK(elaine_logw_open(&w, &o) == 0);
    if (!w)
        return;
    CHECK(elaine_logw_write(w, "two", 3) == 0);
    FILE *fa = fopen(p, "a");
    CHECK(fa && fputs("outside\n", fa) >= 0 && fclose(fa) == 0);
    elaine_logw_close(w);
    s = slurp(p, NULL);
    CHECK(s && strcmp(s, "one\ntwo\noutside\n") == 0);
    free(s);
}

/* A write cut short by RLIMIT_FSIZE (SIGXFSZ ignored): EFBIG, the file stays at its last whole line. */
static void test_write_failure(void)
{
    const char *dir = mkdir_case("fsize");
    elaine_logw_opts o = {.dir = dir, .keep = 10, .fsync_mode = ELAINE_FSYNC_NEVER};
    elaine_logw *w = NULL;
    CHECK(elaine_logw_open(&w, &o) == 0);
    if (!w)
        return;
    CHECK(elaine_logw_write(w, "{\"first\":1}", 11) == 0);
    struct rlimit old, lim;
    CHECK(getrlimit(RLIMIT_FSIZE, &old) == 0);
    signal(SIGXFSZ, SIG_IGN);
    lim = old;
    lim.rlim_cur = 12 + 10; /* room for 10 bytes of the next 31 */
    CHECK(setrlimit(RLIMIT_FSIZE, &lim) == 0);
    const char *big = "{\"second\":\"xxxxxxxxxxxxxxxxx\"}";
    int rc = elaine_logw_write(w, big, strlen(big));
    CHECK(rc == -EFBIG);
    CHECK(elaine_logw_errors(w) == 1);
    CHECK(setrlimit(RLIMIT_FSIZE, &old) == 0);
    char p[512];
    snprintf(p, sizeof(p), "%s/elaine.jsonl", dir);
    char *s = slurp(p, NULL);
    CHECK(s && strcmp(s, "{\"first\":1}\n") == 0);
    free(s);
    CHECK(elaine_logw_write(w, big, strlen(big)) == 0);
    s = slurp(p, NULL);
    CHECK(s && strcmp(s, "{\"first\":1}\n{\"second\":\"xxxxxxxxxxxxxxxxx\"}\n") == 0);
    free(s);
    CHECK(elaine_logw_errors(w) == 1);
    elaine_logw_close(w);
    signal(SIGXFSZ, SIG_DFL);
}

/* Several whole lines in one write: all or none, rotation before them. */
static void test_write_lines(void)
{
    const char *dir = mkdir_case("lines");
    elaine_logw_opts o = {.dir = dir, .max_size = 40, .keep = 10, .fsync_mode = ELAINE_FSYNC_NEVER};
    elaine_logw *w = NULL;
    CHECK(elaine_logw_open(&w, &o) == 0);
    if (!w)
        return;
    CHECK(elaine_logw_write_lines(w, "{\"a\":1}\n{\"b\":2}\n", 16) == 0);
    CHECK(elaine_logw_write_lines(w, "{\"c\":3}", 7) == -EINVAL); /* not a whole line */
    CHECK(elaine_logw_write_lines(w, "", 0) == 0);
    char p[512];
    snprintf(p, sizeof(p), "%s/elaine.jsonl", dir);
    char *s = slurp(p, NULL);
    CHECK(s && strcmp(s, "{\"a\":1}\n{\"b\":2}\n") == 0);
    free(s);
    /* 16 + 32 > 40: the file rotates first, the block stays whole */
    static const char block[] = "{\"c\":3}\n{\"d\":4}\n{\"e\":\"5678901\"}\n";
    CHECK(elaine_logw_write_lines(w, block, strlen(block)) == 0);
    s = slurp(p, NULL);
    CHECK(s && strcmp(s, "{\"c\":3}\n{\"d\":4}\n{\"e\":\"5678901\"}\n") == 0);
    free(s);
    CHECK(count_suffix(dir, ".jsonl.zst", NULL) == 1);
    /* a failed write leaves no part of the block */
    struct rlimit old, lim;
    CHECK(getrlimit(RLIMIT_FSIZE, &old) == 0);
    signal(SIGXFSZ, SIG_IGN);
    lim = old;
    lim.rlim_cur = strlen(block) + 5;
    CHECK(setrlimit(RLIMIT_FSIZE, &lim) == 0);
    CHECK(elaine_logw_write_lines(w, "{\"f\":6}\n", 8) == -EFBIG);
    CHECK(setrlimit(RLIMIT_FSIZE, &old) == 0);
    signal(SIGXFSZ, SIG_DFL);
    s = slurp(p, NULL);
    CHECK(s && strcmp(s, "{\"c\":3}\n{\"d\":4}\n{\"e\":\"5678901\"}\n") == 0);
    free(s);
    CHECK(elaine_logw_errors(w) == 1);
    elaine_logw_close(w);
}

/* A rotation interrupted after the rename: the next open compresses the leftover. */
static void test_recover(void)
{
    const char *dir = mkdir_case("recover");
    elaine_logw_opts o = {.dir = dir, .keep = 10, .fsync_mode = ELAINE_FSYNC_ROTATE};
    elaine_logw *w = NULL;
    CHECK(elaine_logw_open(&w, &o) == 0);
    elaine_logw_close(w);
    char p[512];
    snprintf(p, sizeof(p), "%s/elaine-20260101T000000.000001Z.jsonl", dir);
    spit(p, "old1\nold2\n");
    snprintf(p, sizeof(p), "%s/elaine-20260101T000000.000001Z.jsonl.zst.tmp", dir);
    spit(p, "garbage");
    CHECK(elaine_logw_open(&w, &o) == 0);
    elaine_logw_close(w);
    CHECK(count_suffix(dir, ".tmp", NULL) == 0);
    CHECK(count_suffix(dir, "Z.jsonl", NULL) == 0);
    CHECK(count_suffix(dir, ".jsonl.zst", NULL) == 1);
    acc *a = calloc(1, sizeof(*a));
    CHECK(elaine_logread_each(dir, acc_cb, a) == 0);
    CHECK(strcmp(a->buf, "old1\nold2\n") == 0);
    free(a);
}

/* ---- shadow compression ---- */

/* The whole of a .zst file decompressed (malloc'd, NUL-terminated); NULL
 * unless it is complete zstd frames with valid checksums. */
static char *unzst(const char *path, size_t *n)
{
    size_t zn = 0;
    char *z = slurp(path, &zn);
    if (!z)
        return NULL;
    ZSTD_DCtx *dc = ZSTD_createDCtx();
    size_t cap = 1 << 16, len = 0, left = 1;
    char *out = malloc(cap + 1);
    ZSTD_inBuffer ib = {z, zn, 0};
    while (out && dc && ib.pos < ib.size) {
        if (len == cap) {
            cap *= 2;
            char *no = realloc(out, cap + 1);
            if (!no) {
                free(out);
                out = NULL;
                break;
            }
            out = no;
        }
        ZSTD_outBuffer ob = {out + len, cap - len, 0};
        left = ZSTD_decompressStream(dc, &ob, &ib);
        len += ob.pos;
        if (ZSTD_isError(left))
            break;
    }
    /* A frame that ends with the input, and more output pending counts as incomplete too. */
    if (out && (left != 0 || zn == 0)) {
        free(out);
        out = NULL;
    }
    ZSTD_freeDCtx(dc);
    free(z);
    if (out) {
        out[len] = 0;
        *n = len;
    }
    return out;
}

static ino_t ino_of(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0 ? st.st_ino : 0;
}

static int exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

/* dir/<the newest rotated file>; "" when there is none. */
static const char *newest(const char *dir)
{
    static char p[1024];
    char **names = NULL;
    size_t n = 0;
    p[0] = 0;
    if (elaine_logread_list(dir, &names, &n) == 0 && n > 0)
        snprintf(p, sizeof(p), "%s/%s", dir, names[n - 1]);
    elaine_logread_list_free(names, n);
    return p;
}

/* The newest rotated file decompresses to exactly want; it is the renamed
 * part file (inode part_ino) when part_ino != 0, not it when 0. */
static void check_newest(const char *dir, const char *want, ino_t part_ino)
{
    const char *z = newest(dir);
    size_t n = 0;
    char *s = unzst(z, &n);
    CHECK(s != NULL);
    if (s)
        CHECK_MEM(s, n, want, strlen(want));
    free(s);
    struct stat st;
    CHECK(stat(z, &st) == 0 && (st.st_mode & 0777) == 0600);
    if (part_ino)
        CHECK_INT(ino_of(z), part_ino);
    else
        CHECK(ino_of(z) != 0);
}

static uint32_t rng_state = 12345;
static uint32_t rnd(void)
{
    rng_state = rng_state * 1103515245u + 12345u;
    return rng_state >> 8;
}

/* Many writes (single lines and blocks of lines, some bigger than a zstd block
 * or than the size limit) across many rotations: every .zst is the renamed
 * shadow and holds exactly its lines, in order. */
static void shadow_many(const char *name, enum elaine_fsync mode, uint64_t max_size, int writes)
{
    CASE(name);
    const char *dir = mkdir_case(name);
    elaine_logw_opts o = {.dir = dir, .max_size = max_size, .keep = 0, .fsync_mode = mode};
    elaine_logw *w = NULL;
    CHECK(elaine_logw_open(&w, &o) == 0);
    if (!w)
        return;
    char part[512];
    snprintf(part, sizeof(part), "%s/.elaine.jsonl.zst.part", dir);
    size_t cap = 1 << 20, *bounds = calloc(4096, sizeof(size_t)), nb = 0;
    char *all = malloc(cap), *text = malloc(2 << 20); /* up to 6 lines of up to 200 KB */
    size_t len = 0, cur = 0; /* all[cur..len) is the active file */
    int rotations = 0;
    for (int i = 0; i < writes && nb < 4000; i++) {
        size_t tn = 0;
        int lines = rnd() % 4 == 0 ? 1 + (int)(rnd() % 6) : 1;
        for (int l = 0; l < lines; l++) {
            uint32_t r = rnd() % 100;
            size_t body = r < 2 ? 150000 + rnd() % 50000 : r < 20 ? rnd() % 8000 : rnd() % 300;
            tn += (size_t)snprintf(text + tn, 64, "{\"i\":%d,\"l\":%d,\"s\":\"", i, l);
            for (size_t k = 0; k < body; k++)
                text[tn++] = (char)(rnd() % 7 ? 'a' + (k * 7 + (size_t)i) % 26 : '0' + rnd() % 10);
            tn += (size_t)snprintf(text + tn, 8, "\"}\n");
        }
        int rotates = len > cur && (len - cur) + tn > max_size;
        ino_t pino = rotates ? ino_of(part) : 0;
        int rc = lines == 1 && rnd() % 2 ? elaine_logw_write(w, text, tn - 1) : elaine_logw_write_lines(w, text, tn);
        CHECK_INT(rc, 0);
        if (rotates) {
            CHECK(pino != 0);
            bounds[nb++] = len;
            cur = len;
            rotations++;
            CHECK_INT(ino_of(newest(dir)), pino); /* the shadow became the .zst */
        }
        if (len + tn > cap) {
            while (len + tn > cap)
                cap *= 2;
            all = realloc(all, cap);
        }
        memcpy(all + len, text, tn);
        len += tn;
        CHECK(exists(part)); /* it stays valid throughout */
    }
    CHECK(rotations >= 5);
    CHECK_INT(elaine_logw_errors(w), 0);
    /* The active file's own shadow becomes a .zst too. */
    ino_t pino = ino_of(part);
    CHECK_INT(elaine_logw_rotate(w), 0);
    bounds[nb++] = len;
    CHECK_INT(ino_of(newest(dir)), pino);
    elaine_logw_close(w);
    CHECK(!exists(part)); /* close removes the shadow */

    char **names = NULL;
    size_t n = 0;
    CHECK(elaine_logread_list(dir, &names, &n) == 0);
    CHECK_INT(n, nb);
    for (size_t i = 0; i < n && i < nb; i++) {
        char p[1024];
        snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
        CHECK(has_zst_suffix(names[i]));
        size_t zl = 0, from = i ? bounds[i - 1] : 0;
        char *s = unzst(p, &zl);
        CHECK(s != NULL);
        if (s)
            CHECK_MEM(s, zl, all + from, bounds[i] - from);
        free(s);
    }
    elaine_logread_list_free(names, n);
    CHECK(count_suffix(dir, ".tmp", NULL) == 0);
    CHECK(count_suffix(dir, "Z.jsonl", NULL) == 0);
    free(all);
    free(text);
    free(bounds);
}

/* Frames in the zstd file at path (-1: not a run of whole frames). */
static int count_frames(const char *path)
{
    size_t zn = 0;
    char *z = slurp(path, &zn);
    int frames = 0;
    for (size_t at = 0; z && at < zn; frames++) {
        size_t f = ZSTD_findFrameCompressedSize(z + at, zn - at);
        if (ZSTD_isError(f)) {
            frames = -1;
            break;
        }
        at += f;
    }
    free(z);
    return z ? frames : -1;
}

/* The shadow ends a frame at the end of the write that brought it to 2 MiB
 * of input (SHADOW_FRAME in elaine_logw.c): a file of exactly that many
 * bytes in single lines is one frame, one line more starts a second, and a
 * block of lines that crosses two boundaries stays one frame (zstd reads it
 * where it is); each file holds exactly its lines. */
static void test_shadow_frames(void)
{
    CASE("shadow_frames");
    const char *dir = mkdir_case("shadow_frames");
    elaine_logw_opts o = {.dir = dir, .max_size = 0, .keep = 0, .fsync_mode = ELAINE_FSYNC_NEVER};
    elaine_logw *w = NULL;
    CHECK(elaine_logw_open(&w, &o) == 0);
    if (!w)
        return;
    const size_t frame = 2u << 20, line = 1024;
    char *text = malloc(3 * frame);
    for (size_t i = 0; i < 3 * frame; i++)
        text[i] = i % line == line - 1 ? '\n' : (char)('a' + (i / line + i) % 26);
    const struct {
        size_t bytes;
        int frames;
    } cases[] = {{frame, 1}, {frame + line, 2}, {3 * frame - line, 1}, {line, 1}};
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        size_t n = cases[c].bytes;
        if (c == 2) { /* one block of lines */
            CHECK_INT(elaine_logw_write_lines(w, text, n), 0);
        } else {
            for (size_t at = 0; at < n; at += line)
                CHECK_INT(elaine_logw_write(w, text + at, line - 1), 0);
        }
        CHECK_INT(elaine_logw_rotate(w), 0);
        const char *p = newest(dir);
        CHECK_INT(count_frames(p), cases[c].frames);
        size_t zl = 0;
        char *s = unzst(p, &zl);
        CHECK(s != NULL);
        if (s)
            CHECK_MEM(s, zl, text, n);
        free(s);
    }
    CHECK_INT(elaine_logw_errors(w), 0);
    elaine_logw_close(w);
    free(text);
}

/* Lines gathered in the writer's own buffer (elaine_logw_lines, as the
 * collector does), where zstd reads the open frame in place: an append that
 * grows the buffer moves it mid-frame (the frame is made again from the new
 * place), a line written on its own while lines are pending ends the frame,
 * a failed append (out of memory) drops the pending lines; the .zst always
 * holds exactly the file's lines, with the shadow standing in (no
 * read-back: the part file's inode becomes the .zst). */
static void test_shadow_lines_buffer(void)
{
    CASE("shadow_lines_buffer");
    const char *dir = mkdir_case("shadow_lines_buffer");
    elaine_logw_opts o = {.dir = dir, .keep = 0, .fsync_mode = ELAINE_FSYNC_NEVER};
    elaine_logw *w = NULL;
    CHECK(elaine_logw_open(&w, &o) == 0);
    if (!w)
        return;
    char part[512];
    snprintf(part, sizeof(part), "%s/.elaine.jsonl.zst.part", dir);
    elaine_buf want;
    elaine_buf_init(&want);
    size_t big = 5u << 20; /* bigger than anything the buffer held: it moves */
    char *bigline = malloc(big + 1);
    for (size_t i = 0; i < big; i++)
        bigline[i] = (char)('a' + (i * 31 + i / 977) % 26);
    bigline[big] = '\n';
    int moves = 0;
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 200; i++) {
            elaine_buf *b = elaine_logw_lines(w);
            const char *was = b->p;
            elaine_buf_addf(b, "{\"round\":%d,\"i\":%d,\"pad\":\"%0*d\"}\n", round, i, 10 + i * 37 % 900, i);
            if (i == 50 + round) { /* grows it mid-frame */
                elaine_buf_add(b, bigline, big + 1);
                moves += was && b->p != was;
            }
            size_t pend = elaine_logw_pending(w);
            elaine_buf_add(&want, b->p + b->len - pend, pend);
            CHECK_INT(elaine_logw_flush(w), 0);
            CHECK_INT((int)elaine_logw_pending(w), 0);
            if (i == 120) { /* a line of its own */
                CHECK_INT(elaine_logw_write(w, "{\"alone\":1}", 11), 0);
                elaine_buf_add(&want, "{\"alone\":1}\n", 12);
            }
        }
        /* pending lines dropped when an append failed */
        elaine_buf *b = elaine_logw_lines(w);
        elaine_buf_add(b, "{\"lost\":1}\n", 12);
        b->oom = 1;
        CHECK_INT(elaine_logw_flush(w), -ENOMEM);
        CHECK_INT((int)elaine_logw_pending(w), 0);
        CHECK(!elaine_logw_lines(w)->oom);
        ino_t pino = ino_of(part);
        CHECK(pino != 0);
        CHECK_INT(elaine_logw_rotate(w), 0);
        CHECK_INT(ino_of(newest(dir)), pino);
        size_t zl = 0;
        char *z = unzst(newest(dir), &zl);
        CHECK(z != NULL);
        if (z)
            CHECK_MEM(z, zl, want.p, want.len);
        free(z);
        elaine_buf_reset(&want);
    }
    CHECK(moves >= 1);
    CHECK_INT(elaine_logw_errors(w), 0);
    elaine_logw_close(w);
    elaine_buf_free(&want);
    free(bigline);
}

/* --fsync rotate: a rotation with a shadow makes the .zst durable (the
 * part file's fsync, before the rename) and does not write the plain file
 * out, which is deleted at once; without a shadow (the file was there at
 * open) the file is fsynced as the read-back's source; never: no fsync. */
static void test_rotate_fsync(void)
{
    CASE("rotate_fsync");
    const char *dir = mkdir_case("rotate_fsync");
    elaine_logw_opts o = {.dir = dir, .keep = 0, .fsync_mode = ELAINE_FSYNC_ROTATE};
    elaine_logw *w = NULL;
    CHECK(elaine_logw_open(&w, &o) == 0);
    if (!w)
        return;
    CHECK_INT(elaine_logw_write(w, "{\"a\":1}", 7), 0);
    nfsynced = 0;
    CHECK_INT(elaine_logw_rotate(w), 0);
    CHECK_INT(fsyncs_of("/.elaine.jsonl.zst.part"), 1);
    CHECK_INT(fsyncs_of(".jsonl"), 0);
    check_newest(dir, "{\"a\":1}\n", 0);
    CHECK_INT(elaine_logw_write(w, "{\"b\":2}", 7), 0);
    elaine_logw_close(w);

    /* reopened non-empty: no shadow, the read-back */
    w = NULL;
    CHECK(elaine_logw_open(&w, &o) == 0);
    if (!w)
        return;
    nfsynced = 0;
    CHECK_INT(elaine_logw_rotate(w), 0);
    CHECK_INT(fsyncs_of("/elaine.jsonl"), 1);
    CHECK_INT(fsyncs_of(".jsonl.zst.tmp"), 1);
    CHECK_INT(fsyncs_of(".part"), 0);
    check_newest(dir, "{\"b\":2}\n", 0);
    elaine_logw_close(w);

    o.fsync_mode = ELAINE_FSYNC_NEVER;
    w = NULL;
    CHECK(elaine_logw_open(&w, &o) == 0);
    if (!w)
        return;
    CHECK_INT(elaine_logw_write(w, "{\"c\":3}", 7), 0);
    nfsynced = 0;
    CHECK_INT(elaine_logw_rotate(w), 0);
    elaine_logw_close(w);
    CHECK_INT(nfsynced, 0);
    check_newest(dir, "{\"c\":3}\n", 0);
}

/* Startup with a non-empty elaine.jsonl: no shadow for it (read back at the
 * first rotation), the next file has one again. */
static void test_shadow_startup_nonempty(void)
{
    CASE("shadow_startup");
    const char *dir = mkdir_case("shadow_startup");
    elaine_logw_opts o = {.dir = dir, .keep = 10, .fsync_mode = ELAINE_FSYNC_ROTATE};
    elaine_logw *w = NULL;
    CHECK(elaine_logw_open(&w, &o) == 0); /* makes the dir */
    elaine_logw_close(w);
    char p[512], part[512];
    snprintf(p, sizeof(p), "%s/elaine.jsonl", dir);
    snprintf(part, sizeof(part), "%s/.elaine.jsonl.zst.part", dir);
    spit(p, "{\"pre\":1}\n{\"pre\":2}\n{\"half");
    CHECK(elaine_logw_open(&w, &o) == 0);
    if (!w)
        return;
    CHECK(!exists(part));
    CHECK(elaine_logw_write(w, "{\"a\":1}", 7) == 0);
    CHECK(!exists(part));
    CHECK_INT(elaine_logw_rotate(w), 0);
    check_newest(dir, "{\"pre\":1}\n{\"pre\":2}\n{\"a\":1}\n", 0);
    CHECK(exists(part)); /* resumed for the fresh file */
    CHECK(elaine_logw_write(w, "{\"b\":2}", 7) == 0);
    CHECK(elaine_logw_write_lines(w, "{\"c\":3}\n{\"d\":4}\n", 16) == 0);
    ino_t pino = ino_of(part);
    CHECK_INT(elaine_logw_rotate(w), 0);
    check_newest(dir, "{\"b\":2}\n{\"c\":3}\n{\"d\":4}\n", pino);
    CHECK_INT(elaine_logw_errors(w), 0);
    elaine_logw_close(w);

    /* An active file cut to nothing at open (only a half line) is empty: it gets a shadow. */
    spit(p, "{\"half");
    CHECK(elaine_logw_open(&w, &o) == 0);
    if (!w)
        return;
    CHECK(exists(part));
    CHECK(elaine_logw_write(w, "{\"e\":5}", 7) == 0);
    pino = ino_of(part);
    CHECK_INT(elaine_logw_rotate(w), 0);
    check_newest(dir, "{\"e\":5}\n", pino);
    elaine_logw_close(w);
}

/* The active file changed behind the writer's back: replaced (then reopened),
 * appended to or truncated (no reopen): the .zst is what the file holds. */
static void test_shadow_outside_changes(void)
{
    CASE("shadow_outside");
    const char *dir = mkdir_case("shadow_outside");
    elaine_logw_opts o = {.dir = dir, .keep = 20, .fsync_mode = ELAINE_FSYNC_NEVER};
    elaine_logw *w = NULL;
    CHECK(elaine_logw_open(&w, &o) == 0);
    if (!w)
        return;
    char p[512], q[512], part[512];
    snprintf(p, sizeof(p), "%s/elaine.jsonl", dir);
    snprintf(q, sizeof(q), "%s/moved.jsonl", dir);
    snprintf(part, sizeof(part), "%s/.elaine.jsonl.zst.part", dir);
    CHECK(exists(part));
    CHECK(elaine_logw_write(w, "one", 3) == 0);
    /* Replaced by a file with lines in it, then reopened (SIGHUP). */
    CHECK(rename(p, q) == 0);
    spit(p, "ext1\next2\n");
    CHECK_INT(elaine_logw_reopen(w), 0);
    CHECK(!exists(part));
    CHECK(elaine_logw_write(w, "two", 3) == 0);
    CHECK_INT(elaine_logw_rotate(w), 0);
    check_newest(dir, "ext1\next2\ntwo\n", 0);
    char *s = slurp(q, NULL);
    CHECK(s && strcmp(s, "one\n") == 0);
    free(s);
    /* Replaced by an empty file: its shadow starts with it. */
    CHECK(exists(part));
    CHECK(elaine_logw_write(w, "lost", 4) == 0);
    CHECK(unlink(p) == 0);
    spit(p, "");
    CHECK_INT(elaine_logw_reopen(w), 0);
    CHECK(exists(part));
    CHECK(elaine_logw_write(w, "three", 5) == 0);
    ino_t pino = ino_of(part);
    CHECK_INT(elaine_logw_rotate(w), 0);
    check_newest(dir, "three\n", pino);
    /* Appended to from outside, no reopen. */
    CHECK(elaine_logw_write(w, "four", 4) == 0);
    FILE *f = fopen(p, "ab");
    fputs("outside\n", f);
    fclose(f);
    CHECK(elaine_logw_write(w, "five", 4) == 0);
    CHECK_INT(elaine_logw_rotate(w), 0);
    check_newest(dir, "four\noutside\nfive\n", 0);
    /* Truncated from outside, no reopen: the writer's size no longer matches the file. */
    CHECK(elaine_logw_write(w, "six", 3) == 0);
    CHECK(truncate(p, 0) == 0);
    CHECK(elaine_logw_write(w, "seven", 5) == 0);
    CHECK_INT(elaine_logw_rotate(w), 0);
    check_newest(dir, "seven\n", 0);
    /* The part file removed from outside: finishing it fails, the read-back stands in. */
    CHECK(exists(part));
    CHECK(elaine_logw_write(w, "eight", 5) == 0);
    CHECK(unlink(part) == 0);
    CHECK(elaine_logw_write(w, "nine", 4) == 0);
    CHECK_INT(elaine_logw_rotate(w), 0);
    check_newest(dir, "eight\nnine\n", 0);
    CHECK(exists(part));
    CHECK_INT(elaine_logw_errors(w), 0);
    elaine_logw_close(w);
    CHECK(count_suffix(dir, ".tmp", NULL) == 0);
    CHECK(count_suffix(dir, "Z.jsonl", NULL) == 0);
    CHECK(count_suffix(dir, ".part", NULL) == 0);
}

/* A part file left by a crash (or planted as a symlink) is removed at open. */
static void test_shadow_stale_part(void)
{
    CASE("shadow_stale");
    const char *dir = mkdir_case("shadow_stale");
    elaine_logw_opts o = {.dir = dir, .keep = 10, .fsync_mode = ELAINE_FSYNC_ROTATE};
    elaine_logw *w = NULL;
    CHECK(elaine_logw_open(&w, &o) == 0);
    elaine_logw_close(w);
    char p[512], part[512], target[512];
    snprintf(p, sizeof(p), "%s/elaine.jsonl", dir);
    snprintf(part, sizeof(part), "%s/.elaine.jsonl.zst.part", dir);
    snprintf(target, sizeof(target), "%s/target", dir);
    /* Active file non-empty: no shadow, the stale one is gone. */
    spit(p, "{\"old\":1}\n");
    spit(part, "garbage");
    CHECK(elaine_logw_open(&w, &o) == 0);
    if (!w)
        return;
    CHECK(!exists(part));
    CHECK_INT(elaine_logw_rotate(w), 0);
    check_newest(dir, "{\"old\":1}\n", 0);
    elaine_logw_close(w);
    /* Active file empty: a fresh shadow in place of the stale one. */
    spit(p, "");
    spit(part, "garbage");
    CHECK(elaine_logw_open(&w, &o) == 0);
    if (!w)
        return;
    char *s = slurp(part, NULL);
    CHECK(s && strncmp(s, "garbage", 7) != 0);
    free(s);
    CHECK(elaine_logw_write(w, "{\"new\":1}", 9) == 0);
    ino_t pino = ino_of(part);
    CHECK_INT(elaine_logw_rotate(w), 0);
    check_newest(dir, "{\"new\":1}\n", pino);
    elaine_logw_close(w);
    /* A symlink: replaced by a regular file of our own, its target untouched. */
    unlink(part);
    CHECK(symlink(target, part) == 0);
    CHECK(elaine_logw_open(&w, &o) == 0);
    if (!w)
        return;
    struct stat st;
    CHECK(lstat(part, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0777) == 0600);
    CHECK(elaine_logw_write(w, "{\"sym\":1}", 9) == 0);
    pino = ino_of(part);
    CHECK_INT(elaine_logw_rotate(w), 0);
    check_newest(dir, "{\"sym\":1}\n", pino);
    CHECK(!exists(target));
    CHECK_INT(elaine_logw_errors(w), 0);
    elaine_logw_close(w);
    CHECK(!exists(part));
}

/* A write cut back (RLIMIT_FSIZE): the shadow is dropped, the rotation reads
 * the file back, and the file after it has a shadow again. */
static void test_shadow_write_failure(void)
{
    CASE("shadow_fsize");
    const char *dir = mkdir_case("shadow_fsize");
    elaine_logw_opts o = {.dir = dir, .keep = 10, .fsync_mode = ELAINE_FSYNC_NEVER};
    elaine_logw *w = NULL;
    CHECK(elaine_logw_open(&w, &o) == 0);
    if (!w)
        return;
    char part[512];
    snprintf(part, sizeof(part), "%s/.elaine.jsonl.zst.part", dir);
    CHECK(elaine_logw_write(w, "{\"first\":1}", 11) == 0);
    CHECK(exists(part));
    struct rlimit old, lim;
    CHECK(getrlimit(RLIMIT_FSIZE, &old) == 0);
    signal(SIGXFSZ, SIG_IGN);
    lim = old;
    lim.rlim_cur = 12 + 10;
    CHECK(setrlimit(RLIMIT_FSIZE, &lim) == 0);
    const char *big = "{\"second\":\"xxxxxxxxxxxxxxxxx\"}";
    CHECK_INT(elaine_logw_write(w, big, strlen(big)), -EFBIG);
    CHECK(setrlimit(RLIMIT_FSIZE, &old) == 0);
    signal(SIGXFSZ, SIG_DFL);
    CHECK(!exists(part)); /* dropped */
    CHECK(elaine_logw_write(w, big, strlen(big)) == 0);
    CHECK(!exists(part));
    CHECK_INT(elaine_logw_rotate(w), 0);
    check_newest(dir, "{\"first\":1}\n{\"second\":\"xxxxxxxxxxxxxxxxx\"}\n", 0);
    CHECK(exists(part));
    CHECK(elaine_logw_write(w, "{\"third\":3}", 11) == 0);
    ino_t pino = ino_of(part);
    CHECK_INT(elaine_logw_rotate(w), 0);
    check_newest(dir, "{\"third\":3}\n", pino);
    CHECK_INT(elaine_logw_errors(w), 1);
    elaine_logw_close(w);
}

int main(void)
{
    umask(0); /* the modes must come from the writer, not from the umask */
    if (tmpdir_make(root, sizeof(root), "test_logw") < 0)
        return 1;
    test_size_rotation();
    test_retention();
    test_partial_cut();
    test_on_new_file_and_age();
    test_reopen();
    test_removed_outside();
    test_prealloc();
    test_one_writer();
    test_write_failure();
    test_write_lines();
    test_recover();
    shadow_many("shadow_many", ELAINE_FSYNC_ROTATE, 300 << 10, 3000);
    shadow_many("shadow_small", ELAINE_FSYNC_ALWAYS, 2000, 300);
    test_shadow_frames();
    test_shadow_lines_buffer();
    test_rotate_fsync();
    test_shadow_startup_nonempty();
    test_shadow_outside_changes();
    test_shadow_stale_part();
    test_shadow_write_failure();
    rm_rf(root);
    if (check_failures) {
        fprintf(stderr, "test_logw: %d check(s) failed\n", check_failures);
        return 1;
    }
    printf("test_logw: ok\n");
    return 0;
}
