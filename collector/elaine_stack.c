/* Names the raw return addresses of a captured process: /proc/PID/maps gives
 * the mapped file, its ELF symbols (read once into a cache shared by every
 * process) give the function. Files are read with pread, never mapped: a file
 * truncated under us cannot SIGBUS the collector. */
#include "elaine_stack.h"
#include "elaine_json.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define MAX_TABLE (64u << 20) /* bytes of one symbol or string table read at most */
#define MAX_PHNUM 512
#define MAX_WALK_BACK 8 /* symbols tried before the nearest when it ends too early */
#define OVERLAYFS_MAGIC 0x794c7630

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define HOST_ELFDATA ELFDATA2LSB
#else
#define HOST_ELFDATA ELFDATA2MSB
#endif

/* One function, [lo, hi) in the file's virtual addresses; name indexes names. */
typedef struct stack_sym {
    uint64_t lo, hi;
    uint32_t name;
} stack_sym;

typedef struct stack_seg {
    uint64_t off, filesz, vaddr;
} stack_seg;

/* The symbols of one file, shared by the cache and the maps that use it.
 * Immutable once cached, except refs and used (under cache.mu). */
typedef struct stack_mod {
    char *path;
    dev_t dev;
    ino_t ino;
    struct timespec mtime;
    off_t size;
    unsigned refs; /* the cache's one, one per stack_map */
    uint64_t used; /* cache tick of the last lookup */
    stack_seg *segs;
    size_t nsegs;
    stack_sym *syms;
    size_t nsyms;
    char *names; /* the string table, NUL-terminated */
} stack_mod;

typedef struct stack_map {
    uint64_t start, end, off, ino;
    unsigned maj, min;
    char *path;     /* as in maps: a file, "[vdso]", or "" */
    char *module;   /* basename of the file, "[anon]" without one */
    stack_mod *mod; /* NULL: no symbols */
    int resolved;   /* mod looked up */
} stack_map;

/* Names of recent addresses (a process names the same frames again and
 * again); valid until the maps are read again. */
#define NAME_SLOTS 256

typedef struct name_slot {
    uint64_t addr;
    char *name;   /* malloc'd; NULL: empty slot */
    size_t len;
    int mapped;   /* the address was in a mapping */
} name_slot;

/* Whole stacks named recently, as elaine_stack_name returned them (a
 * program calls its LLM from few places: the same addresses come with
 * every request); valid until the maps are read again. A hit is one
 * malloc and a copy instead of naming every frame. */
#define STACK_SLOTS 8

typedef struct stack_slot {
    uint64_t *addrs; /* NULL: empty slot */
    size_t n;
    char **frames;   /* a block as elaine_stack_name makes it */
    size_t size;     /* its bytes */
} stack_slot;

struct elaine_stack {
    uint32_t pid;
    uint64_t start_time;
    stack_map *maps;
    size_t nmaps;
    int loaded;   /* maps read at least once */
    int reloaded; /* the one re-read after a miss happened */
    name_slot *names; /* NAME_SLOTS, allocated on first use */
    stack_slot stacks[STACK_SLOTS];
    size_t next_stack; /* the slot the next new stack replaces */
};

static void names_clear(elaine_stack *s)
{
    for (size_t i = 0; s->names && i < NAME_SLOTS; i++) {
        free(s->names[i].name);
        s->names[i].name = NULL;
    }
    for (size_t i = 0; i < STACK_SLOTS; i++) {
        free(s->stacks[i].addrs);
        free(s->stacks[i].frames);
        s->stacks[i] = (stack_slot){0};
    }
}

static struct {
    pthread_mutex_t mu;
    stack_mod *mods[ELAINE_STACK_CACHE_MAX];
    size_t n, limit;
    uint64_t tick, parses, hits;
} cache = {.mu = PTHREAD_MUTEX_INITIALIZER, .limit = ELAINE_STACK_CACHE_MAX};

