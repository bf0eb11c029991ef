/* Tests for reading the log directory: time order across rotated and active files, zstd, following. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "check.h"
#include "elaine_logread.h"
#include "tmpdir.h"

static char root[64];

static void put(const char *dir, const char *name, const void *data, size_t n, const char *mode)
{
    char p[512];
    snprintf(p, sizeof(p), "%s/%s", dir, name);
    FILE *f = fopen(p, mode);
    fwrite(data, 1, n, f);
    fclose(f);
}

static void put_s(const char *dir, const char *name, const char *s, const char *mode)
{
    put(dir, name, s, strlen(s), mode);
}

static void put_zst(const char *dir, const char *name, const char *s, size_t n)
{
    size_t cap = ZSTD_compressBound(n);
    char *z = malloc(cap);
    size_t zn = ZSTD_compress(z, cap, s, n, 3);
    CHECK(!ZSTD_isError(zn));
    put(dir, name, z, zn, "wb");
    free(z);
}

typedef struct acc {
    char *buf;
    size_t len, cap;
    int lines;
    int stop_at; /* return 7 at this line number (1-based); 0 never */
} acc;

static int acc_cb(void *ud, const char *line, size_t n)
{
    acc *a = ud;
    CHECK(line[n] == 0);
    if (a->len + n + 2 > a->cap) {
        a->cap = (a->len + n + 2) * 2;
        a->buf = realloc(a->buf, a->cap);
    }
    memcpy(a->buf + a->len, line, n);
    a->len += n;
    a->buf[a->len++] = '\n';
    a->buf[a->len] = 0;
    a->lines++;
    return a->stop_at && a->lines == a->stop_at ? 7 : 0;
}

static void acc_reset(acc *a)
{
    a->len = 0;
    a->lines = 0;
    if (a->buf)
        a->buf[0] = 0;
}

static void test_namecmp(void)
{
    CHECK(elaine_logread_namecmp("elaine-20260101T000000.000001Z.jsonl.zst",
                                 "elaine-20260101T000000.000002Z.jsonl.zst") < 0);
    CHECK(elaine_logread_namecmp("elaine-20260101T000000.000001Z.jsonl.zst",
                                 "elaine-20260101T000000.000001Z-1.jsonl.zst") < 0);
    CHECK(elaine_logread_namecmp("elaine-20260101T000000.000001Z-2.jsonl.zst",
                                 "elaine-20260101T000000.000001Z-10.jsonl.zst") < 0);
    CHECK(elaine_logread_namecmp("elaine-20260101T000000.000001Z-10.jsonl.zst",
                                 "elaine-20260101T000000.000002Z.jsonl.zst") < 0);
    CHECK(elaine_logread_namecmp("elaine-20260101T000000.000001Z.jsonl",
                                 "elaine-20260101T000000.000001Z.jsonl.zst") < 0);
    CHECK(elaine_logread_namecmp("elaine-20260102T000000.000000Z.jsonl",
                                 "elaine-20260101T235959.999999Z.jsonl.zst") > 0);
}

