/* Names the raw return addresses of a captured process ("module!+0xOFF") from /proc/PID/maps. */
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

/* Names n addresses: *out becomes a malloc'd array of n malloc'd strings
 * (free with elaine_stack_frames_free). An address outside every mapping is
 * written as "?!0xADDR". 0; -ESRCH when the process is gone (or is another
 * process now) and its maps were never read; -ENOMEM. */
int elaine_stack_name(elaine_stack *s, const uint64_t *addrs, size_t n, char ***out);
void elaine_stack_frames_free(char **frames, size_t n);

/* 1 when pid runs and is the process that started at start_time (0: any),
 * 0 when it is gone, a zombie, or another process. */
int elaine_stack_proc_alive(uint32_t pid, uint64_t start_time);

#endif