/* ---- the process ---- */

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

/* ---- reading one ELF file ---- */

/* *out becomes len bytes of fd at off plus `extra` zero bytes (caller frees).
 * 0, -ENOMEM, or -ENOEXEC when the file is too short or unreadable. */
static int read_at(int fd, off_t fsize, uint64_t off, uint64_t len, size_t extra, void **out)
{
    *out = NULL;
    if (off > (uint64_t)fsize || len > (uint64_t)fsize - off || len > SIZE_MAX - extra)
        return -ENOEXEC;
    char *buf = malloc(len + extra ? len + extra : 1);
    if (!buf)
        return -ENOMEM;
    for (uint64_t got = 0; got < len;) {
        ssize_t r = pread(fd, buf + got, len - got, (off_t)(off + got));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            free(buf);
            return -ENOEXEC;
        }
        got += (uint64_t)r;
    }
    memset(buf + len, 0, extra);
    *out = buf;
    return 0;
}

/* A candidate while sorting: aliases at one address keep the best rank. */
typedef struct sym_tmp {
    uint64_t lo, hi;
    uint32_t name, rank;
} sym_tmp;

static int sym_cmp(const void *a, const void *b)
{
    const sym_tmp *x = a, *y = b;
    if (x->lo != y->lo)
        return x->lo < y->lo ? -1 : 1;
    if (x->rank != y->rank)
        return x->rank < y->rank ? -1 : 1;
    return x->name < y->name ? -1 : x->name > y->name;
}

/* Lower is better: a sized symbol, fewer leading underscores, global before weak before local. */
static uint32_t sym_rank(const Elf64_Sym *e, const char *name)
{
    uint32_t u = 0;
    while (u < 3 && name[u] == '_')
        u++;
    unsigned bind = ELF64_ST_BIND(e->st_info);
    uint32_t b = bind == STB_GLOBAL ? 0 : bind == STB_WEAK ? 1 : 2;
    return (e->st_size == 0) * 16 + u * 4 + b;
}

/* Reads the functions of symbol table section idx into m. 0 (m->nsyms may be
 * 0), -ENOMEM, -ENOEXEC. */
static int load_syms(int fd, off_t fsize, const Elf64_Shdr *sh, size_t shnum, size_t idx, stack_mod *m)
{
    const Elf64_Shdr *ss = &sh[idx];
    if (ss->sh_entsize != sizeof(Elf64_Sym) || ss->sh_link >= shnum || ss->sh_size > MAX_TABLE)
        return -ENOEXEC;
    const Elf64_Shdr *strs = &sh[ss->sh_link];
    if (strs->sh_type != SHT_STRTAB || strs->sh_size > MAX_TABLE)
        return -ENOEXEC;
    Elf64_Sym *raw = NULL;
    char *names = NULL;
    sym_tmp *tmp = NULL;
    size_t count = ss->sh_size / sizeof(Elf64_Sym), n = 0;
    int rc = read_at(fd, fsize, ss->sh_offset, count * sizeof(Elf64_Sym), 0, (void **)&raw);
    if (rc == 0)
        rc = read_at(fd, fsize, strs->sh_offset, strs->sh_size, 1, (void **)&names);
    if (rc == 0 && !(tmp = malloc((count ? count : 1) * sizeof(*tmp))))
        rc = -ENOMEM;
    if (rc < 0)
        goto out;
    for (size_t i = 0; i < count; i++) {
        const Elf64_Sym *e = &raw[i];
        unsigned type = ELF64_ST_TYPE(e->st_info);
        if (type != STT_FUNC && type != STT_GNU_IFUNC)
            continue;
        if (e->st_shndx == SHN_UNDEF || e->st_shndx >= shnum || e->st_name == 0 ||
            e->st_name >= strs->sh_size || names[e->st_name] == 0)
            continue;
        const Elf64_Shdr *sec = &sh[e->st_shndx];
        uint64_t lo = e->st_value, hi;
        if (e->st_size)
            hi = lo + e->st_size < lo ? UINT64_MAX : lo + e->st_size;
        else if (lo >= sec->sh_addr && lo - sec->sh_addr < sec->sh_size)
            hi = sec->sh_addr + sec->sh_size; /* cut at the next symbol once sorted */
        else
            hi = lo + 1;
        tmp[n++] = (sym_tmp){lo, hi, e->st_name, sym_rank(e, names + e->st_name)};
    }
    qsort(tmp, n, sizeof(*tmp), sym_cmp);
    free(m->syms);
    m->syms = malloc((n ? n : 1) * sizeof(*m->syms));
    if (!m->syms) {
        rc = -ENOMEM;
        goto out;
    }
    size_t k = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        uint64_t hi = tmp[i].hi;
        int sized = tmp[i].rank < 16;
        for (; j < n && tmp[j].lo == tmp[i].lo; j++)
            if (sized && tmp[j].rank < 16 && tmp[j].hi > hi)
                hi = tmp[j].hi;
        uint64_t next = j < n ? tmp[j].lo : UINT64_MAX;
        m->syms[k++] = (stack_sym){tmp[i].lo, sized || hi < next ? hi : next, tmp[i].name};
        i = j;
    }
    m->nsyms = k;
    free(m->names);
    m->names = names;
    names = NULL;
