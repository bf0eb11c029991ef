/* Names the raw return addresses of a captured process ("module!symbol+0xoff")
 * from /proc/PID/maps and the ELF symbol tables of the mapped files. */
#ifndef ELAINE_STACK_H
#define ELAINE_STACK_H

#include <stddef.h>
#include <stdint.h>

typedef struct elaine_stack elaine_stack;

/* A naming context for one process (pid, start_time in clock ticks since boot
 * as in /proc/PID/stat field 22; 0 skips the identity check). The maps are
 * read at the first naming, once more when an address is not found. NULL on ENOMEM. */
elaine_stack *elaine_stack_new(uint32_t pid, uint64_t start_time);
void elaine_stack_free(elaine_stack *s);
/* Reads the maps now, while the process surely lives (a short-lived client may
 * be gone by the time its first stack is named; its files are then found by
 * path). 0, or -ESRCH / -ENOMEM; naming later works either way. */
int elaine_stack_snapshot(elaine_stack *s);

/* Names n addresses: *out becomes an array of n strings, all in one malloc'd
 * block (free with elaine_stack_frames_free; a frame is not freed alone). A frame is "module!symbol+0xoff"
 * (module: basename of the mapped file; symbol: the function of .symtab, else
 * .dynsym, that covers the address; off: address - symbol). Without a symbol
 * (stripped, no ELF, the file changed or is gone, anonymous code) it is
 * "module!+0xOFF" with OFF the offset in the file; outside every mapping
 * "?!0xADDR". 0; -ESRCH when the process is gone (or is another process now)
 * and its maps were never read; -ENOMEM. */
int elaine_stack_name(elaine_stack *s, const uint64_t *addrs, size_t n, char ***out);
void elaine_stack_frames_free(char **frames, size_t n);
/* The n frames of a block from elaine_stack_name as one JSON array of
 * strings (the text elaine_jw_cstr_array writes), kept in the block; NULL
 * for NULL. */
const char *elaine_stack_json(char *const *frames, size_t n);

/* 1 when pid runs and is the process that started at start_time (0: any),
 * 0 when it is gone, a zombie, or another process. */
int elaine_stack_proc_alive(uint32_t pid, uint64_t start_time);

/* The symbol cache shared by every context for the process lifetime: one entry
 * per mapped file (path, device, inode, mtime, size), read once, the least
 * recently used evicted beyond the limit. Thread-safe. */
#define ELAINE_STACK_CACHE_MAX 256

typedef struct elaine_stack_stats {
    uint64_t parses; /* files read (cache misses), including those without symbols */
    uint64_t hits;   /* module lookups answered from the cache */
    size_t modules;  /* entries cached now */
} elaine_stack_stats;

void elaine_stack_cache_stats(elaine_stack_stats *out);
/* Bounds the cache to max entries (1..ELAINE_STACK_CACHE_MAX; 0 restores the
 * maximum), evicting at once what is over. */
void elaine_stack_cache_limit(size_t max);
/* Empties the cache (entries still used by a context live until it is freed). */
void elaine_stack_cache_clear(void);

#endif
