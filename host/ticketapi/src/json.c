// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

/*
 * json.c: the bounded JSON reader declared in json.h. Every function works
 * on a (pointer, end) pair and never reads past end; nothing allocates.
 */

#include "json.h"

#include <string.h>

static const char *skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* read_u4 reads the four hex digits at p (p + 4 <= end checked by caller). */
static long read_u4(const char *p)
{
	long v = 0;
	for (int i = 0; i < 4; i++) {
		int h = hexval(p[i]);
		if (h < 0)
			return -1;
		v = v << 4 | h;
	}
	return v;
}

/* utf8_len returns the length of the well-formed UTF-8 sequence at p, or 0
 * (overlong forms, surrogates and values past U+10FFFF are ill-formed). */
static size_t utf8_len(const unsigned char *p, const unsigned char *end)
{
	unsigned char c = p[0];
	size_t n;
	unsigned long cp;
	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF) {
		n = 2;
		cp = c & 0x1F;
	} else if (c >= 0xE0 && c <= 0xEF) {
		n = 3;
		cp = c & 0x0F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		n = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if ((size_t)(end - p) < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3F);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10FFFF ||
	    (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return n;
}

/* scan_string checks the string starting at the quote at p and returns the
 * position after its closing quote, or NULL. */
static const char *scan_string(const char *p, const char *end)
{
	if (p >= end || *p != '"')
		return NULL;
	p++;
	while (p < end) {
		unsigned char c = (unsigned char)*p;
		if (c == '"')
			return p + 1;
		if (c < 0x20)
			return NULL;
		if (c == '\\') {
			if (end - p < 2)
				return NULL;
			char e = p[1];
			if (e == 'u') {
				if (end - p < 6)
					return NULL;
				long u = read_u4(p + 2);
				if (u < 0)
					return NULL;
				p += 6;
				if (u >= 0xDC00 && u <= 0xDFFF)
					return NULL;
				if (u >= 0xD800 && u <= 0xDBFF) {
					if (end - p < 6 || p[0] != '\\' || p[1] != 'u')
						return NULL;
					long lo = read_u4(p + 2);
					if (lo < 0xDC00 || lo > 0xDFFF)
						return NULL;
					p += 6;
				}
				continue;
			}
			if (!strchr("\"\\/bfnrt", e) || e == '\0')
				return NULL;
			p += 2;
			continue;
		}
		size_t n = utf8_len((const unsigned char *)p, (const unsigned char *)end);
		if (n == 0)
			return NULL;
		p += n;
	}
	return NULL;
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }

static const char *scan_number(const char *p, const char *end)
{
	if (p < end && *p == '-')
		p++;
	if (p >= end)
		return NULL;
	if (*p == '0') {
		p++;
	} else if (*p >= '1' && *p <= '9') {
		while (p < end && is_digit(*p))
			p++;
	} else {
		return NULL;
	}
	if (p < end && *p == '.') {
		p++;
		if (p >= end || !is_digit(*p))
			return NULL;
		while (p < end && is_digit(*p))
			p++;
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			p++;
		if (p >= end || !is_digit(*p))
			return NULL;
		while (p < end && is_digit(*p))
			p++;
	}
	return p;
}

static const char *scan_literal(const char *p, const char *end, const char *lit)
{
	size_t n = strlen(lit);
	if ((size_t)(end - p) < n || memcmp(p, lit, n) != 0)
		return NULL;
	return p + n;
}

/* scan_value checks one value at p (no leading space) and returns the
 * position after it, or NULL; it fills *v when v is not NULL. */
static const char *scan_value(const char *p, const char *end, int depth, js_val *v)
{
	const char *start = p, *q = NULL;
	enum js_kind kind = JS_INVALID;
	if (p >= end)
		return NULL;
	switch (*p) {
	case '{':
		kind = JS_OBJECT;
		if (depth >= JS_MAX_DEPTH)
			return NULL;
		p = skip_ws(p + 1, end);
		if (p < end && *p == '}') {
			q = p + 1;
			break;
		}
		for (;;) {
			p = scan_string(p, end);
			if (!p)
				return NULL;
			p = skip_ws(p, end);
			if (p >= end || *p != ':')
				return NULL;
			p = skip_ws(p + 1, end);
			p = scan_value(p, end, depth + 1, NULL);
			if (!p)
				return NULL;
			p = skip_ws(p, end);
			if (p < end && *p == ',') {
				p = skip_ws(p + 1, end);
				continue;
			}
			if (p < end && *p == '}') {
				q = p + 1;
				break;
			}
			return NULL;
		}
		break;
	case '[':
		kind = JS_ARRAY;
		if (depth >= JS_MAX_DEPTH)
			return NULL;
		p = skip_ws(p + 1, end);
		if (p < end && *p == ']') {
			q = p + 1;
			break;
		}
		for (;;) {
			p = scan_value(p, end, depth + 1, NULL);
			if (!p)
				return NULL;
			p = skip_ws(p, end);
			if (p < end && *p == ',') {
				p = skip_ws(p + 1, end);
				continue;
			}
			if (p < end && *p == ']') {
				q = p + 1;
				break;
			}
			return NULL;
		}
		break;
	case '"':
		kind = JS_STRING;
		q = scan_string(p, end);
		break;
	case 't':
		kind = JS_TRUE;
		q = scan_literal(p, end, "true");
		break;
	case 'f':
		kind = JS_FALSE;
		q = scan_literal(p, end, "false");
		break;
	case 'n':
		kind = JS_NULL;
		q = scan_literal(p, end, "null");
		break;
	default:
		kind = JS_NUMBER;
		q = scan_number(p, end);
		break;
	}
	if (!q)
		return NULL;
	if (v) {
		v->p = start;
		v->n = (size_t)(q - start);
		v->kind = kind;
	}
	return q;
}

int js_parse(const char *p, size_t n, js_val *root)
{
	if (!p || !root)
		return -1;
	const char *end = p + n;
	const char *q = scan_value(skip_ws(p, end), end, 0, root);
	if (!q || skip_ws(q, end) != end) {
		memset(root, 0, sizeof *root);
		return -1;
	}
	return 0;
}

/* put_utf8 appends code point cp at out[*i] if it fits in cap - 1 bytes. */
static int put_utf8(char *out, size_t cap, size_t *i, unsigned long cp)
{
	unsigned char b[4];
	size_t n;
	if (cp < 0x80) {
		b[0] = (unsigned char)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = (unsigned char)(0xC0 | cp >> 6);
		b[1] = (unsigned char)(0x80 | (cp & 0x3F));
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = (unsigned char)(0xE0 | cp >> 12);
		b[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
		b[2] = (unsigned char)(0x80 | (cp & 0x3F));
		n = 3;
	} else {
		b[0] = (unsigned char)(0xF0 | cp >> 18);
		b[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3F));
		b[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
		b[3] = (unsigned char)(0x80 | (cp & 0x3F));
		n = 4;
	}
	if (cap == 0 || *i + n > cap - 1)
		return -1;
	memcpy(out + *i, b, n);
	*i += n;
	return 0;
}

int js_string(const js_val *v, char *out, size_t cap, size_t *len)
{
	if (!v || v->kind != JS_STRING || v->n < 2 || !out || cap == 0)
		return -1;
	/* v comes from js_parse, so escapes and UTF-8 are known to be valid. */
	const char *p = v->p + 1, *end = v->p + v->n - 1;
	size_t i = 0;
	while (p < end) {
		unsigned long cp;
		if (*p == '\\') {
			char e = p[1];
			p += 2;
			switch (e) {
			case 'b': cp = '\b'; break;
			case 'f': cp = '\f'; break;
			case 'n': cp = '\n'; break;
			case 'r': cp = '\r'; break;
			case 't': cp = '\t'; break;
			case 'u': {
				long u = read_u4(p);
				p += 4;
				if (u >= 0xD800 && u <= 0xDBFF) {
					long lo = read_u4(p + 2);
					p += 6;
					cp = 0x10000 + ((unsigned long)(u - 0xD800) << 10) + (unsigned long)(lo - 0xDC00);
				} else {
					cp = (unsigned long)u;
				}
				break;
			}
			default: cp = (unsigned char)e; break;
			}
			if (cp == 0 || put_utf8(out, cap, &i, cp) != 0)
				goto fail;
			continue;
		}
		if (i + 1 > cap - 1)
			goto fail;
		out[i++] = *p++;
	}
	out[i] = '\0';
	if (len)
		*len = i;
	return 0;
fail:
	memset(out, 0, cap);
	return -1;
}

int js_string_eq(const js_val *v, const char *s)
{
	char buf[128];
	size_t n;
	if (js_string(v, buf, sizeof buf, &n) != 0)
		return 0;
	return n == strlen(s) && memcmp(buf, s, n) == 0;
}

int js_member(const js_val *obj, const char *key, js_val *out)
{
	if (!obj || obj->kind != JS_OBJECT || !key || !out)
		return -1;
	const char *end = obj->p + obj->n;
	const char *p = skip_ws(obj->p + 1, end);
	if (p < end && *p == '}')
		return 0;
	for (;;) {
		js_val k, v;
		const char *q = scan_value(p, end, JS_MAX_DEPTH - 1, &k);
		if (!q)
			return -1;
		p = skip_ws(skip_ws(q, end) + 1, end); /* past ':' */
		/* Nested values were checked by js_parse at their true depth. */
		q = scan_value(p, end, 0, &v);
		if (!q)
			return -1;
		if (js_string_eq(&k, key)) {
			*out = v;
			return 1;
		}
		p = skip_ws(q, end);
		if (p >= end || *p != ',')
			return 0;
		p = skip_ws(p + 1, end);
	}
}

int js_uint32(const js_val *v, uint32_t *out)
{
	if (!v || v->kind != JS_NUMBER || v->n == 0 || v->n > 10 || !out)
		return -1;
	uint64_t n = 0;
	for (size_t i = 0; i < v->n; i++) {
		if (!is_digit(v->p[i]))
			return -1;
		n = n * 10 + (uint64_t)(v->p[i] - '0');
	}
	if (n > 0xFFFFFFFFu || (v->n > 1 && v->p[0] == '0'))
		return -1;
	*out = (uint32_t)n;
	return 0;
}
