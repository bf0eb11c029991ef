/* Tests for the log writer: whole lines, size and age rotation to .zst, retention, modes, write failures. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "elaine_logread.h"
#include "elaine_logw.h"
#include "tmpdir.h"

static char root[64];

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
    test_write_failure();
    test_write_lines();
    test_recover();
    rm_rf(root);
    if (check_failures) {
        fprintf(stderr, "test_logw: %d check(s) failed\n", check_failures);
        return 1;
    }
    printf("test_logw: ok\n");
    return 0;
}
