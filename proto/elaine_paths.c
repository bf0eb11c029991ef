/* Default locations shared by every binary: the collector socket and the log directory. */
#include "elaine_paths.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int fit(int n, size_t size)
{
    return (n < 0 || (size_t)n >= size) ? -ENAMETOOLONG : 0;
}

int elaine_socket_path(char *buf, size_t size, int use_env)
{
    const char *s = use_env ? getenv("ELAINE_SOCKET") : NULL;
    if (s && *s)
        return fit(snprintf(buf, size, "%s", s), size);
    s = getenv("XDG_RUNTIME_DIR");
    if (s && *s)
        return fit(snprintf(buf, size, "%s/memoryelaine/collector.sock", s), size);
    return fit(snprintf(buf, size, "/tmp/memoryelaine-%u/collector.sock", (unsigned)getuid()), size);
}

int elaine_log_dir(char *buf, size_t size)
{
    const char *s = getenv("XDG_STATE_HOME");
    if (s && *s)
        return fit(snprintf(buf, size, "%s/memoryelaine", s), size);
    s = getenv("HOME");
    if (!s || !*s)
        return -ENOENT;
    return fit(snprintf(buf, size, "%s/.local/state/memoryelaine", s), size);
}

int elaine_private_dir(const char *path, int sticky_ok)
{
    struct stat st;
    if (lstat(path, &st) < 0)
        return -errno;
    if (!S_ISDIR(st.st_mode))
        return -ENOTDIR;
    if (st.st_uid != geteuid() && st.st_uid != 0)
        return -EPERM;
    if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(sticky_ok && (st.st_mode & S_ISVTX)))
        return -EACCES;
    return 0;
}

int elaine_mkdirs(const char *path, int mode)
{
    char tmp[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof(tmp))
        return -ENAMETOOLONG;
    memcpy(tmp, path, n + 1);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(tmp, mode) < 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    if (mkdir(tmp, mode) < 0 && errno != EEXIST)
        return -errno;
    return 0;
}
