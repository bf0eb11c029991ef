/* JSON: a small DOM parser that keeps numbers as their source text, and a writer. */
#ifndef ELAINE_JSON_H
#define ELAINE_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "elaine_buf.h"

typedef enum { EJ_NULL, EJ_BOOL, EJ_NUM, EJ_STR, EJ_ARR, EJ_OBJ } ej_type;
typedef struct ej_val ej_val;

/* Parses exactly one JSON value (surrounding whitespace allowed; RFC 8259,
 * nesting depth at most 512). NULL when the text is not valid JSON or memory
 * ran out. The caller owns the tree and frees it with elaine_json_free. */
ej_val *elaine_json_parse(const char *s, size_t n);
void elaine_json_free(ej_val *v);

ej_type elaine_json_type(const ej_val *v);               /* v may not be NULL */
/* Object member by key (first match); NULL if v is NULL, not an object, or has no such key. */
const ej_val *elaine_json_get(const ej_val *v, const char *key);
/* The same with the key's length given (it may hold \0); elaine_json_get of
 * a string literal becomes this with the length known at compile time. */
const ej_val *elaine_json_getn(const ej_val *v, const char *key, size_t klen);
static inline size_t elaine_json_keylen_(const char *k)
{
    return k ? __builtin_strlen(k) : 0;
}
#define elaine_json_get(v, key) \
    (__builtin_constant_p(key) ? elaine_json_getn((v), (key), elaine_json_keylen_(key)) \
                               : (elaine_json_get)((v), (key)))
/* Dotted path of object keys, e.g. "usage.prompt_tokens"; NULL-safe like _get. */
const ej_val *elaine_json_path(const ej_val *v, const char *path);
/* A literal path of two keys becomes two elaine_json_getn, their lengths
 * known at compile time (as elaine_json_path takes them: a key of 256 bytes
 * or more finds nothing); any other path goes to the function. */
static inline const ej_val *elaine_json_path2_(const ej_val *v, const char *path)
{
    const char *dot = __builtin_strchr(path, '.');
    size_t l1 = (size_t)(dot - path), l2 = __builtin_strlen(dot + 1);
    if (l1 >= 256 || l2 >= 256)
        return NULL;
    return elaine_json_getn(elaine_json_getn(v, path, l1), dot + 1, l2);
}
#define elaine_json_path(v, path)                                                              \
    (__builtin_constant_p(__builtin_strchr((path), '.') &&                                     \
                          !__builtin_strchr(__builtin_strchr((path), '.') + 1, '.')) &&        \
             __builtin_strchr((path), '.') && !__builtin_strchr(__builtin_strchr((path), '.') + 1, '.') \
         ? elaine_json_path2_((v), (path))                                                     \
         : (elaine_json_path)((v), (path)))
size_t elaine_json_len(const ej_val *v);                 /* array/object members, string bytes; 0 otherwise */
const ej_val *elaine_json_at(const ej_val *v, size_t i); /* array element or object value; NULL if out of range */
const char *elaine_json_key_at(const ej_val *v, size_t i); /* object key i, NULL otherwise */
/* Object member i: its value, its key in *key and the key's length (it may
 * hold \0) in *klen; NULL (and nothing set) if v is NULL, no object or has
 * no member i. For a caller that reads several members in one pass. */
const ej_val *elaine_json_member_at(const ej_val *v, size_t i, const char **key, size_t *klen);
/* Decoded string (UTF-8, NUL-terminated; may contain \0 if escaped, see _len) or NULL if not a string. */
const char *elaine_json_str(const ej_val *v);
/* 0 and *out when v is a number that is an integer fitting int64 (e.g. 12, 12.0 not accepted); -1 otherwise. */
int elaine_json_int(const ej_val *v, int64_t *out);
/* 1/0 for true/false, -1 if not a boolean. */
int elaine_json_bool(const ej_val *v);
/* Source text of a number, NULL if not a number. */
const char *elaine_json_num_text(const ej_val *v);

/* Writer: appends compact JSON to a buffer and places the commas itself. */
typedef struct elaine_jw {
    elaine_buf *b;
    int depth;
    unsigned char first[128]; /* per depth: no member written yet */
    int after_key;
} elaine_jw;

void elaine_jw_init(elaine_jw *w, elaine_buf *b);

/* 1 when a comma is due before the next value or key, and the state
 * updated as if it was written. Deeper than the first[] table, the last byte
 * written tells (it is ours inside a container). Inline for the macros
 * below; not for other callers. */
static inline int elaine_jw_comma_(elaine_jw *w)
{
    if (w->after_key) {
        w->after_key = 0;
        return 0;
    }
    if (w->depth < (int)sizeof(w->first)) {
        int c = w->depth > 0 && !w->first[w->depth];
        w->first[w->depth] = 0;
        return c;
    }
    char last = w->b->len ? w->b->p[w->b->len - 1] : 0;
    return last != '{' && last != '[' && last != ':';
}

/* Places a comma before a value or key when one is due. */
static inline void elaine_jw_sep_(elaine_jw *w)
{
    if (elaine_jw_comma_(w))
        elaine_buf_addc(w->b, ',');
}

