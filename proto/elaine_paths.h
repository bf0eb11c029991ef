/* Default locations shared by every binary: the collector socket and the log directory. */
#ifndef ELAINE_PATHS_H
#define ELAINE_PATHS_H

#include <stddef.h>

/* Writes the socket path into buf: $ELAINE_SOCKET if set (and use_env),
 * else $XDG_RUNTIME_DIR/memoryelaine/collector.sock, else
 * /tmp/memoryelaine-$UID/collector.sock. 0, or -ENAMETOOLONG. No allocation. */
int elaine_socket_path(char *buf, size_t size, int use_env);

/* The log directory: $XDG_STATE_HOME/memoryelaine, else ~/.local/state/memoryelaine.
 * 0, or -ENAMETOOLONG / -ENOENT (no HOME). */
int elaine_log_dir(char *buf, size_t size);

/* Creates every missing component of path (mode 0700 for the ones it makes). 0 or -errno. */
int elaine_mkdirs(const char *path, int mode);

/* Whether the directory path is ours to keep secrets in: 0 when it is a
 * directory (not a symlink) owned by us or root that nobody else may write
 * to; with sticky_ok, a sticky directory writable by all (/tmp) passes too
 * (nobody else can remove or rename what we put there). -ENOTDIR, -EPERM
 * (owned by another user), -EACCES (writable by others), or -errno of lstat. */
int elaine_private_dir(const char *path, int sticky_ok);

#endif
