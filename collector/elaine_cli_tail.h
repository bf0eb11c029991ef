/* elaine tail: one line per exchange, the last N of the log, and following it. */
#ifndef ELAINE_CLI_TAIL_H
#define ELAINE_CLI_TAIL_H

#include "elaine_buf.h"
#include "elaine_json.h"

extern const char elaine_cli_tail_usage[];

/* One human line for a record (no "\n"): an exchange, a drop report, or
 * another line as TYPE key=value. width 0: the two snippets get 60
 * characters each; else the whole line is fitted into width columns.
 * color: ANSI colours. */
void elaine_cli_tail_line(elaine_buf *b, const ej_val *rec, int width, int color);

/* argv[0] is "tail". The exit status. */
int elaine_cli_tail_main(int argc, char **argv);

#endif