out:
    free(raw);
    free(names);
    free(tmp);
    return rc;
}

/* Reads the loadable segments and the functions (.symtab, else .dynsym) of fd
 * into m. 0; -ENOMEM; -ENOEXEC (not an ELF file of ours: m stays empty). */
static int load_elf(int fd, off_t fsize, stack_mod *m)
{
    Elf64_Ehdr eh;
    Elf64_Phdr *ph = NULL;
    Elf64_Shdr *sh = NULL;
    int rc = -ENOEXEC;
    if (pread(fd, &eh, sizeof(eh), 0) != (ssize_t)sizeof(eh) || memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
        eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != HOST_ELFDATA ||
        (eh.e_type != ET_EXEC && eh.e_type != ET_DYN) || eh.e_phentsize != sizeof(Elf64_Phdr) ||
        eh.e_phnum == 0 || eh.e_phnum > MAX_PHNUM)
        goto out;
    rc = read_at(fd, fsize, eh.e_phoff, (uint64_t)eh.e_phnum * sizeof(*ph), 0, (void **)&ph);
    if (rc < 0)
        goto out;
    m->segs = malloc(eh.e_phnum * sizeof(*m->segs));
    if (!m->segs) {
        rc = -ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < eh.e_phnum; i++)
        if (ph[i].p_type == PT_LOAD && ph[i].p_filesz)
            m->segs[m->nsegs++] = (stack_seg){ph[i].p_offset, ph[i].p_filesz, ph[i].p_vaddr};
    /* No section headers (or extended numbering): segments only, no symbols. */
    rc = 0;
    size_t shnum = eh.e_shnum;
    if (eh.e_shentsize != sizeof(Elf64_Shdr) || shnum == 0 || shnum >= SHN_LORESERVE)
        goto out;
    if (read_at(fd, fsize, eh.e_shoff, shnum * sizeof(*sh), 0, (void **)&sh) < 0)
        goto out; /* -ENOMEM or garbage: either way no symbols */
    static const uint32_t kinds[] = {SHT_SYMTAB, SHT_DYNSYM};
    for (size_t k = 0; k < 2 && m->nsyms == 0; k++) {
        for (size_t i = 0; i < shnum; i++) {
            if (sh[i].sh_type != kinds[k])
                continue;
            rc = load_syms(fd, fsize, sh, shnum, i, m);
            if (rc == -ENOMEM)
                goto out;
            rc = 0;
            break;
        }
    }
out:
    free(ph);
    free(sh);
    return rc;
}

