/* Tests for stack naming: symbols of this executable and of libc, offsets, the
 * fallbacks (no mapping, a changed or deleted file, an exited process) and the
 * symbol cache (read once, bounded). */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "elaine_json.h"
#include "elaine_stack.h"

/* ---- probes: functions of this executable, built with symbols ---- */

/* The block's JSON text is what the record writer makes of its frames. */
static void check_json(char **f, size_t n)
{
    elaine_buf b;
    elaine_buf_init(&b);
    elaine_jw w;
    elaine_jw_init(&w, &b);
    elaine_jw_cstr_array(&w, f, n);
    elaine_buf_addc(&b, 0);
    CHECK_STR(elaine_stack_json(f, n), b.p);
    CHECK(b.len > 2 * n); /* [] and a quoted string a frame */
    elaine_buf_free(&b);
}

static volatile uint64_t probe_ra;

__attribute__((noinline)) void elaine_stack_probe_leaf(void)
{
    probe_ra = (uint64_t)(uintptr_t)__builtin_return_address(0);
}

/* Calls the leaf and uses its result afterwards: no tail call, so the return
 * address recorded by the leaf lies inside this function. */
__attribute__((noinline, noclone)) int elaine_stack_probe_fn(int x)
{
    elaine_stack_probe_leaf();
    return x + (int)(probe_ra & 1);
}

static uint64_t probe_addr(void)
{
    return (uint64_t)(uintptr_t)&elaine_stack_probe_fn;
}

/* ---- helpers ---- */

/* Names one address of pid in a fresh context; the frame (malloc'd) or NULL. */
static char *name1(uint32_t pid, uint64_t addr)
{
    elaine_stack *s = elaine_stack_new(pid, 0);
    char **f = NULL;
    char *out = NULL;
    if (s && elaine_stack_name(s, &addr, 1, &f) == 0)
        out = strdup(f[0]); /* the frames are one block */
    elaine_stack_frames_free(f, 1);
    elaine_stack_free(s);
    return out;
}

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...)
{
    static char buf[4][512];
    static int k;
    char *b = buf[k++ & 3];
    va_list ap;
    va_start(ap, f);
    vsnprintf(b, sizeof(buf[0]), f, ap);
    va_end(ap);
    return b;
}

/* Splits "module!symbol+0xoff"; 0 when the frame has that shape (symbol may be empty). */
static int split(const char *frame, char *mod, char *sym, uint64_t *off)
{
    const char *bang = frame ? strchr(frame, '!') : NULL;
    const char *plus = bang ? strstr(bang, "+0x") : NULL;
    if (!plus || bang - frame >= 256 || plus - bang - 1 >= 256)
        return -1;
    memcpy(mod, frame, (size_t)(bang - frame));
    mod[bang - frame] = 0;
    memcpy(sym, bang + 1, (size_t)(plus - bang - 1));
    sym[plus - bang - 1] = 0;
    char *end;
    *off = strtoull(plus + 3, &end, 16);
    return *end ? -1 : 0;
}

/* frame names addr in libc.so.6: some exported symbol at addr - off. */
static void check_libc_frame(const char *frame, uint64_t addr)
{
    char mod[256], sym[256];
    uint64_t off = 0;
    CHECK(split(frame, mod, sym, &off) == 0);
    CHECK_STR(mod, "libc.so.6");
    CHECK(sym[0] != 0);
    void *at = sym[0] ? dlsym(RTLD_DEFAULT, sym) : NULL;
    if ((uint64_t)(uintptr_t)at + off != addr)
        fprintf(stderr, "  libc frame %s: %s is at %p, want %#" PRIx64 " - %#" PRIx64 "\n", frame, sym, at,
                addr, off);
    CHECK((uint64_t)(uintptr_t)at + off == addr);
}

