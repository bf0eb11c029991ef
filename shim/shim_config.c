/* The shim's configuration, read once from ELAINE_* variables, and its diagnostics. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

#include "elaine_paths.h"
#include "shim.h"

struct elaine_cfg elaine_cfg;

static int env_flag(const char *name, int dflt)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return dflt;
    return !(strcmp(v, "0") == 0 || strcasecmp(v, "false") == 0 || strcasecmp(v, "no") == 0 ||
             strcasecmp(v, "off") == 0);
}

void elaine_cfg_load(void)
{
    struct elaine_cfg *c = &elaine_cfg;
    const char *v;

    c->debug = env_flag("ELAINE_DEBUG", 0);
    /* Setuid programs are left alone: their environment is not theirs. */
    c->disabled = env_flag("ELAINE_DISABLE", 0) || getauxval(AT_SECURE);
    v = getenv("ELAINE_MODE");
    c->sync = v && strcmp(v, "sync") == 0;
    c->sync_timeout_ms = 0;
    v = getenv("ELAINE_SYNC_TIMEOUT_MS");
    if (v && *v) {
        char *end;
        unsigned long ms = strtoul(v, &end, 10);
        if (*end == 0 && *v != '-' && ms <= 86400000ul) /* a day at most */
            c->sync_timeout_ms = (unsigned)ms;
    }
    c->match_paths = env_flag("ELAINE_MATCH_PATHS", 1);
    c->stack = env_flag("ELAINE_STACK", 1);
    c->queue_bytes = 64u << 20;
    v = getenv("ELAINE_QUEUE_MB");
    if (v && *v) {
        long mb = strtol(v, NULL, 10);
        if (mb > 0 && mb < (1L << 20))
            c->queue_bytes = (size_t)mb << 20;
    }
    elaine_match_init();
    if (elaine_socket_path(c->socket, sizeof(c->socket), 1) < 0) {
        elaine_dbg("socket path too long, capture disabled");
        c->disabled = 1;
    }
}

void elaine_dbg(const char *fmt, ...)
{
    if (!elaine_cfg.debug)
        return;
    int saved = errno;
    char buf[512];
    int n = snprintf(buf, sizeof(buf), "memoryelaine[%d]: ", (int)getpid());
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(buf + n, sizeof(buf) - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (m < 0)
        m = 0;
    n += m;
    if ((size_t)n > sizeof(buf) - 2)
        n = sizeof(buf) - 2;
    buf[n++] = '\n';
    ssize_t r = write(2, buf, (size_t)n);
    (void)r;
    errno = saved;
}
