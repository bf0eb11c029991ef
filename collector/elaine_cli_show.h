/* elaine show ID: one exchange whole, for a person (or --json, --raw). */
#ifndef ELAINE_CLI_SHOW_H
#define ELAINE_CLI_SHOW_H

#include "elaine_buf.h"
#include "elaine_json.h"

extern const char elaine_cli_show_usage[];

/* The exchange for a person: metadata, the request as a conversation, the
 * reply, the timings and the stack. */
void elaine_cli_show_render(elaine_buf *b, const ej_val *rec, int color);
/* The HTTP exchange: request line, headers, body; status line, headers, body. */
void elaine_cli_show_raw(elaine_buf *b, const ej_val *rec);

/* argv[0] is "show". 0 shown, 1 no such exchange, 2 usage error or an ambiguous prefix. */
int elaine_cli_show_main(int argc, char **argv);

#endif
