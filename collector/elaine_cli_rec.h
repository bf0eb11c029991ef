/* Reading one record: typed accessors over the parsed line, and times (RFC 3339 <-> microseconds). */
#ifndef ELAINE_CLI_REC_H
#define ELAINE_CLI_REC_H

#include <stddef.h>
#include <stdint.h>

#include "elaine_json.h"

#define ELAINE_CLI_NO_TIME INT64_MIN

/* RFC 3339 ("2026-12-04T21:03:11.123456Z", "...+02:00", a space for the
 * "T"; a time without a zone, or a bare date "2026-12-04", is local time)
 * to microseconds since the epoch. 0 or -1 when s is not such a time. */
int elaine_cli_time_parse(const char *s, int64_t *us);
/* Local time "2026-12-04 21:03:11.123" (ms) into buf (at least 24 bytes). */
void elaine_cli_time_local(int64_t us, char *buf, size_t size);
/* Microseconds since the epoch, now. */
int64_t elaine_cli_now_us(void);

/* The record's string at a dotted path, NULL when absent, null or not a string. */
const char *elaine_cli_rec_str(const ej_val *rec, const char *path);
/* The number at a dotted path: 0 and *out, or -1 when absent or not a number. */
int elaine_cli_rec_num(const ej_val *rec, const char *path, double *out);
/* "ts" in microseconds, or ELAINE_CLI_NO_TIME. */
int64_t elaine_cli_rec_ts(const ej_val *rec);
/* llm.model, else llm.response_model, else NULL. */
const char *elaine_cli_rec_model(const ej_val *rec);
/* 1 when the exchange failed: "error" is set, there is no response status,
 * or the status is 400 or more. */
int elaine_cli_rec_failed(const ej_val *rec);
/* The status as a label: "200", or "error" without a response status. */
void elaine_cli_rec_status(const ej_val *rec, char *buf, size_t size);

#endif
