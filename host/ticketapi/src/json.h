// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

/*
 * json.h: a small, bounded JSON reader for the few fields the Ticket API
 * library reads from the agent's frames. js_parse validates a whole document
 * (RFC 8259: UTF-8, no trailing data, nesting at most JS_MAX_DEPTH) without
 * allocating; the other functions then look members up and decode values
 * into buffers the caller provides.
 */

#ifndef OIA_TICKETAPI_JSON_H
#define OIA_TICKETAPI_JSON_H

#include <stddef.h>
#include <stdint.h>

/* JS_MAX_DEPTH bounds the nesting of arrays and objects (and so the
 * recursion of the parser). */
#define JS_MAX_DEPTH 32

/* The kinds of JSON value. */
enum js_kind {
	JS_INVALID = 0,
	JS_OBJECT,
	JS_ARRAY,
	JS_STRING,
	JS_NUMBER,
	JS_TRUE,
	JS_FALSE,
	JS_NULL
};

/* js_val is one value: its kind and its bytes in the document (for a
 * string, including the quotes). */
typedef struct {
	const char *p;
	size_t n;
	enum js_kind kind;
} js_val;

/* js_parse validates the n bytes at p as one JSON document and sets *root to
 * its value. It returns 0, or -1 when the document is not valid JSON. */
int js_parse(const char *p, size_t n, js_val *root);

/* js_member finds key in the object obj (from js_parse) and sets *out. It
 * returns 1 when found (the first occurrence), 0 when not, and -1 when obj
 * is not an object. */
int js_member(const js_val *obj, const char *key, js_val *out);

/* js_string decodes the string v into out (cap bytes, NUL-terminated) and
 * sets *len (when not NULL) to the decoded length. It returns 0, or -1 when
 * v is not a string, does not fit, or contains U+0000. */
int js_string(const js_val *v, char *out, size_t cap, size_t *len);

/* js_string_eq returns 1 when v is a string equal to s once decoded. */
int js_string_eq(const js_val *v, const char *s);

/* js_uint32 reads v as a non-negative integer that fits in 32 bits (no
 * fraction, no exponent). It returns 0, or -1 otherwise. */
int js_uint32(const js_val *v, uint32_t *out);

#endif /* OIA_TICKETAPI_JSON_H */