/* The file's virtual address of file offset fo: 0, or -1 outside every PT_LOAD. */
static int file_to_vaddr(const stack_mod *m, uint64_t fo, uint64_t *va)
{
    for (size_t i = 0; i < m->nsegs; i++) {
        const stack_seg *g = &m->segs[i];
        if (fo >= g->off && fo - g->off < g->filesz) {
            *va = g->vaddr + (fo - g->off);
            return 0;
        }
    }
    return -1;
}

/* The function covering va: the nearest at or below it, or one a few below
 * that still covers it (a symbol nested in a bigger one). NULL without one. */
static const stack_sym *find_sym(const stack_mod *m, uint64_t va)
{
    size_t lo = 0, hi = m->nsyms;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (m->syms[mid].lo <= va)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t i = lo, k = 0; i > 0 && k < MAX_WALK_BACK; i--, k++)
        if (va < m->syms[i - 1].hi)
            return &m->syms[i - 1];
    return NULL;
}

/* ---- the cache ---- */

static void mod_free(stack_mod *m)
{
    free(m->path);
    free(m->segs);
    free(m->syms);
    free(m->names);
    free(m);
}

/* Drops one reference; cache.mu held. */
static void mod_unref_locked(stack_mod *m)
{
    if (m && --m->refs == 0)
        mod_free(m);
}

static void mod_unref(stack_mod *m)
{
    if (!m)
        return;
    pthread_mutex_lock(&cache.mu);
    mod_unref_locked(m);
    pthread_mutex_unlock(&cache.mu);
}

/* Evicts the least recently used entries down to max; cache.mu held. */
static void evict_locked(size_t max)
{
    while (cache.n > max) {
        size_t old = 0;
        for (size_t i = 1; i < cache.n; i++)
            if (cache.mods[i]->used < cache.mods[old]->used)
                old = i;
        stack_mod *m = cache.mods[old];
        cache.mods[old] = cache.mods[--cache.n];
        mod_unref_locked(m);
    }
}

/* The module of the open file fd (stat st) known as path, read on a miss. A
 * new reference, or NULL on ENOMEM. */
static stack_mod *cache_get(const char *path, int fd, const struct stat *st)
{
    stack_mod *m = NULL;
    pthread_mutex_lock(&cache.mu);
    for (size_t i = 0; i < cache.n; i++) {
        stack_mod *c = cache.mods[i];
        if (c->ino == st->st_ino && c->dev == st->st_dev && c->size == st->st_size &&
            c->mtime.tv_sec == st->st_mtim.tv_sec && c->mtime.tv_nsec == st->st_mtim.tv_nsec &&
            strcmp(c->path, path) == 0) {
            m = c;
            cache.hits++;
            break;
        }
    }
    if (!m) {
        m = calloc(1, sizeof(*m));
        if (!m || !(m->path = strdup(path))) {
            free(m);
            m = NULL;
            goto out;
        }
        m->dev = st->st_dev;
        m->ino = st->st_ino;
        m->mtime = st->st_mtim;
        m->size = st->st_size;
        cache.parses++;
        if (load_elf(fd, st->st_size, m) == -ENOMEM) {
            mod_free(m);
            m = NULL;
            goto out;
        }
        /* A file without symbols stays cached too: it is not read again. */
        evict_locked(cache.limit - 1);
        cache.mods[cache.n++] = m;
        m->refs = 1;
    }
    m->used = ++cache.tick;
    m->refs++;
out:
    pthread_mutex_unlock(&cache.mu);
    return m;
}

void elaine_stack_cache_stats(elaine_stack_stats *out)
{
    pthread_mutex_lock(&cache.mu);
    out->parses = cache.parses;
    out->hits = cache.hits;
    out->modules = cache.n;
    pthread_mutex_unlock(&cache.mu);
}