static void test_each(void)
{
    char dir[128];
    snprintf(dir, sizeof(dir), "%s/each", root);
    mkdir(dir, 0700);
    acc a = {0};
    char **names;
    size_t n;

    /* Written out of order on purpose; the listing sorts them. */
    put_s(dir, "elaine.jsonl", "L9\nL10\nhalf-written", "wb");
    put_s(dir, "elaine-20260102T000000.000000Z.jsonl", "L8\n", "wb"); /* rotation in progress */
    put_zst(dir, "elaine-20260101T000000.000001Z-10.jsonl.zst", "L6\n", 3);
    put_zst(dir, "elaine-20260101T000000.000001Z-2.jsonl.zst", "L5\n", 3);
    put_zst(dir, "elaine-20260101T000000.000001Z.jsonl.zst", "L2\nL3\n", 6);
    put_zst(dir, "elaine-20260101T000000.000001Z-1.jsonl.zst", "L4", 2); /* no final "\n": still a line */
    put_zst(dir, "elaine-20251231T235959.999999Z.jsonl.zst", "L1\n", 3);
    /* Both the leftover and its .zst: the .zst wins, the .jsonl is not read twice. */
    put_zst(dir, "elaine-20260101T120000.000000Z.jsonl.zst", "L7\n", 3);
    put_s(dir, "elaine-20260101T120000.000000Z.jsonl", "L7\n", "wb");
    put_s(dir, "elaine-20260101T120000.000000Z.jsonl.zst.tmp", "junk\n", "wb");
    put_s(dir, "notes.txt", "junk\n", "wb");
    put_s(dir, "other.jsonl", "junk\n", "wb");

    CHECK(elaine_logread_list(dir, &names, &n) == 0);
    CHECK(n == 7);
    if (n == 7) {
        CHECK(!strcmp(names[0], "elaine-20251231T235959.999999Z.jsonl.zst"));
        CHECK(!strcmp(names[1], "elaine-20260101T000000.000001Z.jsonl.zst"));
        CHECK(!strcmp(names[2], "elaine-20260101T000000.000001Z-1.jsonl.zst"));
        CHECK(!strcmp(names[3], "elaine-20260101T000000.000001Z-2.jsonl.zst"));
        CHECK(!strcmp(names[4], "elaine-20260101T000000.000001Z-10.jsonl.zst"));
        CHECK(!strcmp(names[5], "elaine-20260101T120000.000000Z.jsonl.zst"));
        CHECK(!strcmp(names[6], "elaine-20260102T000000.000000Z.jsonl"));
    }
    elaine_logread_list_free(names, n);

    CHECK(elaine_logread_each(dir, acc_cb, &a) == 0);
    CHECK(a.buf && !strcmp(a.buf, "L1\nL2\nL3\nL4\nL5\nL6\nL7\nL8\nL9\nL10\n"));

    /* The callback's value stops the walk. */
    acc_reset(&a);
    a.stop_at = 3;
    CHECK(elaine_logread_each(dir, acc_cb, &a) == 7);
    CHECK(a.lines == 3);
    a.stop_at = 0;

    /* Without an active file. */
    char p[256];
    snprintf(p, sizeof(p), "%s/elaine.jsonl", dir);
    unlink(p);
    acc_reset(&a);
    CHECK(elaine_logread_each(dir, acc_cb, &a) == 0);
    CHECK(a.lines == 8);

    /* A corrupt .zst: the error, not silence. */
    put_s(dir, "elaine-20270101T000000.000000Z.jsonl.zst", "not zstd at all\n", "wb");
    acc_reset(&a);
    CHECK(elaine_logread_each(dir, acc_cb, &a) == -EBADMSG);
    /* A truncated one: the lines before the cut, then -EBADMSG. */
    snprintf(p, sizeof(p), "%s/elaine-20270101T000000.000000Z.jsonl.zst", dir);
    unlink(p);
    {
        const char *txt = "T1\nT2\nT3\n";
        size_t cap = ZSTD_compressBound(9);
        char *z = malloc(cap);
        size_t zn = ZSTD_compress(z, cap, txt, 9, 3);
        put(dir, "elaine-20270101T000000.000000Z.jsonl.zst", z, zn - 3, "wb");
        free(z);
        acc_reset(&a);
        CHECK(elaine_logread_file(p, acc_cb, &a) == -EBADMSG);
    }

    snprintf(p, sizeof(p), "%s/missing", root);
    CHECK(elaine_logread_each(p, acc_cb, &a) == -ENOENT);
    free(a.buf);
}

/* Bigger than every buffer: long lines across zstd output chunks and read chunks. */
static void test_big(void)
{
    char dir[128];
    snprintf(dir, sizeof(dir), "%s/big", root);
    mkdir(dir, 0700);
    size_t n = 0, cap = 4 << 20;
    char *text = malloc(cap);
    for (int i = 0; i < 2000; i++)
        n += (size_t)sprintf(text + n, "{\"i\":%d,\"pad\":\"%0*d\"}\n", i, (i * 37) % 900 + 1, 0);
    memset(text + n, 'y', 300000); /* one 300 KB line */
    n += 300000;
    text[n++] = '\n';
    put_zst(dir, "elaine-20260101T000000.000000Z.jsonl.zst", text, n);
    put(dir, "elaine.jsonl", text, n, "wb");
    acc a = {0};
    CHECK(elaine_logread_each(dir, acc_cb, &a) == 0);
    CHECK(a.lines == 2 * 2001);
    CHECK(a.len == 2 * n && memcmp(a.buf, text, n) == 0 && memcmp(a.buf + n, text, n) == 0);
    free(a.buf);
    free(text);
}

