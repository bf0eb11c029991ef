/* Names the raw return addresses of a captured process ("module!+0xOFF") from /proc/PID/maps. */
#include "elaine_stack.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct stack_map {
    uint64_t start, end, off;
    char *module; /* basename of the mapped file, "[anon]" without one */
} stack_map;

struct elaine_stack {
    uint32_t pid;
    uint64_t start_time;
    stack_map *maps;
    size_t nmaps;
    int loaded;   /* maps read at least once */
    int reloaded; /* the one re-read after a miss happened */
};

/* Reads state and start time from /proc/PID/stat. 0, or -errno. */
static int read_stat(uint32_t pid, char *state, uint64_t *start_time)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%" PRIu32 "/stat", pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return -errno;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')');
    if (!p || p[1] != ' ')
        return -EINVAL;
    p += 2;
    *state = *p;
    /* p is field 3 (state); field 22 (starttime) is 19 fields further. */
    for (int i = 0; i < 19; i++) {
        p = strchr(p, ' ');
        if (!p)
            return -EINVAL;
        p++;
    }
    *start_time = strtoull(p, NULL, 10);
    return 0;
}

int elaine_stack_proc_alive(uint32_t pid, uint64_t start_time)
{
    char state;
    uint64_t st;
    if (pid == 0)
        return 0;
    int rc = read_stat(pid, &state, &st);
    if (rc == -ENOENT || rc == -ESRCH)
        return 0;
    if (rc < 0) /* no /proc: fall back to kill(2) */
        return !(kill((pid_t)pid, 0) < 0 && errno == ESRCH);
    if (state == 'Z' || state == 'X')
        return 0;
    if (start_time && st != start_time)
        return 0;
    return 1;
}

elaine_stack *elaine_stack_new(uint32_t pid, uint64_t start_time)
{
    elaine_stack *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->pid = pid;
    s->start_time = start_time;
    return s;
}

static void free_maps(elaine_stack *s)
{
    for (size_t i = 0; i < s->nmaps; i++)
        free(s->maps[i].module);
    free(s->maps);
    s->maps = NULL;
    s->nmaps = 0;
}

void elaine_stack_free(elaine_stack *s)
{
    if (!s)
        return;
    free_maps(s);
    free(s);
}

/* Reads the executable mappings. 0, -ESRCH (gone or another process), -ENOMEM. */
static int load_maps(elaine_stack *s)
{
    if (!elaine_stack_proc_alive(s->pid, s->start_time))
        return -ESRCH;
    char path[64];
    snprintf(path, sizeof(path), "/proc/%" PRIu32 "/maps", s->pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return errno == ENOMEM ? -ENOMEM : -ESRCH;
    stack_map *maps = NULL;
    size_t n = 0, cap = 0;
    char *line = NULL;
    size_t lcap = 0;
    int rc = 0;
    while (getline(&line, &lcap, f) > 0) {
        uint64_t start, end, off;
        char perms[8];
        int pos = 0;
        if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %7s %" SCNx64 " %*s %*s%n", &start, &end, perms,
                   &off, &pos) < 4)
            continue;
        if (strchr(perms, 'x') == NULL)
            continue;
        char *file = line + pos;
        while (*file == ' ')
            file++;
        file[strcspn(file, "\n")] = 0;
        const char *base = *file ? file : "[anon]";
        if (*file == '/') {
            const char *slash = strrchr(file, '/');
            base = slash + 1;
        }
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 32;
            stack_map *nm = realloc(maps, ncap * sizeof(*nm));
            if (!nm) {
                rc = -ENOMEM;
                break;
            }
            maps = nm;
            cap = ncap;
        }
        maps[n].module = strdup(base);
        if (!maps[n].module) {
            rc = -ENOMEM;
            break;
        }
        maps[n].start = start;
        maps[n].end = end;
        maps[n].off = off;
        n++;
    }
    free(line);
    fclose(f);
    free_maps(s);
    s->maps = maps;
    s->nmaps = n;
    if (rc < 0) {
        free_maps(s);
        return rc;
    }
    s->loaded = 1;
    return 0;
}

static const stack_map *find_map(const elaine_stack *s, uint64_t addr)
{
    for (size_t i = 0; i < s->nmaps; i++)
        if (addr >= s->maps[i].start && addr < s->maps[i].end)
            return &s->maps[i];
    return NULL;
}

void elaine_stack_frames_free(char **frames, size_t n)
{
    if (!frames)
        return;
    for (size_t i = 0; i < n; i++)
        free(frames[i]);
    free(frames);
}

int elaine_stack_name(elaine_stack *s, const uint64_t *addrs, size_t n, char ***out)
{
    *out = NULL;
    if (!s->loaded) {
        int rc = load_maps(s);
        if (rc < 0)
            return rc;
    }
    if (!s->reloaded) {
        for (size_t i = 0; i < n; i++) {
            if (!find_map(s, addrs[i])) {
                s->reloaded = 1;
                if (load_maps(s) == -ENOMEM)
                    return -ENOMEM;
                break;
            }
        }
    }
    char **frames = calloc(n ? n : 1, sizeof(*frames));
    if (!frames)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        const stack_map *m = find_map(s, addrs[i]);
        int len;
        if (m)
            len = asprintf(&frames[i], "%s!+0x%" PRIx64, m->module, addrs[i] - m->start + m->off);
        else
            len = asprintf(&frames[i], "?!0x%" PRIx64, addrs[i]);
        if (len < 0) {
            frames[i] = NULL;
            elaine_stack_frames_free(frames, n);
            return -ENOMEM;
        }
    }
    *out = frames;
    return 0;
}
