/* elaine: the reader of the log directory; dispatches to the subcommands
 * (tail, show, stats, export), each in its own elaine_cli_* module. */
#include <stdio.h>
#include <string.h>

#include "elaine_cli_export.h"
#include "elaine_cli_opts.h"
#include "elaine_cli_show.h"
#include "elaine_cli_stats.h"
#include "elaine_cli_tail.h"

#define ELAINE_VERSION "0.1.0"

static const char usage_text[] =
    "usage: elaine tail [-n N] [-f] [--json] [--all] [filters] [--dir DIR]\n"
    "       elaine show ID [--json | --raw] [--dir DIR]\n"
    "       elaine stats [--by model|provider|host|exe|status] [--json] [filters] [--dir DIR]\n"
    "       elaine export --format jsonl|openai|otlp [filters] [--dir DIR]\n"
    "       elaine CMD --help | elaine --help | elaine --version\n"
    "\n"
    "Reads the LLM exchanges MemoryElaine recorded: the active elaine.jsonl and the\n"
    "rotated elaine-*.jsonl.zst of the log directory, in time order, as one stream\n"
    "(an exchange resent after a collector restart is shown once).\n"
    "\n"
    "commands:\n"
    "  tail     the last exchanges, one line each; -f follows    elaine tail -n 20 --since 1h\n"
    "  show     one exchange whole; a unique id prefix is enough  elaine show 14529-4823\n"
    "  stats    counts, error rate, latency percentiles, tokens   elaine stats --by provider\n"
    "  export   records for other tools (jsonl, OpenAI fine-tuning, OTLP/JSON spans)\n"
    "                                                             elaine export --format openai > ft.jsonl\n"
    "\n"
    "common options:\n";

static const char exit_text[] =
    "\n"
    "exit status: 0 ok; 1 nothing matched (show) or a file or the directory could not\n"
    "be read; 2 usage error. An unreadable or corrupt file is named on stderr and the\n"
    "rest is still read.\n";

static void help(FILE *to)
{
    fputs(usage_text, to);
    fputs(elaine_cli_opts_help, to);
    fputs("\n", to);
    fputs(elaine_cli_filter_help, to);
    fputs(exit_text, to);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        help(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        help(stdout);
        return 0;
    }
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "-V")) {
        printf("elaine %s\n", ELAINE_VERSION);
        return 0;
    }
    if (!strcmp(cmd, "tail"))
        return elaine_cli_tail_main(argc - 1, argv + 1);
    if (!strcmp(cmd, "show"))
        return elaine_cli_show_main(argc - 1, argv + 1);
    if (!strcmp(cmd, "stats"))
        return elaine_cli_stats_main(argc - 1, argv + 1);
    if (!strcmp(cmd, "export"))
        return elaine_cli_export_main(argc - 1, argv + 1);
    fprintf(stderr, "elaine: unknown command: %s\n", cmd);
    help(stderr);
    return 2;
}
