/* elaine export: the filtered exchanges for other tools: as stored (jsonl),
 * an OpenAI chat fine-tuning data set (openai), or OTLP/JSON spans named
 * after the OpenTelemetry GenAI semantic conventions (otlp). */
#ifndef ELAINE_CLI_EXPORT_H
#define ELAINE_CLI_EXPORT_H

#include "elaine_buf.h"
#include "elaine_json.h"

extern const char elaine_cli_export_usage[];

/* {"messages":[...]} (and "tools" when the request had OpenAI-shaped ones)
 * for a successful chat exchange with a reply; 1 written, 0 not such an
 * exchange, -ENOMEM. No "\n". */
int elaine_cli_export_openai(elaine_buf *b, const ej_val *rec);
/* One OTLP/JSON ExportTraceServiceRequest with one span; 1 written, 0 not
 * an LLM exchange (no llm.provider), -ENOMEM. No "\n". */
int elaine_cli_export_otlp(elaine_buf *b, const ej_val *rec);

/* argv[0] is "export". The exit status. */
int elaine_cli_export_main(int argc, char **argv);

#endif
