/* Credentials never reach disk: which headers and URL parameters are secret. */
#ifndef ELAINE_REDACT_H
#define ELAINE_REDACT_H

#include <stddef.h>

#include "elaine_buf.h"

#define ELAINE_REDACTED "[REDACTED]"

/* 1 when a header (lower-case name) carries a credential: authorization,
 * proxy-authorization, x-api-key, api-key, x-goog-api-key, cookie, set-cookie. */
int elaine_redact_header(const char *lower_name);
/* The same for a name of n bytes (ASCII case ignored, like the above). */
int elaine_redact_headern(const char *name, size_t n);
/* Appends target to out with the values of secret query parameters
 * (key, api_key, api-key, access_token, token...) replaced by [REDACTED]. */
void elaine_redact_target(elaine_buf *out, const char *target);

#endif
