/* elaine-collector: the daemon. Flags, daemonizing, pidfile; the serving is elaine_ingest. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "elaine_ingest.h"
#include "elaine_mask.h"
#include "elaine_paths.h"
#include "elaine_record.h"

#define EXIT_RUNNING 3

static int report_fd = -1; /* --daemon: the pipe to the waiting parent */

/* An error before serving: to the parent of a daemon, else to stderr. */
static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail(const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (report_fd >= 0) {
        char line[1100];
        int n = snprintf(line, sizeof(line), "elaine-collector: %s\n", msg);
        if (write(report_fd, line, (size_t)n) < 0) {
            /* the parent is gone: nobody to tell */
        }
    } else {
        fprintf(stderr, "elaine-collector: %s\n", msg);
    }
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: elaine-collector [options]\n"
            "Receives the events of libmemoryelaine.so and writes one JSON line per\n"
            "HTTP exchange into rotating log files.\n\n"
            "  --dir DIR              log directory (default $XDG_STATE_HOME/memoryelaine)\n"
            "  --socket PATH          socket (default $XDG_RUNTIME_DIR/memoryelaine/collector.sock)\n"
            "  --max-file-size SIZE   rotate beyond SIZE bytes (K, M, G suffixes; default 64M)\n"
            "  --max-file-age AGE     rotate after AGE (s, m, h, d suffixes; default 1h)\n"
            "  --keep N               rotated files kept (default 48)\n"
            "  --fsync MODE           never | rotate | always (default rotate)\n"
            "  --sample RATE          fraction of successful exchanges kept (default 1)\n"
            "  --sample-seed N        seed of the sampling hash (default 0)\n"
            "  --content MODE         full | redacted | none (default full)\n"
            "  --redact-pattern RE    with --content redacted, also mask what the POSIX\n"
            "                         extended regex RE matches (repeatable)\n"
            "  --max-body SIZE        decoded body bytes kept per body (default 8M)\n"
            "  --max-buffered SIZE    memory for frames still arriving, all clients\n"
            "                         together (default 256M, at least 32M)\n"
            "  --metrics HOST:PORT    Prometheus endpoint: GET http://HOST:PORT/metrics (off by default;\n"
            "                         [::1]:PORT for IPv6, :PORT for every address)\n"
            "  --daemon               detach; exit 0 once serving\n"
            "  --pidfile FILE         write the serving process id to FILE\n"
            "  --ping                 exit 0 when a collector answers on the socket, 1 otherwise\n"
            "  --verbose              notes about ignored connections on stderr\n"
            "  --help, --version\n");
}

/* "64M", "512K", "1G", "1000": bytes. 0, or -1 when malformed. */
static int parse_size(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *s == '-')
        return -1;
    uint64_t mul = 1;
    switch (*end) {
    case 'k': case 'K': mul = 1ull << 10; end++; break;
    case 'm': case 'M': mul = 1ull << 20; end++; break;
    case 'g': case 'G': mul = 1ull << 30; end++; break;
    default: break;
    }
    if (mul > 1 && (*end == 'i' || *end == 'I'))
        end++;
    if (*end == 'b' || *end == 'B')
        end++;
    if (*end || (v && mul > UINT64_MAX / v))
        return -1;
    *out = v * mul;
    return 0;
}

/* "30s", "5m", "1h", "2d", "90": seconds. */
static int parse_age(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *s == '-')
        return -1;
    uint64_t mul = 1;
    switch (*end) {
    case 's': end++; break;
    case 'm': mul = 60; end++; break;
    case 'h': mul = 3600; end++; break;
    case 'd': mul = 86400; end++; break;
    default: break;
    }
    if (*end || (v && mul > UINT64_MAX / v))
        return -1;
    *out = v * mul;
    return 0;
}

static int write_pidfile(const char *path)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
        return -ENAMETOOLONG;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    char buf[32];
    int n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
    int rc = write(fd, buf, (size_t)n) == n ? 0 : -EIO;
    if (close(fd) < 0 && rc == 0)
        rc = -errno;
    if (rc == 0 && rename(tmp, path) < 0)
        rc = -errno;
    if (rc < 0)
        unlink(tmp);
    return rc;
}