/* The executable mapping of /proc/self/maps holding addr: start, end, file offset, path. */
static int self_map(uint64_t addr, uint64_t *start, uint64_t *end, uint64_t *off, char *path)
{
    FILE *f = fopen("/proc/self/maps", "re");
    char line[1024];
    int found = -1;
    while (f && fgets(line, sizeof(line), f)) {
        char perms[8];
        path[0] = 0;
        if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %7s %" SCNx64 " %*s %*s %1023s", start, end, perms, off,
                   path) >= 4 &&
            addr >= *start && addr < *end) {
            found = 0;
            break;
        }
    }
    if (f)
        fclose(f);
    return found;
}

/* Copies file from to a new file to; an fd of the copy open for reading and writing, or -1. */
static int copy_file(const char *from, const char *to)
{
    int in = open(from, O_RDONLY | O_CLOEXEC);
    int out = open(to, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0700);
    char buf[65536];
    ssize_t n = 0;
    while (in >= 0 && out >= 0 && (n = read(in, buf, sizeof(buf))) > 0) {
        if (write(out, buf, (size_t)n) != n) {
            n = -1;
            break;
        }
    }
    if (in >= 0)
        close(in);
    if (n < 0 || in < 0) {
        if (out >= 0)
            close(out);
        return -1;
    }
    return out;
}

static elaine_stack_stats stats(void)
{
    elaine_stack_stats st;
    elaine_stack_cache_stats(&st);
    return st;
}

/* ---- tests ---- */

static void test_own_symbols(void)
{
    CASE("own symbols and the cache");
    uint32_t pid = (uint32_t)getpid();
    elaine_stack_probe_fn(1);
    uint64_t fn = probe_addr(), ra = probe_ra;
    CHECK(ra > fn && ra - fn < 256);

    elaine_stack_stats a = stats();
    CHECK_INT(a.parses, 0);
    elaine_stack *s = elaine_stack_new(pid, 0);
    uint64_t addrs[5] = {ra, fn, fn + 1, (uint64_t)(uintptr_t)&getpid, (uint64_t)(uintptr_t)&getpid + 4};
    char **f = NULL;
    CHECK_INT(elaine_stack_name(s, addrs, 5, &f), 0);
    if (f) {
        CHECK_STR(f[0], fmt("test_stack!elaine_stack_probe_fn+0x%" PRIx64, ra - fn));
        CHECK_STR(f[1], "test_stack!elaine_stack_probe_fn+0x0");
        CHECK_STR(f[2], "test_stack!elaine_stack_probe_fn+0x1");
        check_libc_frame(f[3], addrs[3]);
        CHECK(strstr(f[3], "+0x0") != NULL);
        check_libc_frame(f[4], addrs[4]);
        check_json(f, 5);
    }
    elaine_stack_stats b = stats();
    CHECK_INT(b.parses, 2); /* test_stack and libc.so.6, each once */
    CHECK_INT(b.modules, 2);

    /* The same context again (the stack is a copy of the one kept), then a
     * new one: no file is read again. */
    char **g = NULL;
    CHECK_INT(elaine_stack_name(s, addrs, 5, &g), 0);
    CHECK(g != NULL && g != f);
    for (int i = 0; f && g && i < 5; i++) {
        CHECK_STR(g[i], f[i]);
        CHECK(g[i] != f[i]);
    }
    if (f && g) {
        check_json(g, 5);
        CHECK(elaine_stack_json(g, 5) != elaine_stack_json(f, 5));
    }
    elaine_stack_frames_free(f, 5);
    /* a stack that shares the first address, and one that is a prefix */
    uint64_t other[5] = {ra, fn + 1, fn, addrs[3], addrs[4]};
    CHECK_INT(elaine_stack_name(s, other, 5, &f), 0);
    if (f && g) {
        CHECK_STR(f[1], g[2]);
        CHECK_STR(f[2], g[1]);
        CHECK_STR(f[4], g[4]);
    }
    elaine_stack_frames_free(f, 5);
    CHECK_INT(elaine_stack_name(s, addrs, 2, &f), 0);
    if (f && g) {
        CHECK_STR(f[0], g[0]);
        CHECK_STR(f[1], g[1]);
    }
    elaine_stack_frames_free(f, 2);
    for (int k = 0; k < 16; k++) { /* more stacks than are kept, then the first again */
        uint64_t two[2] = {fn + (uint64_t)(k / 4), fn + (uint64_t)(k % 4)};
        CHECK_INT(elaine_stack_name(s, two, 2, &f), 0);
        if (f) {
            CHECK_STR(f[0], fmt("test_stack!elaine_stack_probe_fn+0x%x", k / 4));
            CHECK_STR(f[1], fmt("test_stack!elaine_stack_probe_fn+0x%x", k % 4));
            check_json(f, 2);
        }
        elaine_stack_frames_free(f, 2);
    }
    CHECK_INT(elaine_stack_name(s, addrs, 5, &f), 0);
    for (int i = 0; f && g && i < 5; i++)
        CHECK_STR(f[i], g[i]);
    elaine_stack_frames_free(f, 5);
    elaine_stack_frames_free(g, 5);
    elaine_stack_free(s);
    for (int i = 0; i < 3; i++) {
        char *x = name1(pid, ra);
        CHECK_STR(x, fmt("test_stack!elaine_stack_probe_fn+0x%" PRIx64, ra - fn));
        free(x);
    }
    elaine_stack_stats c = stats();
    CHECK_INT(c.parses, 2);
    CHECK_INT(c.hits, b.hits + 3);
    CHECK_INT(c.modules, 2);
}