void elaine_stack_cache_limit(size_t max)
{
    if (max == 0 || max > ELAINE_STACK_CACHE_MAX)
        max = ELAINE_STACK_CACHE_MAX;
    pthread_mutex_lock(&cache.mu);
    cache.limit = max;
    evict_locked(max);
    pthread_mutex_unlock(&cache.mu);
}

void elaine_stack_cache_clear(void)
{
    pthread_mutex_lock(&cache.mu);
    evict_locked(0);
    pthread_mutex_unlock(&cache.mu);
}

/* fd is the file mapped at mp: the same inode (and device, except on overlayfs,
 * whose maps show the underlying device). */
static int same_file(int fd, const struct stat *st, const stack_map *mp)
{
    if (!S_ISREG(st->st_mode) || (uint64_t)st->st_ino != mp->ino)
        return 0;
    if (st->st_dev == makedev(mp->maj, mp->min))
        return 1;
    struct statfs fs;
    return fstatfs(fd, &fs) == 0 && fs.f_type == OVERLAYFS_MAGIC;
}

/* The symbols of the file mapped at mp: read through map_files (the very file
 * mapped, even deleted; needs privilege), else through its path when that is
 * still the same file. A new reference, or NULL. */
static stack_mod *map_module(const elaine_stack *s, const stack_map *mp)
{
    if (mp->path[0] != '/')
        return NULL;
    char link[96];
    snprintf(link, sizeof(link), "/proc/%" PRIu32 "/map_files/%" PRIx64 "-%" PRIx64, s->pid, mp->start,
             mp->end);
    stack_mod *m = NULL;
    struct stat st;
    for (int i = 0; i < 2; i++) {
        int fd = open(i ? mp->path : link, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
            continue;
        int same = fstat(fd, &st) == 0 && same_file(fd, &st, mp);
        if (same)
            m = cache_get(mp->path, fd, &st); /* NULL: ENOMEM, not worth a retry */
        close(fd);
        if (same)
            break;
    }
    return m;
}

/* ---- the maps ---- */

elaine_stack *elaine_stack_new(uint32_t pid, uint64_t start_time)
{
    elaine_stack *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->pid = pid;
    s->start_time = start_time;
    return s;
}

static void free_map_array(stack_map *maps, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(maps[i].path);
        free(maps[i].module);
        mod_unref(maps[i].mod);
    }
    free(maps);
}

void elaine_stack_free(elaine_stack *s)
{
    if (!s)
        return;
    free_map_array(s->maps, s->nmaps);
    names_clear(s);
    free(s->names);
    free(s);
}

/* Fills one executable mapping from the file column of its maps line. 0 or -ENOMEM. */
static int map_names(stack_map *mp, const char *file)
{
    static const char deleted[] = " (deleted)";
    const char *base = *file ? file : "[anon]";
    if (*file == '/')
        base = strrchr(file, '/') + 1;
    size_t blen = strlen(base), dl = sizeof(deleted) - 1;
    if (blen > dl && strcmp(base + blen - dl, deleted) == 0)
        blen -= dl;
    mp->path = strdup(file);
    mp->module = strndup(base, blen);
    return mp->path && mp->module ? 0 : -ENOMEM;
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
        stack_map mp = {0};
        char perms[8];
        int pos = 0;
        if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %7s %" SCNx64 " %x:%x %" SCNu64 "%n", &mp.start, &mp.end,
                   perms, &mp.off, &mp.maj, &mp.min, &mp.ino, &pos) < 7 ||
            strchr(perms, 'x') == NULL)
            continue;
        char *file = line + pos;
        while (*file == ' ')
            file++;
        file[strcspn(file, "\n")] = 0;
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
        maps[n++] = mp;
        if (map_names(&maps[n - 1], file) < 0) {
            rc = -ENOMEM;
            break;
        }
    }
    free(line);
    fclose(f);
    if (rc < 0) {
        free_map_array(maps, n);
        return rc;
    }
    free_map_array(s->maps, s->nmaps);
    s->maps = maps;
    s->nmaps = n;
    s->loaded = 1;
    names_clear(s);
    return 0;
}

