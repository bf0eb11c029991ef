/* A temporary directory for the tests that write files: made under /tmp, removed with all it holds. */
#ifndef ELAINE_TEST_TMPDIR_H
#define ELAINE_TEST_TMPDIR_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Removes path, and everything under it when it is a directory; errors are
 * ignored. (Not inline: inlined into itself, GCC sees a 1 KiB path go into
 * the 1 KiB buffer and -Wformat-truncation fires.) */
__attribute__((unused)) static void rm_rf(const char *path)
{
    DIR *d = opendir(path);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                continue;
            char p[1024];
            snprintf(p, sizeof(p), "%s/%s", path, e->d_name);
            rm_rf(p);
        }
        closedir(d);
        rmdir(path);
    } else {
        unlink(path);
    }
}

/* Makes a fresh directory /tmp/<name>.XXXXXX and writes its path to root
 * (size bytes). 0, or -1 after a message naming mkdtemp() and the cause. */
__attribute__((unused)) static int tmpdir_make(char *root, size_t size, const char *name)
{
    snprintf(root, size, "/tmp/%s.XXXXXX", name);
    if (!mkdtemp(root)) {
        perror("mkdtemp");
        return -1;
    }
    return 0;
}

#endif