/* A collector serves one connection per shim process: the soft limit on
 * descriptors (often 1024) is raised to the hard one. */
static void raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
            /* keeps the soft limit; accept4() failures pause accepting */
        }
    }
}

/* --daemon: stderr (write errors, refused clients) goes to DIR/elaine-collector.log
 * (0600, appended; the previous one kept as .1 beyond 1 MiB), not /dev/null.
 * Called once the log folder is known to be ours. */
static void daemon_stderr(const char *dir)
{
    char path[PATH_MAX], old[PATH_MAX + 2];
    if (snprintf(path, sizeof(path), "%s/elaine-collector.log", dir) >= (int)sizeof(path))
        return;
    struct stat st;
    if (lstat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > (1 << 20)) {
        snprintf(old, sizeof(old), "%s.1", path);
        if (rename(path, old) < 0) {
            /* appends to the big one */
        }
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid()) {
        close(fd);
        return;
    }
    fchmod(fd, 0600);
    dup2(fd, 2);
    close(fd);
}

/* --daemon: the parent waits for the child's word. Returns in the child only. */
static void daemonize(void)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) {
        fprintf(stderr, "elaine-collector: pipe2() failed: %s\n", strerror(errno));
        exit(1);
    }
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "elaine-collector: fork() failed: %s\n", strerror(errno));
        exit(1);
    }
    if (pid > 0) {
        close(p[1]);
        char buf[1024];
        size_t len = 0;
        ssize_t n;
        while (len < sizeof(buf) - 1 && (n = read(p[0], buf + len, sizeof(buf) - 1 - len)) != 0) {
            if (n < 0) {
                if (errno == EINTR)
                    continue;
                break;
            }
            len += (size_t)n;
        }
        buf[len] = 0;
        if (len > 0 && buf[0] == 0)
            _exit(0); /* the child listens */
        int status = 0;
        if (len)
            fputs(buf, stderr);
        else
            fputs("elaine-collector: the daemon exited before serving\n", stderr);
        if (waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status))
            _exit(WEXITSTATUS(status));
        _exit(1);
    }
    close(p[0]);
    report_fd = p[1];
    setsid();
    int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (fd >= 0) {
        dup2(fd, 0);
        dup2(fd, 1);
        dup2(fd, 2);
        if (fd > 2)
            close(fd);
    }
    if (chdir("/") < 0) {
        /* stays where it was: paths were made absolute before */
    }
}

static char *absolute(const char *path)
{
    if (!path || path[0] == '/')
        return path ? strdup(path) : NULL;
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof(cwd)))
        return strdup(path);
    char *r;
    if (asprintf(&r, "%s/%s", cwd, path) < 0)
        return NULL;
    return r;
}

