/* Reading the log directory: rotated files in time order, then elaine.jsonl, and following it. */
#ifndef ELAINE_LOGREAD_H
#define ELAINE_LOGREAD_H

#include <stddef.h>

/* Called once per line, without its "\n"; line[n] is 0. The line is only
 * valid during the call. A non-zero return stops the iteration and is
 * passed back to the caller (use a positive value to tell it from -errno). */
typedef int (*elaine_logread_cb)(void *ud, const char *line, size_t n);

/* Orders two rotated file names by time: elaine-<UTC time>[-N].jsonl[.zst],
 * the -N collision suffix compared as a number (plain strcmp would put "-1"
 * before the unsuffixed name). <0, 0, >0 like strcmp. */
int elaine_logread_namecmp(const char *a, const char *b);

/* The rotated files of dir (names, not paths), oldest first: every
 * elaine-*.jsonl.zst, and an uncompressed elaine-*.jsonl left by a rotation
 * in progress or interrupted (unless its .zst exists too). On success *names
 * is a malloc'd array of *count malloc'd strings (caller frees with
 * elaine_logread_list_free). A missing dir is -ENOENT. 0 or -errno. */
int elaine_logread_list(const char *dir, char ***names, size_t *count);
void elaine_logread_list_free(char **names, size_t count);

/* Passes every line of one file to cb, decompressing when the name ends in
 * ".zst". A last line without "\n" is passed only for a .zst file (in a plain
 * file it may be half written). 0, cb's non-zero value, or -errno
 * (-EBADMSG for a corrupt or truncated zstd stream, after the lines before it). */
int elaine_logread_file(const char *path, elaine_logread_cb cb, void *ud);

/* Every line of the directory: the rotated files oldest first, then
 * elaine.jsonl (a missing one is not an error). Stops at the first error. */
int elaine_logread_each(const char *dir, elaine_logread_cb cb, void *ud);

/* Following elaine.jsonl as it grows and rotates. */
typedef struct elaine_logfollow elaine_logfollow;

/* Never fails because elaine.jsonl (or dir) does not exist yet: it is opened
 * when it appears. 0 or -errno (-ENOMEM). */
int elaine_logfollow_open(elaine_logfollow **out, const char *dir);
/* Passes the whole lines appended since the last call (from the start of the
 * file at the first call). When the file was rotated (another inode now has
 * the name) the old one is read to its end first, then the new one from its
 * start; when it shrank, reading resumes at its new end (or at its start if it
 * shrank below the lines already passed). 0, cb's value, or -errno. */
int elaine_logfollow_read(elaine_logfollow *f, elaine_logread_cb cb, void *ud);
/* Sleeps until the directory changes (inotify) or timeout_ms passes.
 * 0, or -EINTR when a signal arrived. */
int elaine_logfollow_wait(elaine_logfollow *f, int timeout_ms);
void elaine_logfollow_close(elaine_logfollow *f);

/* Read + wait forever until cb returns non-zero (returned) or an error
 * (-errno; -EINTR on a signal). */
int elaine_logread_follow(const char *dir, elaine_logread_cb cb, void *ud);

#endif