static void test_follow(void)
{
    char dir[128], p[256], q[256];
    snprintf(dir, sizeof(dir), "%s/follow", root);
    snprintf(p, sizeof(p), "%s/elaine.jsonl", dir);
    acc a = {0};
    elaine_logfollow *f = NULL;

    /* The dir does not exist yet: no error, no lines. */
    CHECK(elaine_logfollow_open(&f, dir) == 0);
    CHECK(elaine_logfollow_read(f, acc_cb, &a) == 0 && a.lines == 0);
    CHECK(elaine_logfollow_wait(f, 10) == 0);
    mkdir(dir, 0700);
    put_s(dir, "elaine.jsonl", "A1\nA2\n", "wb");
    CHECK(elaine_logfollow_read(f, acc_cb, &a) == 0);
    CHECK(a.buf && !strcmp(a.buf, "A1\nA2\n"));

    /* Appends, a line written in two parts. */
    acc_reset(&a);
    put_s(dir, "elaine.jsonl", "A3\nA4-part", "ab");
    CHECK(elaine_logfollow_wait(f, 1000) == 0);
    CHECK(elaine_logfollow_read(f, acc_cb, &a) == 0);
    CHECK(a.buf && !strcmp(a.buf, "A3\n"));
    put_s(dir, "elaine.jsonl", "-rest\n", "ab");
    CHECK(elaine_logfollow_read(f, acc_cb, &a) == 0);
    CHECK(!strcmp(a.buf, "A3\nA4-part-rest\n"));

    /* A half line cut back by the writer (shrink), then a whole one. */
    acc_reset(&a);
    put_s(dir, "elaine.jsonl", "A5-ha", "ab");
    CHECK(elaine_logfollow_read(f, acc_cb, &a) == 0 && a.lines == 0);
    CHECK(truncate(p, 3 * 3 + strlen("A4-part-rest\n")) == 0);
    put_s(dir, "elaine.jsonl", "A5\n", "ab");
    CHECK(elaine_logfollow_read(f, acc_cb, &a) == 0);
    CHECK(a.buf && !strcmp(a.buf, "A5\n"));

    /* Rotation: a last line lands in the old file just before the rename;
     * the new file starts from its beginning. */
    acc_reset(&a);
    put_s(dir, "elaine.jsonl", "A6\n", "ab");
    snprintf(q, sizeof(q), "%s/elaine-20260101T000000.000000Z.jsonl", dir);
    CHECK(rename(p, q) == 0);
    put_s(dir, "elaine.jsonl", "B1\nB2\n", "wb");
    CHECK(elaine_logfollow_read(f, acc_cb, &a) == 0);
    CHECK(a.buf && !strcmp(a.buf, "A6\nB1\nB2\n"));

    /* Truncated below what was read (copytruncate): from the start again. */
    acc_reset(&a);
    put_s(dir, "elaine.jsonl", "C1\n", "wb");
    CHECK(elaine_logfollow_read(f, acc_cb, &a) == 0);
    CHECK(a.buf && !strcmp(a.buf, "C1\n"));

    /* The callback's value comes back. */
    acc_reset(&a);
    a.stop_at = 1;
    put_s(dir, "elaine.jsonl", "C2\nC3\n", "ab");
    CHECK(elaine_logfollow_read(f, acc_cb, &a) == 7);
    elaine_logfollow_close(f);

    /* The convenience loop stops on the callback's value too. */
    acc_reset(&a);
    a.stop_at = 2;
    CHECK(elaine_logread_follow(dir, acc_cb, &a) == 7);
    CHECK(!strcmp(a.buf, "C1\nC2\n"));
    free(a.buf);
}

int main(void)
{
    if (tmpdir_make(root, sizeof(root), "test_logread") < 0)
        return 1;
    test_namecmp();
    test_each();
    test_big();
    test_follow();
    rm_rf(root);
    if (check_failures) {
        fprintf(stderr, "test_logread: %d check(s) failed\n", check_failures);
        return 1;
    }
    printf("test_logread: ok\n");
    return 0;
}
