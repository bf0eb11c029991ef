/* The log directory as one stream of records for the elaine subcommands:
 * rotated files oldest first, then elaine.jsonl; filters applied, duplicate
 * exchange ids dropped, unreadable files and non-JSON lines reported on stderr. */
#ifndef ELAINE_CLI_READ_H
#define ELAINE_CLI_READ_H

#include <stddef.h>
#include <stdint.h>

#include "elaine_cli_filter.h"
#include "elaine_json.h"

typedef enum { ELAINE_REC_EXCHANGE, ELAINE_REC_DROP, ELAINE_REC_COLLECTOR, ELAINE_REC_OTHER } elaine_cli_kind;

/* One record, valid during the callback only. */
typedef struct elaine_cli_rec {
    const ej_val *v;     /* the parsed line, an object */
    const char *line;    /* the line as stored, without "\n" */
    size_t n;
    elaine_cli_kind kind;
    const char *type;    /* "type", or NULL */
    int64_t ts;          /* "ts" in microseconds, or ELAINE_CLI_NO_TIME */
    const char *file;    /* the file's name in the directory */
} elaine_cli_rec;

/* Non-zero stops the reading and is passed back. */
typedef int (*elaine_cli_rec_cb)(void *ud, const elaine_cli_rec *r);

/* A set of 64-bit hashes of exchange ids: every id of the stream is kept
 * (16 bytes per distinct exchange at worst), so duplicates are found however
 * far apart they were written. */
typedef struct elaine_cli_idset {
    uint64_t *slot;
    size_t cap, used;
} elaine_cli_idset;

uint64_t elaine_cli_id_hash(const char *s, size_t n); /* never 0 */
/* 1 when h was in the set, else adds it and returns 0; -ENOMEM. */
int elaine_cli_idset_add(elaine_cli_idset *s, uint64_t h);
void elaine_cli_idset_free(elaine_cli_idset *s);

typedef struct elaine_cli_reader {
    const char *dir;
    const elaine_cli_filter *filter; /* NULL: everything */
    int all_kinds;    /* also pass drop/collector/other lines (time filter only) */
    int keep_dups;    /* do not drop duplicate ids */
    int untimed_kinds; /* with all_kinds: pass drop/collector lines outside --since/--until too */
    const char *needle; /* exchange lines without it (ignoring case) are not parsed; NULL: none */
    elaine_cli_rec_cb cb;
    void *ud;
    /* results */
    int bad_files;    /* files that could not be read whole (named on stderr) */
    uint64_t nonjson; /* lines skipped as not JSON */
    uint64_t dups;    /* duplicate exchanges dropped */
    /* internal */
    elaine_cli_idset seen;
    const char *file;
    uint64_t file_nonjson;
} elaine_cli_reader;

void elaine_cli_reader_init(elaine_cli_reader *r, const char *dir, const elaine_cli_filter *f,
                            elaine_cli_rec_cb cb, void *ud);
void elaine_cli_reader_free(elaine_cli_reader *r);

/* Every file of the directory in time order. A rotated file named before
 * --since is skipped unread (its records were all written before its name's
 * time). Files that cannot be read are named on stderr, and reading goes
 * on. 0, the callback's non-zero value, or -errno when the directory
 * cannot be listed (-ENOENT: missing). */
int elaine_cli_read_all(elaine_cli_reader *r);

/* One file of the directory (a rotated name or "elaine.jsonl"; a rotated
 * .jsonl compressed meanwhile is read as .jsonl.zst). A missing active file
 * is empty. 0, the callback's non-zero value, or -errno (already on stderr). */
int elaine_cli_read_file(elaine_cli_reader *r, const char *name);

/* 1 when the rotated file name is older than ts (its name's time <= ts):
 * every record in it began before ts. 0 when newer or not a rotated name. */
int elaine_cli_read_file_before(const char *name, int64_t ts);

/* The line handler, for readers with their own source (elaine_logfollow):
 * parses, filters, dedupes and calls r->cb. Set r->file first. */
int elaine_cli_read_line(void *r, const char *line, size_t n);

/* Prints "elaine: DIR/FILE: skipped N lines that are not JSON" for the
 * current file when there were any, and resets the count. */
void elaine_cli_read_flush_warnings(elaine_cli_reader *r);

/* The log directory: dir when given, else $ELAINE_DIR, else the default
 * (design.md). 0, or -errno with a message on stderr. */
int elaine_cli_log_dir(const char *dir, char *buf, size_t size, const char **out);

#endif