static void test_fallbacks(void)
{
    CASE("fallbacks");
    uint32_t pid = (uint32_t)getpid();
    /* No mapping at all; a mapping that is not executable. */
    char *x = name1(pid, 0x10);
    CHECK_STR(x, "?!0x10");
    free(x);
    char *data = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (data != MAP_FAILED) {
        x = name1(pid, (uint64_t)(uintptr_t)data + 8);
        CHECK_STR(x, fmt("?!0x%" PRIx64, (uint64_t)(uintptr_t)data + 8));
        free(x);
        munmap(data, 4096);
    }
    /* Anonymous executable memory (a JIT): the mapping, no file. */
    char *jit = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (jit != MAP_FAILED) {
        x = name1(pid, (uint64_t)(uintptr_t)jit + 0x12);
        CHECK_STR(x, "[anon]!+0x12");
        free(x);
        munmap(jit, 4096);
    }
    /* A process that does not exist. */
    elaine_stack *s = elaine_stack_new(0x7ffffff0u, 0);
    uint64_t a = probe_addr();
    char **f = NULL;
    CHECK_INT(elaine_stack_name(s, &a, 1, &f), -ESRCH);
    CHECK(f == NULL);
    elaine_stack_free(s);
}

/* A copy of this executable mapped at another address (a bias the linker never
 * chose), then changed in place, then deleted. */
static void test_copy_changed(void)
{
    CASE("a mapped copy, changed, deleted");
    uint32_t pid = (uint32_t)getpid();
    uint64_t fn = probe_addr(), start, end, off;
    char exe[1024], copy[64];
    if (self_map(fn, &start, &end, &off, exe) < 0 || exe[0] != '/') {
        CHECK(!"the probe is in no file mapping");
        return;
    }
    snprintf(copy, sizeof(copy), "/tmp/test_stack.%d.copy", (int)getpid());
    int fd = copy_file(exe, copy);
    CHECK(fd >= 0);
    if (fd < 0)
        return;
    size_t len = (size_t)(end - start);
    char *base = mmap(NULL, len, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, (off_t)off);
    if (base == MAP_FAILED) {
        fprintf(stderr, "  skipped: mmap PROT_EXEC of %s failed (noexec /tmp?)\n", copy);
        close(fd);
        unlink(copy);
        return;
    }
    uint64_t in_copy = (uint64_t)(uintptr_t)base + (fn - start) + 3;
    uint64_t fo = fn - start + off + 3;
    elaine_stack_stats a = stats();
    char *x = name1(pid, in_copy);
    CHECK_STR(x, fmt("test_stack.%d.copy!elaine_stack_probe_fn+0x3", (int)getpid()));
    free(x);
    CHECK_INT(stats().parses, a.parses + 1);

    /* Changed in place (same inode, new mtime): read again, no longer an ELF file. */
    struct timespec ts[2] = {{1000000000, 0}, {1000000000, 0}};
    CHECK(pwrite(fd, "\0\0\0\0", 4, 0) == 4);
    CHECK(futimens(fd, ts) == 0);
    x = name1(pid, in_copy);
    CHECK_STR(x, fmt("test_stack.%d.copy!+0x%" PRIx64, (int)getpid(), fo));
    free(x);
    CHECK_INT(stats().parses, a.parses + 2);

    /* Deleted: the module keeps its name, without symbols from a file that changed. */
    close(fd);
    unlink(copy);
    x = name1(pid, in_copy);
    CHECK_STR(x, fmt("test_stack.%d.copy!+0x%" PRIx64, (int)getpid(), fo));
    free(x);
    munmap(base, len);
}