/* Text that is already JSON (a quoted key with its colon when key is 1, else
 * a whole value), n bytes: ELAINE_JW_KEY and ELAINE_JW_LIT, inline so that
 * the copy of a literal is a few moves, the comma in the same append. */
static inline void elaine_jw_raw_(elaine_jw *w, const char *text, size_t n, int key)
{
    size_t c = (size_t)elaine_jw_comma_(w);
    char *d = elaine_buf_reserve(w->b, n + 1);
    w->after_key = key;
    if (!d)
        return;
    d[0] = ',';
    __builtin_memcpy(d + c, text, n);
    elaine_buf_commit(w->b, c + n);
}
void elaine_jw_obj_begin(elaine_jw *w);
void elaine_jw_obj_end(elaine_jw *w);
void elaine_jw_arr_begin(elaine_jw *w);
void elaine_jw_arr_end(elaine_jw *w);
void elaine_jw_key(elaine_jw *w, const char *key);
/* The same with the key's length given (it may hold \0). */
void elaine_jw_keyn(elaine_jw *w, const char *key, size_t n);
/* A key given already quoted and escaped with its colon, e.g. "\"type\":";
 * ELAINE_JW_KEY(w, "type") makes that of a string literal (plain ASCII,
 * nothing to escape) at compile time. */
void elaine_jw_key_raw(elaine_jw *w, const char *quoted, size_t n);
#define ELAINE_JW_KEY(w, lit) elaine_jw_raw_((w), "\"" lit "\":", sizeof("\"" lit "\":") - 1, 1)
/* A string value given by a literal with nothing to escape (printable ASCII
 * without '"' or '\\'), e.g. ELAINE_JW_LIT(w, "exchange"): as elaine_jw_cstr
 * writes it, without looking at it. */
#define ELAINE_JW_LIT(w, lit) elaine_jw_raw_((w), "\"" lit "\"", sizeof("\"" lit "\"") - 1, 0)
/* A string of n bytes: escaped; invalid UTF-8 replaced by U+FFFD; NUL bytes escaped as \u0000. */
void elaine_jw_str(elaine_jw *w, const char *s, size_t n);
void elaine_jw_cstr(elaine_jw *w, const char *s); /* NULL writes null */
/* An array of n strings as elaine_jw_cstr writes each (NULL: null), in
 * one reservation when they are short and plain. */
void elaine_jw_cstr_array(elaine_jw *w, char *const *s, size_t n);
/* elaine_jw_keyn(key, kn) then elaine_jw_str(s, n), in one append when both
 * are short (headers); NULL key or s as there. */
void elaine_jw_member_str(elaine_jw *w, const char *key, size_t kn, const char *s, size_t n);
void elaine_jw_int(elaine_jw *w, int64_t v);
void elaine_jw_uint(elaine_jw *w, uint64_t v);
void elaine_jw_double(elaine_jw *w, double v);    /* shortest form that round-trips, e.g. 12.5 */
void elaine_jw_bool(elaine_jw *w, int v);
void elaine_jw_null(elaine_jw *w);
/* A parsed value, numbers as in the source; NULL writes null. A container
 * that would end up deeper than the parser's 512 levels (a deep body inside
 * a record) is written as a string of its JSON text: what the writer makes
 * can always be parsed again. */
void elaine_jw_value(elaine_jw *w, const ej_val *v);
/* The same for a tree that elaine_json_parse made of text[0..n) (the very
 * bytes, still there): when that text is already as the writer would write
 * it (compact, the writer's escapes only), it is copied as it is. */
void elaine_jw_json(elaine_jw *w, const ej_val *v, const char *text, size_t n);

/* Pieces of JSON text checked as elaine_json_parse checks them, without a
 * tree: for scanners that read a few members of a stream event straight
 * from its text (and leave anything else to the parser). Each takes the
 * text s[0..n) and the index i where the piece starts (no whitespace
 * before it for the string ones), and returns the index after it, 0 when
 * the text there is not one. */
/* A string at s[i] == '"'; *plain (may be NULL) 1 when the bytes between
 * the quotes are its text as they are (printable ASCII, nothing escaped). */
size_t elaine_json_scan_str(const char *s, size_t n, size_t i, int *plain);
/* The same, the string's decoded text (as elaine_json_str would give it)
 * appended to out; when it is not a string, out may hold a part of it. */
size_t elaine_json_str_append(const char *s, size_t n, size_t i, elaine_buf *out);
/* Any value at s[i] (whitespace before and inside allowed, as the parser
 * does), depth the number of containers around it (the parser's nesting
 * limit counts them). */
size_t elaine_json_scan_value(const char *s, size_t n, size_t i, int depth);

/* 1 when the JSON text data has a member "key" whose value is the JSON text
 * value (e.g. "true" or "\"message_stop\""), found by a scan without
 * parsing: for end markers, on every stream event. A member of a nested
 * object counts too; text inside strings does not (its quotes are escaped). */
int elaine_json_text_has(const char *data, size_t n, const char *key, const char *value);

#endif
