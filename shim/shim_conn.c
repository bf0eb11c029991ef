/* Per-connection state keyed by SSL*: a fixed open-addressing table with lock-free lookups. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "shim.h"

#define TABLE_SIZE ELAINE_CONN_TABLE_SIZE
#define TOMBSTONE ELAINE_CONN_TOMBSTONE

struct elaine_conn_slot *_Atomic elaine_conn_table;
static pthread_mutex_t conn_lock = PTHREAD_MUTEX_INITIALIZER;
static struct elaine_conn *live;
static _Atomic uint64_t next_conn_id = 1;
atomic_uint elaine_conn_gen;

static struct elaine_conn_slot *get_table(void)
{
    struct elaine_conn_slot *t = atomic_load_explicit(&elaine_conn_table, memory_order_acquire);
    if (t)
        return t;
    /* Zero pages cost nothing until touched. */
    t = mmap(NULL, TABLE_SIZE * sizeof(struct elaine_conn_slot), PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (t == MAP_FAILED)
        return NULL;
    atomic_store_explicit(&elaine_conn_table, t, memory_order_release);
    return t;
}

int elaine_conn_insert(void *key, struct elaine_conn *c)
{
    uintptr_t k = (uintptr_t)key;
    int rc = -1;
    pthread_mutex_lock(&conn_lock);
    struct elaine_conn_slot *t = get_table();
    if (t) {
        size_t i = elaine_conn_hash(k), free_slot = TABLE_SIZE;
        for (size_t n = 0; n < TABLE_SIZE; n++, i = (i + 1) & (TABLE_SIZE - 1)) {
            uintptr_t sk = atomic_load_explicit(&t[i].key, memory_order_relaxed);
            if (sk == k) {
                free_slot = i; /* a stale decision for a reused address */
                break;
            }
            if (sk == TOMBSTONE && free_slot == TABLE_SIZE)
                free_slot = i;
            if (sk == 0) {
                if (free_slot == TABLE_SIZE)
                    free_slot = i;
                break;
            }
        }
        if (free_slot != TABLE_SIZE) {
            atomic_store_explicit(&t[free_slot].val, c, memory_order_release);
            atomic_store_explicit(&t[free_slot].key, k, memory_order_release);
            rc = 0;
            if (c != ELAINE_CONN_IGNORED) {
                c->prev = NULL;
                c->next = live;
                if (live)
                    live->prev = c;
                live = c;
            }
        }
    }
    pthread_mutex_unlock(&conn_lock);
    return rc;
}

struct elaine_conn *elaine_conn_remove(void *key)
{
    struct elaine_conn_slot *t = atomic_load_explicit(&elaine_conn_table, memory_order_acquire);
    if (!t)
        return NULL;
    uintptr_t k = (uintptr_t)key;
    struct elaine_conn *found = NULL;
    pthread_mutex_lock(&conn_lock);
    size_t i = elaine_conn_hash(k);
    for (size_t n = 0; n < TABLE_SIZE; n++, i = (i + 1) & (TABLE_SIZE - 1)) {
        uintptr_t sk = atomic_load_explicit(&t[i].key, memory_order_relaxed);
        if (sk == 0)
            break;
        if (sk != k)
            continue;
        struct elaine_conn *c = atomic_load_explicit(&t[i].val, memory_order_relaxed);
        atomic_store_explicit(&t[i].key, TOMBSTONE, memory_order_release);
        if (c && c != ELAINE_CONN_IGNORED &&
            c->gen == atomic_load_explicit(&elaine_conn_gen, memory_order_relaxed)) {
            if (c->prev)
                c->prev->next = c->next;
            else
                live = c->next;
            if (c->next)
                c->next->prev = c->prev;
            found = c;
        }
        break;
    }
    pthread_mutex_unlock(&conn_lock);
    return found;
}

struct elaine_conn *elaine_conn_new(void *key)
{
    struct elaine_conn *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->id = atomic_fetch_add(&next_conn_id, 1);
    c->key = key;
    c->gen = atomic_load(&elaine_conn_gen);
    c->fd = -1;
    c->phase = PHASE_IDLE;
    return c;
}

void elaine_conn_live_add(struct elaine_conn *c)
{
    pthread_mutex_lock(&conn_lock);
    c->prev = NULL;
    c->next = live;
    if (live)
        live->prev = c;
    live = c;
    pthread_mutex_unlock(&conn_lock);
}

void elaine_conn_live_remove(struct elaine_conn *c)
{
    pthread_mutex_lock(&conn_lock);
    if (c->gen == atomic_load_explicit(&elaine_conn_gen, memory_order_relaxed)) {
        if (c->prev)
            c->prev->next = c->next;
        else if (live == c)
            live = c->next;
        if (c->next)
            c->next->prev = c->prev;
    }
    c->prev = c->next = NULL;
    pthread_mutex_unlock(&conn_lock);
}

void elaine_conn_free(struct elaine_conn *c)
{
    free(c);
}

void elaine_conn_each(void (*fn)(struct elaine_conn *c, void *ud), void *ud)
{
    pthread_mutex_lock(&conn_lock);
    for (struct elaine_conn *c = live; c; c = c->next)
        fn(c, ud);
    pthread_mutex_unlock(&conn_lock);
}

void elaine_conn_atfork_prepare(void)
{
    pthread_mutex_lock(&conn_lock);
}

void elaine_conn_atfork_parent(void)
{
    pthread_mutex_unlock(&conn_lock);
}

void elaine_conn_atfork_child(void)
{
    /* The parent's connections stay in the table but no longer match this
     * generation; their structs are the parent's business (leaked here). */
    atomic_fetch_add(&elaine_conn_gen, 1);
    live = NULL;
    pthread_mutex_init(&conn_lock, NULL);
}