/* Another process, named after it exited: the maps read while it ran, the
 * files then through their paths. */
static void test_other_process(void)
{
    CASE("another process, exited");
    int p[2];
    CHECK(pipe(p) == 0);
    pid_t child = fork();
    if (child == 0) {
        char c;
        close(p[1]);
        if (read(p[0], &c, 1) < 0)
            _exit(1);
        _exit(0);
    }
    close(p[0]);
    CHECK(child > 0);
    elaine_stack_cache_clear(); /* libc must be read after the child is gone */
    elaine_stack *s = elaine_stack_new((uint32_t)child, 0);
    uint64_t fn = probe_addr(), gp = (uint64_t)(uintptr_t)&getpid;
    char **f = NULL;
    CHECK_INT(elaine_stack_name(s, &fn, 1, &f), 0);
    if (f)
        CHECK_STR(f[0], "test_stack!elaine_stack_probe_fn+0x0");
    elaine_stack_frames_free(f, 1);
    close(p[1]);
    CHECK(waitpid(child, NULL, 0) == child);
    f = NULL;
    CHECK_INT(elaine_stack_name(s, &gp, 1, &f), 0);
    if (f)
        check_libc_frame(f[0], gp);
    elaine_stack_frames_free(f, 1);
    elaine_stack_free(s);
}

static void test_eviction(void)
{
    CASE("bounded cache");
    uint32_t pid = (uint32_t)getpid();
    uint64_t fn = probe_addr(), gp = (uint64_t)(uintptr_t)&getpid;
    elaine_stack_cache_clear();
    elaine_stack_cache_limit(1);
    elaine_stack_stats a = stats();
    CHECK_INT(a.modules, 0);
    char *x = name1(pid, fn);
    CHECK_STR(x, "test_stack!elaine_stack_probe_fn+0x0");
    free(x);
    x = name1(pid, gp);
    check_libc_frame(x, gp);
    free(x);
    CHECK_INT(stats().modules, 1);
    /* A context holding an evicted module still names with it. */
    elaine_stack *s = elaine_stack_new(pid, 0);
    char **f = NULL;
    CHECK_INT(elaine_stack_name(s, &fn, 1, &f), 0);
    elaine_stack_frames_free(f, 1);
    x = name1(pid, gp); /* evicts test_stack while s holds it */
    free(x);
    CHECK_INT(elaine_stack_name(s, &fn, 1, &f), 0);
    if (f)
        CHECK_STR(f[0], "test_stack!elaine_stack_probe_fn+0x0");
    elaine_stack_frames_free(f, 1);
    elaine_stack_free(s);
    elaine_stack_stats b = stats();
    CHECK_INT(b.parses, a.parses + 4); /* test_stack, libc, test_stack, libc */
    CHECK_INT(b.modules, 1);
    elaine_stack_cache_limit(0);
    x = name1(pid, fn);
    free(x);
    x = name1(pid, gp);
    free(x);
    x = name1(pid, fn);
    free(x);
    CHECK_INT(stats().parses, b.parses + 1); /* only test_stack again */
    CHECK_INT(stats().modules, 2);
}

int main(void)
{
    test_own_symbols();
    test_fallbacks();
    test_copy_changed();
    test_other_process();
    test_eviction();
    elaine_stack_cache_clear();
    return check_done("test_stack");
}