int elaine_stack_snapshot(elaine_stack *s)
{
    return s->loaded ? 0 : load_maps(s);
}

static stack_map *find_map(const elaine_stack *s, uint64_t addr)
{
    for (size_t i = 0; i < s->nmaps; i++)
        if (addr >= s->maps[i].start && addr < s->maps[i].end)
            return &s->maps[i];
    return NULL;
}

void elaine_stack_frames_free(char **frames, size_t n)
{
    (void)n; /* one block: the pointers, then the strings */
    free(frames);
}

/* The strings of part[0..np) and x in lower-case hex, malloc'd: what
 * asprintf "%s...%" PRIx64 makes, without printf's cost (a stack is named
 * for every exchange). */
static char *cat_hex(const char *const *part, size_t np, uint64_t x)
{
    char hex[16];
    size_t h = sizeof(hex), len[4], total = 0;
    do {
        hex[--h] = "0123456789abcdef"[x & 15];
        x >>= 4;
    } while (x);
    for (size_t i = 0; i < np; i++)
        total += len[i] = strlen(part[i]);
    char *out = malloc(total + (sizeof(hex) - h) + 1), *o = out;
    if (!out)
        return NULL;
    for (size_t i = 0; i < np; i++) {
        memcpy(o, part[i], len[i]);
        o += len[i];
    }
    memcpy(o, hex + h, sizeof(hex) - h);
    o[sizeof(hex) - h] = 0;
    return out;
}

/* One frame (malloc'd), or NULL on ENOMEM. */
static char *name_one(elaine_stack *s, uint64_t addr)
{
    stack_map *mp = find_map(s, addr);
    if (!mp)
        return cat_hex((const char *const[]){"?!0x"}, 1, addr);
    if (!mp->resolved) {
        mp->mod = map_module(s, mp);
        mp->resolved = 1;
    }
    uint64_t fo = addr - mp->start + mp->off, va;
    const stack_sym *sym = NULL;
    if (mp->mod && file_to_vaddr(mp->mod, fo, &va) == 0)
        sym = find_sym(mp->mod, va);
    if (sym)
        return cat_hex((const char *const[]){mp->module, "!", mp->mod->names + sym->name, "+0x"}, 4,
                       va - sym->lo);
    return cat_hex((const char *const[]){mp->module, "!+0x"}, 2, fo);
}

static name_slot *slot_of(elaine_stack *s, uint64_t addr)
{
    if (!s->names && !(s->names = calloc(NAME_SLOTS, sizeof(*s->names))))
        return NULL;
    return &s->names[(addr * 0x9e3779b97f4a7c15ull) >> 56];
}

/* A copy of a block of n frames of size bytes, its pointers (the n frames'
 * and the JSON text's) moved to the copy. */
static char **copy_frames(char *const *frames, size_t size, size_t n)
{
    char **c = malloc(size);
    if (!c)
        return NULL;
    memcpy(c, frames, size);
    for (size_t i = 0; i <= n; i++)
        c[i] = (char *)c + (frames[i] - (const char *)frames);
    return c;
}

const char *elaine_stack_json(char *const *frames, size_t n)
{
    return frames ? frames[n] : NULL;
}

static stack_slot *stack_find(elaine_stack *s, const uint64_t *addrs, size_t n)
{
    for (size_t i = 0; i < STACK_SLOTS; i++) {
        stack_slot *st = &s->stacks[i];
        if (st->addrs && st->n == n && st->addrs[0] == addrs[0] &&
            memcmp(st->addrs, addrs, n * sizeof(*addrs)) == 0)
            return st;
    }
    return NULL;
}

