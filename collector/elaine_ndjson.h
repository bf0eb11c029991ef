/* Newline-delimited JSON decoder (application/x-ndjson, Ollama streams), push style. */
#ifndef ELAINE_NDJSON_H
#define ELAINE_NDJSON_H

#include <stddef.h>

/* One line without its line end (LF or CRLF), NUL-terminated, valid only
 * during the call. Blank lines (only spaces, tabs or CRs) are not passed. */
typedef void (*elaine_ndjson_cb)(void *ud, const char *line, size_t n);

typedef struct elaine_ndjson elaine_ndjson;

/* max_line: longest line passed on, in bytes counting a CR before the LF
 * (0: 8 MiB); a longer one is dropped whole and counted, since a cut JSON
 * text is of no use. NULL on ENOMEM. */
elaine_ndjson *elaine_ndjson_new(size_t max_line, elaine_ndjson_cb cb, void *ud);
void elaine_ndjson_free(elaine_ndjson *d);
/* Any slicing. */
void elaine_ndjson_feed(elaine_ndjson *d, const char *p, size_t n);
/* End of stream: a last line without a line end is passed on too. */
void elaine_ndjson_finish(elaine_ndjson *d);
/* Lines dropped for their length so far. */
size_t elaine_ndjson_dropped(const elaine_ndjson *d);

#endif
