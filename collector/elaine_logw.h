/* The log writer: whole JSON lines into elaine.jsonl, rotation to zstd files, retention. */
#ifndef ELAINE_LOGW_H
#define ELAINE_LOGW_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "elaine_buf.h"

enum elaine_fsync { ELAINE_FSYNC_NEVER, ELAINE_FSYNC_ROTATE, ELAINE_FSYNC_ALWAYS };

typedef struct elaine_logw_opts {
    const char *dir;          /* created (0700) when missing */
    uint64_t max_size;        /* rotate when the active file would exceed this; 0 = never */
    uint64_t max_age_s;       /* rotate when the active file is older; 0 = never */
    int keep;                 /* rotated files kept (oldest removed first) */
    enum elaine_fsync fsync_mode;
    /* Called after rotation opened a fresh active file (so the caller can
     * start it with its counters line). May call elaine_logw_write. */
    void (*on_new_file)(void *ud);
    void *ud;
} elaine_logw_opts;

typedef struct elaine_logw elaine_logw;

/* Opens (creating, mode 0600, O_APPEND) <dir>/elaine.jsonl; a partial last
 * line left by a crash is cut off first. 0 or -errno; *out set on success. */
int elaine_logw_open(elaine_logw **out, const elaine_logw_opts *o);
/* Appends line + "\n" as one whole line (line must not contain "\n").
 * Rotates first when the size limit requires. On a failed or short write
 * the file is truncated back to its last whole line and -errno returned;
 * the next call tries again. */
int elaine_logw_write(elaine_logw *w, const char *line, size_t n);
/* The writer's line buffer, for a caller that gathers many lines: append
 * whole lines to it (each ending in "\n", none with another inside), then
 * elaine_logw_flush writes them. Appends may move it (take the pointer
 * again after any call on w); what is in it before the pending lines must
 * stay as it is (the shadow reads its frame from there). */
elaine_buf *elaine_logw_lines(elaine_logw *w);
/* Bytes appended to the line buffer and not yet written. */
size_t elaine_logw_pending(const elaine_logw *w);
/* Writes the pending lines in one write: all or none (on failure they are
 * dropped, and -errno returned; -ENOMEM when an append had failed). */
int elaine_logw_flush(elaine_logw *w);
/* Appends n bytes of whole lines, each ending in "\n" (the caller checked
 * that none has another inside), to the line buffer, and flushes. */
int elaine_logw_write_lines(elaine_logw *w, const char *text, size_t n);
/* Call about once a second: rotation by age, and a new active file when
 * the old one (or the folder) was removed from outside. 1 if it began a new file. */
int elaine_logw_tick(elaine_logw *w, time_t now);
/* Rotates now (if the active file is not empty): the active file becomes
 * elaine-YYYYmmddTHHMMSS.ffffffZ.jsonl.zst (a -N suffix on a collision), mode
 * 0600, and files beyond keep are removed. 0 or -errno. */
int elaine_logw_rotate(elaine_logw *w);
/* Closes and reopens the active file (SIGHUP, after an outside mover). */
int elaine_logw_reopen(elaine_logw *w);
/* fsync per the policy's "always" point; the writer does this itself. */
void elaine_logw_close(elaine_logw *w); /* fsyncs unless the mode is never */
/* Write errors since open. */
uint64_t elaine_logw_errors(const elaine_logw *w);

/* Notes on the above:
 * - keep <= 0 keeps every rotated file (nothing is deleted).
 * - A line containing "\n" is refused with -EINVAL.
 * - The caller ignores SIGXFSZ (a write beyond RLIMIT_FSIZE then fails with
 *   EFBIG and is cut back like any other failed write).
 * - A rotation that failed half way (compression: no space) leaves
 *   elaine-<time>.jsonl, which readers read as well; elaine_logw_open
 *   compresses such leftovers and removes stale *.zst.tmp files and a stale
 *   .elaine.jsonl.zst.part.
 * - Compression happens while writing: the lines written go to a zstd
 *   stream as well, into <dir>/.elaine.jsonl.zst.part (0600), which rotation
 *   renames to the .zst instead of reading the active file back. It stands
 *   in only for a file it saw from empty: for a file found non-empty at open
 *   or reopen, after a write that failed part way (cut back), a change from
 *   outside (the size differs) or a failure of its own, the next rotation
 *   reads the file back as before. Its failures are not write errors (no
 *   line is lost); a failed read-back is.
 * - With fsync at rotation, the shadow (its frame ended) is fsynced before
 *   the active file is renamed, and the active file is not: the .zst is
 *   what is kept. A file compressed by reading back is fsynced first.
 * - Age counts from the first line of the active file, or for a file found
 *   at open, from its creation (birth time, else mtime). */

#endif