/* Keeps a copy of a block just made (nothing when memory is short). */
static void stack_keep(elaine_stack *s, const uint64_t *addrs, size_t n, char *const *frames,
                       size_t size)
{
    uint64_t *a = malloc(n * sizeof(*a));
    char **f = a ? copy_frames(frames, size, n) : NULL;
    if (!f) {
        free(a);
        return;
    }
    memcpy(a, addrs, n * sizeof(*a));
    stack_slot *st = &s->stacks[s->next_stack];
    s->next_stack = (s->next_stack + 1) % STACK_SLOTS;
    free(st->addrs);
    free(st->frames);
    *st = (stack_slot){a, n, f, size};
}

int elaine_stack_name(elaine_stack *s, const uint64_t *addrs, size_t n, char ***out)
{
    *out = NULL;
    if (n) {
        /* Named since the maps were read: every address was then in a
         * mapping (else the maps were read again, which empties the slots),
         * so the check below would pass again and each frame be the same. */
        stack_slot *st = stack_find(s, addrs, n);
        if (st) {
            *out = copy_frames(st->frames, st->size, n);
            return *out ? 0 : -ENOMEM;
        }
    }
    if (!s->loaded) {
        int rc = load_maps(s);
        if (rc < 0)
            return rc;
    }
    if (!s->reloaded) {
        for (size_t i = 0; i < n; i++) {
            name_slot *sl = slot_of(s, addrs[i]);
            if (sl && sl->name && sl->addr == addrs[i] && sl->mapped)
                continue; /* named from a mapping since the maps were read */
            if (!find_map(s, addrs[i])) {
                s->reloaded = 1;
                if (load_maps(s) == -ENOMEM)
                    return -ENOMEM;
                break;
            }
        }
    }
    /* Each frame's own string first (a later frame may take an earlier
     * one's name slot), then one block: the n pointers and one to the JSON
     * text, the strings, then that text (the record's "stack", made once
     * for every exchange that comes with the same addresses). */
    char *local[32];
    char **own = n <= 32 ? local : calloc(n, sizeof(*own));
    if (!own)
        return -ENOMEM;
    int rc = 0;
    size_t size = (n + 1) * sizeof(char *);
    for (size_t i = 0; i < n; i++) {
        name_slot *sl = slot_of(s, addrs[i]);
        if (sl && sl->name && sl->addr == addrs[i]) {
            own[i] = malloc(sl->len + 1);
            if (own[i])
                memcpy(own[i], sl->name, sl->len + 1);
        } else {
            own[i] = name_one(s, addrs[i]);
            char *keep = sl && own[i] ? strdup(own[i]) : NULL;
            if (keep) {
                free(sl->name);
                sl->addr = addrs[i];
                sl->name = keep;
                sl->len = strlen(keep);
                sl->mapped = find_map(s, addrs[i]) != NULL;
            }
        }
        if (!own[i]) {
            for (size_t k = 0; k < i; k++)
                free(own[k]);
            rc = -ENOMEM;
            break;
        }
        size += strlen(own[i]) + 1;
    }
    elaine_buf json;
    elaine_buf_init(&json);
    char **frames = NULL;
    if (rc == 0) {
        elaine_jw w;
        elaine_jw_init(&w, &json);
        elaine_jw_cstr_array(&w, own, n);
        elaine_buf_addc(&json, 0);
        size += json.len;
        frames = json.oom ? NULL : malloc(size);
        char *o = (char *)(frames ? frames + n + 1 : NULL);
        for (size_t i = 0; i < n; i++) {
            if (frames) {
                size_t l = strlen(own[i]) + 1;
                memcpy(o, own[i], l);
                frames[i] = o;
                o += l;
            }
            free(own[i]);
        }
        if (frames) {
            memcpy(o, json.p, json.len);
            frames[n] = o;
        } else {
            rc = -ENOMEM;
        }
    }
    elaine_buf_free(&json);
    if (own != local)
        free(own);
    if (rc < 0)
        return rc;
    if (n)
        stack_keep(s, addrs, n, frames, size);
    *out = frames;
    return 0;
}
