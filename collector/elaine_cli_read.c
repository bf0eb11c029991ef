/* The log directory as one stream of records for the elaine subcommands. */
#include "elaine_cli_read.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elaine_cli_rec.h"
#include "elaine_logread.h"
#include "elaine_paths.h"

#define ACTIVE_NAME "elaine.jsonl"

/* ---- duplicate ids ---- */

uint64_t elaine_cli_id_hash(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a, then a final mix */
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return h ? h : 1;
}

static int idset_grow(elaine_cli_idset *s)
{
    size_t nc = s->cap ? s->cap * 2 : 4096;
    uint64_t *n = calloc(nc, sizeof(*n));
    if (!n)
        return -ENOMEM;
    for (size_t i = 0; i < s->cap; i++) {
        uint64_t h = s->slot[i];
        if (!h)
            continue;
        size_t j = h & (nc - 1);
        while (n[j])
            j = (j + 1) & (nc - 1);
        n[j] = h;
    }
    free(s->slot);
    s->slot = n;
    s->cap = nc;
    return 0;
}

int elaine_cli_idset_add(elaine_cli_idset *s, uint64_t h)
{
    if ((s->used + 1) * 2 > s->cap && idset_grow(s) < 0)
        return -ENOMEM;
    size_t j = h & (s->cap - 1);
    for (; s->slot[j]; j = (j + 1) & (s->cap - 1))
        if (s->slot[j] == h)
            return 1;
    s->slot[j] = h;
    s->used++;
    return 0;
}

void elaine_cli_idset_free(elaine_cli_idset *s)
{
    free(s->slot);
    memset(s, 0, sizeof(*s));
}

/* ---- lines ---- */

void elaine_cli_reader_init(elaine_cli_reader *r, const char *dir, const elaine_cli_filter *f,
                            elaine_cli_rec_cb cb, void *ud)
{
    memset(r, 0, sizeof(*r));
    r->dir = dir;
    r->filter = f;
    r->cb = cb;
    r->ud = ud;
    r->needle = f ? elaine_cli_filter_needle(f) : NULL;
    r->file = ACTIVE_NAME;
}

void elaine_cli_reader_free(elaine_cli_reader *r)
{
    elaine_cli_idset_free(&r->seen);
}

static elaine_cli_kind kind_of(const char *type)
{
    if (!type)
        return ELAINE_REC_OTHER;
    if (!strcmp(type, "exchange"))
        return ELAINE_REC_EXCHANGE;
    if (!strcmp(type, "drop"))
        return ELAINE_REC_DROP;
    if (!strcmp(type, "collector"))
        return ELAINE_REC_COLLECTOR;
    return ELAINE_REC_OTHER;
}

int elaine_cli_read_line(void *ud, const char *line, size_t n)
{
    elaine_cli_reader *r = ud;
    static const char xprefix[] = "{\"type\":\"exchange\"";
    /* Cheap skip: the collector writes "type" first. */
    if (r->needle && n >= sizeof(xprefix) - 1 && !memcmp(line, xprefix, sizeof(xprefix) - 1) &&
        !elaine_cli_contains(line, n, r->needle))
        return 0;
    if (!r->all_kinds && n >= 9 && !memcmp(line, "{\"type\":\"", 9) && n > 9 && line[9] != 'e')
        return 0; /* drop/collector line nobody asked for */
    ej_val *v = elaine_json_parse(line, n);
    if (!v || elaine_json_type(v) != EJ_OBJ) {
        /* Blank lines (a writer's padding) are not worth a warning. */
        size_t k = 0;
        while (k < n && (line[k] == ' ' || line[k] == '\t' || line[k] == '\r'))
            k++;
        if (k < n)
            r->file_nonjson++;
        elaine_json_free(v);
        return 0;
    }
    elaine_cli_rec rec = {.v = v, .line = line, .n = n, .file = r->file};
    rec.type = elaine_json_str(elaine_json_get(v, "type"));
    rec.kind = kind_of(rec.type);
    rec.ts = elaine_cli_rec_ts(v);
    int rc = 0;
    if (rec.kind == ELAINE_REC_EXCHANGE) {
        if (r->filter && !elaine_cli_filter_match(r->filter, v))
            goto out;
        const ej_val *id = elaine_json_get(v, "id");
        if (!r->keep_dups && id && elaine_json_type(id) == EJ_STR) {
            int d = elaine_cli_idset_add(&r->seen, elaine_cli_id_hash(elaine_json_str(id), elaine_json_len(id)));
            if (d < 0) {
                rc = d;
                goto out;
            }
            if (d) {
                r->dups++;
                goto out;
            }
        }
    } else {
        if (!r->all_kinds ||
            (!r->untimed_kinds && r->filter && !elaine_cli_filter_time_ok(r->filter, rec.ts)))
            goto out;
    }
    rc = r->cb(r->ud, &rec);
out:
    elaine_json_free(v);
    return rc;
}

