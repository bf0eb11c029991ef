/* PII and secret masking for --content redacted: hand-written scanners for the
 * built-in kinds, POSIX extended regexes for the user's --redact-pattern. */
#ifndef ELAINE_MASK_H
#define ELAINE_MASK_H

#include <stddef.h>

#include "elaine_buf.h"

/* What a match becomes: "[REDACTED:" kind "]". The built-in kinds are
 * email, phone, card (Luhn-checked), iban (mod-97-checked), ipv4,
 * openai_key (sk-...), anthropic_key (sk-ant-...), google_key (AIza...),
 * aws_key (AKIA.../ASIA...), github_token (ghp_..., github_pat_...),
 * slack_token (xoxb-...), jwt, private_key (a PEM block, to its END line or
 * the end of the text); a user pattern is "pattern". */
#define ELAINE_MASK_PREFIX "[REDACTED:"

typedef struct elaine_mask elaine_mask;

/* A mask with the built-in kinds and no user pattern; NULL on ENOMEM.
 * The caller owns it and frees it with elaine_mask_free. */
elaine_mask *elaine_mask_new(void);
void elaine_mask_free(elaine_mask *m); /* NULL is fine */

/* Adds a user pattern (regcomp with REG_EXTENDED); its matches are masked as
 * "[REDACTED:pattern]" and take precedence over the built-in kinds.
 * 0; -EINVAL with regerror's message in err; -ENOMEM. */
int elaine_mask_add_pattern(elaine_mask *m, const char *regex, char *err, size_t errsize);

/* Appends s[0..n) to out with every match replaced by "[REDACTED:<kind>]";
 * everything else is copied byte for byte. m NULL: the built-in kinds only.
 * Returns the number of replacements. Never allocates besides out (and, with
 * user patterns, a small span list). */
size_t elaine_mask_apply(const elaine_mask *m, elaine_buf *out, const char *s, size_t n);

#endif
