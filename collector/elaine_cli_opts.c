/* Options every elaine subcommand shares: --dir, the filters, --color, --width, --help. */
#include "elaine_cli_opts.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "elaine_cli_read.h"

const char elaine_cli_opts_help[] =
    "  --dir DIR      log directory (default $ELAINE_DIR, else $XDG_STATE_HOME/memoryelaine\n"
    "                 or ~/.local/state/memoryelaine), e.g. --dir /tmp/me-logs\n"
    "  --color WHEN   auto (default: on a terminal unless NO_COLOR is set), always, never\n"
    "  -h, --help     this help\n";

void elaine_cli_opts_init(elaine_cli_opts *o)
{
    memset(o, 0, sizeof(*o));
    elaine_cli_filter_init(&o->filter);
    o->color = -1;
}

void elaine_cli_opts_free(elaine_cli_opts *o)
{
    elaine_cli_filter_free(&o->filter);
}

int elaine_cli_parse_count(const char *s, long *out)
{
    char *end;
    errno = 0;
    long v = s ? strtol(s, &end, 10) : 0;
    if (!s || errno || end == s || *end || v < 0 || v > 100000000)
        return -1;
    *out = v;
    return 0;
}

int elaine_cli_opts_take(elaine_cli_opts *o, int argc, char **argv, int *i)
{
    const char *a = argv[*i], *val;
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
        o->help = 1;
        return 1;
    }
    if (elaine_cli_arg(argc, argv, i, "--dir", &val)) {
        if (!val || !*val) {
            fprintf(stderr, "elaine: --dir needs a directory\n");
            return -1;
        }
        o->dir = val;
        return 1;
    }
    if (elaine_cli_arg(argc, argv, i, "--color", &val) || elaine_cli_arg(argc, argv, i, "--colour", &val)) {
        if (val && !strcmp(val, "always"))
            o->color = 1;
        else if (val && !strcmp(val, "never"))
            o->color = 0;
        else if (val && !strcmp(val, "auto"))
            o->color = -1;
        else {
            fprintf(stderr, "elaine: --color takes auto, always or never\n");
            return -1;
        }
        return 1;
    }
    if (!strcmp(a, "--no-color")) {
        o->color = 0;
        return 1;
    }
    return elaine_cli_filter_opt(&o->filter, argc, argv, i);
}

int elaine_cli_opts_done(elaine_cli_opts *o)
{
    int rc = elaine_cli_log_dir(o->dir, o->dirbuf, sizeof(o->dirbuf), &o->dir);
    if (rc < 0)
        return rc;
    int tty = isatty(STDOUT_FILENO);
    if (o->color < 0) {
        const char *nc = getenv("NO_COLOR");
        const char *term = getenv("TERM");
        o->color = tty && !(nc && *nc) && !(term && !strcmp(term, "dumb"));
    }
    if (o->width == 0 && tty) {
        struct winsize ws;
        if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
            o->width = ws.ws_col;
        else
            o->width = 80;
    }
    return 0;
}

int elaine_cli_usage_error(const char *usage, const char *why, const char *arg)
{
    if (why)
        fprintf(stderr, "elaine: %s%s%s\n", why, arg ? ": " : "", arg ? arg : "");
    fputs(usage, stderr);
    return 2;
}