int main(int argc, char **argv)
{
    enum {
        OPT_DIR = 256, OPT_SOCKET, OPT_MAXSIZE, OPT_MAXAGE, OPT_KEEP, OPT_FSYNC, OPT_SAMPLE, OPT_SEED, OPT_CONTENT,
        OPT_MAXBODY, OPT_METRICS, OPT_DAEMON, OPT_PIDFILE, OPT_PING, OPT_VERBOSE, OPT_HELP, OPT_VERSION,
        OPT_REDACT_PATTERN, OPT_MAXBUFFERED,
    };
    static const struct option longopts[] = {
        {"dir", required_argument, 0, OPT_DIR},
        {"socket", required_argument, 0, OPT_SOCKET},
        {"max-file-size", required_argument, 0, OPT_MAXSIZE},
        {"max-file-age", required_argument, 0, OPT_MAXAGE},
        {"keep", required_argument, 0, OPT_KEEP},
        {"fsync", required_argument, 0, OPT_FSYNC},
        {"sample", required_argument, 0, OPT_SAMPLE},
        {"sample-seed", required_argument, 0, OPT_SEED},
        {"content", required_argument, 0, OPT_CONTENT},
        {"max-body", required_argument, 0, OPT_MAXBODY},
        {"metrics", required_argument, 0, OPT_METRICS},
        {"daemon", no_argument, 0, OPT_DAEMON},
        {"pidfile", required_argument, 0, OPT_PIDFILE},
        {"ping", no_argument, 0, OPT_PING},
        {"verbose", no_argument, 0, OPT_VERBOSE},
        {"help", no_argument, 0, OPT_HELP},
        {"version", no_argument, 0, OPT_VERSION},
        {"redact-pattern", required_argument, 0, OPT_REDACT_PATTERN},
        {"max-buffered", required_argument, 0, OPT_MAXBUFFERED},
        {0, 0, 0, 0},
    };
    const char *dir = NULL, *sock = NULL, *pidfile = NULL, *metrics = NULL;
    uint64_t max_size = 64ull << 20, max_age = 3600, max_body = 8ull << 20, seed = 0;
    uint64_t max_buffered = 256ull << 20;
    long keep = 48;
    enum elaine_fsync fsync_mode = ELAINE_FSYNC_ROTATE;
    enum elaine_content content = ELAINE_CONTENT_FULL;
    double sample = 1.0;
    int daemon_mode = 0, ping = 0, verbose = 0, npatterns = 0, opt;
    char *end;
    /* lives as long as the process; static, so that it is still reachable
     * (not a leak for LeakSanitizer) after the early returns below */
    static elaine_mask *mask;
    mask = elaine_mask_new();
    if (!mask) {
        fprintf(stderr, "elaine-collector: out of memory\n");
        return 1;
    }

    while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (opt) {
        case OPT_DIR: dir = optarg; break;
        case OPT_SOCKET: sock = optarg; break;
        case OPT_MAXSIZE:
            if (parse_size(optarg, &max_size) < 0)
                goto bad_value;
            break;
        case OPT_MAXAGE:
            if (parse_age(optarg, &max_age) < 0)
                goto bad_value;
            break;
        case OPT_KEEP:
            keep = strtol(optarg, &end, 10);
            if (*end || end == optarg || keep < 0 || keep > 1000000)
                goto bad_value;
            break;
        case OPT_FSYNC:
            if (strcmp(optarg, "never") == 0)
                fsync_mode = ELAINE_FSYNC_NEVER;
            else if (strcmp(optarg, "rotate") == 0)
                fsync_mode = ELAINE_FSYNC_ROTATE;
            else if (strcmp(optarg, "always") == 0)
                fsync_mode = ELAINE_FSYNC_ALWAYS;
            else
                goto bad_value;
            break;
        case OPT_SAMPLE:
            sample = strtod(optarg, &end);
            if (*end || end == optarg || !(sample >= 0.0 && sample <= 1.0))
                goto bad_value;
            break;
        case OPT_SEED:
            errno = 0;
            seed = strtoull(optarg, &end, 0);
            if (*end || end == optarg || errno)
                goto bad_value;
            break;
        case OPT_CONTENT:
            if (strcmp(optarg, "full") == 0)
                content = ELAINE_CONTENT_FULL;
            else if (strcmp(optarg, "redacted") == 0)
                content = ELAINE_CONTENT_REDACTED;
            else if (strcmp(optarg, "none") == 0)
                content = ELAINE_CONTENT_NONE;
            else
                goto bad_value;
            break;
        case OPT_MAXBODY:
            if (parse_size(optarg, &max_body) < 0 || max_body == 0 || max_body > SIZE_MAX / 2)
                goto bad_value;
            break;
        case OPT_MAXBUFFERED:
            /* at least what one frame of the largest size needs (ELAINE_FRAME_MAX,
             * in a buffer that doubles): an honest shim must get through */
            if (parse_size(optarg, &max_buffered) < 0 || max_buffered < (32ull << 20) ||
                max_buffered > SIZE_MAX / 2)
                goto bad_value;
            break;
        case OPT_METRICS: metrics = optarg; break;
        case OPT_DAEMON: daemon_mode = 1; break;
        case OPT_PIDFILE: pidfile = optarg; break;
        case OPT_PING: ping = 1; break;
        case OPT_VERBOSE: verbose = 1; break;
        case OPT_REDACT_PATTERN: {
            char err[256] = "";
            int rc = elaine_mask_add_pattern(mask, optarg, err, sizeof(err));
            if (rc < 0) {
                fprintf(stderr, "elaine-collector: invalid --redact-pattern \"%s\": %s\n", optarg,
                        rc == -ENOMEM ? "out of memory" : err);
                return 2;
            }
            npatterns++;
            break;
        }
        case OPT_HELP: usage(stdout); return 0;
        case OPT_VERSION: printf("elaine-collector %s\n", ELAINE_VERSION); return 0;
        default: usage(stderr); return 2;
        }
        continue;
    bad_value:
        fprintf(stderr, "elaine-collector: invalid value \"%s\" for --%s\n", optarg,
                longopts[opt - OPT_DIR].name);
        return 2;
    }
    if (optind < argc) {
        fprintf(stderr, "elaine-collector: unexpected argument \"%s\"\n", argv[optind]);
        usage(stderr);
        return 2;
    }

    char sockbuf[256], dirbuf[PATH_MAX];
    if (!sock) {
        if (elaine_socket_path(sockbuf, sizeof(sockbuf), 1) < 0) {
            fprintf(stderr, "elaine-collector: the default socket path is too long\n");
            return 1;
        }
        sock = sockbuf;
    }
    if (ping)
        return elaine_ingest_ping(sock) == 0 ? 0 : 1;
    if (!dir) {
        int rc = elaine_log_dir(dirbuf, sizeof(dirbuf));
        if (rc < 0) {
            fprintf(stderr, "elaine-collector: no log directory: %s (use --dir)\n",
                    rc == -ENOENT ? "HOME is not set" : strerror(-rc));
            return 1;
        }
        dir = dirbuf;
    }
    /* a daemon changes directory: keep relative paths meaning what the user meant */
    char *abs_dir = absolute(dir), *abs_sock = absolute(sock), *abs_pid = absolute(pidfile);
    if (!abs_dir || !abs_sock || (pidfile && !abs_pid)) {
        fprintf(stderr, "elaine-collector: out of memory\n");
        return 1;
    }
    if (npatterns && content != ELAINE_CONTENT_REDACTED)
        fprintf(stderr, "elaine-collector: --redact-pattern applies with --content redacted only\n");

    elaine_record_set_mask(mask);
    raise_nofile();
    signal(SIGPIPE, SIG_IGN);
    signal(SIGXFSZ, SIG_IGN);
    if (daemon_mode)
        daemonize();

    elaine_ingest_opts o = {
        .socket_path = abs_sock,
        .log = {.dir = abs_dir, .max_size = max_size, .max_age_s = max_age, .keep = (int)keep,
                .fsync_mode = fsync_mode},
        .max_body = (size_t)max_body,
        .sample = sample,
        .sample_seed = seed,
        .content = content,
        .name_stacks = 1,
        .handle_signals = 1,
        .verbose = verbose,
        .max_buffered = (size_t)max_buffered,
        .metrics_addr = metrics,
    };
    elaine_ingest *s;
    char err[512];
    int rc = elaine_ingest_new(&s, &o, err, sizeof(err));
    if (rc < 0) {
        fail("%s", err);
        free(abs_dir);
        free(abs_sock);
        free(abs_pid);
        return rc == -EADDRINUSE ? EXIT_RUNNING : 1;
    }
    if (abs_pid && (rc = write_pidfile(abs_pid)) < 0) {
        fail("open() \"%s\" failed: %s", abs_pid, strerror(-rc));
        elaine_ingest_free(s);
        free(abs_dir);
        free(abs_sock);
        free(abs_pid);
        return 1;
    }
    if (daemon_mode)
        daemon_stderr(abs_dir);
    if (report_fd >= 0) {
        char ok = 0;
        if (write(report_fd, &ok, 1) < 0) {
            /* the parent is gone; serve anyway */
        }
        close(report_fd);
        report_fd = -1;
    }
    rc = elaine_ingest_run(s);
    elaine_ingest_free(s);
    if (abs_pid)
        unlink(abs_pid);
    free(abs_dir);
    free(abs_sock);
    free(abs_pid);
    elaine_record_set_mask(NULL);
    elaine_mask_free(mask);
    return rc < 0 ? 1 : 0;
}
