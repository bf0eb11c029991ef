/* A decoder of the shim's Batch messages (proto/elaine.proto) written for
 * the collector's hot path: the same structs as protobuf-c's
 * elaine__batch__unpack, carved from 16 KiB blocks of one allocator
 * (ingest's arena; bigger pieces are an allocation of their own), with
 * Data bytes pointing into the payload instead of copied. */
#ifndef ELAINE_PBDEC_H
#define ELAINE_PBDEC_H

#include <stddef.h>
#include <stdint.h>

#include "elaine.pb-c.h"

/* Decodes n bytes of a Batch. Every allocation comes from a (never freed
 * one by one: drop them all at once); Data.data points into p, which must
 * outlive the result. Unknown fields are skipped, as protobuf-c does; a
 * known field with the wrong wire type, a truncated or overlong varint or a
 * length past the end fails. NULL on failure (or when a fails). */
Elaine__Batch *elaine_pbdec_batch(const uint8_t *p, size_t n, ProtobufCAllocator *a);

#endif