void elaine_cli_read_flush_warnings(elaine_cli_reader *r)
{
    if (r->file_nonjson)
        fprintf(stderr, "elaine: %s/%s: skipped %llu line%s that %s not JSON\n", r->dir, r->file,
                (unsigned long long)r->file_nonjson, r->file_nonjson == 1 ? "" : "s",
                r->file_nonjson == 1 ? "is" : "are");
    r->nonjson += r->file_nonjson;
    r->file_nonjson = 0;
}

/* ---- files ---- */

static const char *why(int rc)
{
    return rc == -EBADMSG ? "corrupt or truncated zstd data" : strerror(-rc);
}

int elaine_cli_read_file(elaine_cli_reader *r, const char *name)
{
    char path[4096];
    int rc;
    r->file = name;
    r->file_nonjson = 0;
    if ((size_t)snprintf(path, sizeof(path), "%s/%s", r->dir, name) >= sizeof(path))
        rc = -ENAMETOOLONG;
    else
        rc = elaine_logread_file(path, elaine_cli_read_line, r);
    size_t l = strlen(path);
    if (rc == -ENOENT && strcmp(name, ACTIVE_NAME) != 0 && l > 6 && !strcmp(path + l - 6, ".jsonl") &&
        l + 4 < sizeof(path)) {
        strcat(path, ".zst"); /* compressed since the listing */
        rc = elaine_logread_file(path, elaine_cli_read_line, r);
    }
    if (rc == -ENOENT && !strcmp(name, ACTIVE_NAME))
        rc = 0;
    elaine_cli_read_flush_warnings(r);
    if (rc < 0) {
        fprintf(stderr, "elaine: read \"%s/%s\" failed: %s\n", r->dir, name, why(rc));
        r->bad_files++;
    }
    return rc;
}

int elaine_cli_read_file_before(const char *name, int64_t ts)
{
    /* elaine-YYYYmmddTHHMMSS.ffffffZ[-N].jsonl[.zst] */
    char t[40];
    if (strncmp(name, "elaine-", 7) != 0 || strlen(name) < 7 + 23)
        return 0;
    const char *s = name + 7;
    snprintf(t, sizeof(t), "%.4s-%.2s-%.2sT%.2s:%.2s:%.2s%.8s", s, s + 4, s + 6, s + 9, s + 11, s + 13, s + 15);
    int64_t us;
    if (elaine_cli_time_parse(t, &us) < 0 || t[strlen(t) - 1] != 'Z')
        return 0;
    return us <= ts;
}

int elaine_cli_read_all(elaine_cli_reader *r)
{
    char **names = NULL;
    size_t count = 0;
    int rc = elaine_logread_list(r->dir, &names, &count);
    if (rc < 0) {
        fprintf(stderr, "elaine: opendir() \"%s\" failed: %s\n", r->dir, strerror(-rc));
        return rc;
    }
    int64_t since = r->filter ? r->filter->since : ELAINE_CLI_NO_TIME;
    for (size_t i = 0; i < count; i++) {
        if (since != ELAINE_CLI_NO_TIME && elaine_cli_read_file_before(names[i], since))
            continue;
        rc = elaine_cli_read_file(r, names[i]);
        if (rc > 0 || rc == -ENOMEM)
            goto out;
    }
    rc = elaine_cli_read_file(r, ACTIVE_NAME);
    if (rc < 0 && rc != -ENOMEM)
        rc = 0;
out:
    elaine_logread_list_free(names, count);
    return rc < 0 && rc != -ENOMEM ? 0 : rc;
}

int elaine_cli_log_dir(const char *dir, char *buf, size_t size, const char **out)
{
    if (dir && *dir) {
        *out = dir;
        return 0;
    }
    const char *env = getenv("ELAINE_DIR");
    if (env && *env) {
        *out = env;
        return 0;
    }
    int rc = elaine_log_dir(buf, size);
    if (rc < 0) {
        fprintf(stderr, "elaine: no log directory (set HOME, XDG_STATE_HOME or ELAINE_DIR): %s\n", strerror(-rc));
        return rc;
    }
    *out = buf;
    return 0;
}
