// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

/*
 * json_test: table tests of the JSON reader (json.c), then a deterministic
 * mutation run: random edits of valid documents must parse or be refused,
 * never read out of bounds (run under ASan: each input is an exactly sized
 * heap copy). Prints "N passed, N failed".
 */

#include "json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int passed, failed;

static void expect(int ok, const char *what, const char *input)
{
	if (ok) {
		passed++;
		return;
	}
	failed++;
	printf("FAIL %s: %s\n", what, input);
}

/* parse copies s to an exact heap buffer so ASan catches any overread. */
static int parse(const char *s, size_t n, js_val *v, char **keep)
{
	char *b = malloc(n ? n : 1);
	memcpy(b, s, n);
	int rc = js_parse(b, n, v);
	*keep = b;
	return rc;
}

struct validity {
	const char *doc;
	int ok;
	const char *why;
};

static const struct validity validity[] = {
	{"{}", 1, "empty object"},
	{" { \"a\" : [1, -2.5e+3, true, false, null, \"x\"] } ", 1, "every kind, with spaces"},
	{"{\"a\":{\"b\":{\"c\":[]}}}", 1, "nesting"},
	{"\"\\u00e9\\ud83d\\ude00\\n\"", 1, "escapes and a surrogate pair"},
	{"\"caf\xc3\xa9 \xf0\x9f\x98\x80\"", 1, "raw UTF-8"},
	{"0", 1, "zero"},
	{"", 0, "empty input"},
	{"{", 0, "unterminated object"},
	{"{\"a\":1,}", 0, "trailing comma"},
	{"{\"a\" 1}", 0, "missing colon"},
	{"{a:1}", 0, "unquoted key"},
	{"{\"a\":1} x", 0, "trailing data"},
	{"{\"a\":01}", 0, "leading zero"},
	{"{\"a\":1.}", 0, "bare decimal point"},
	{"{\"a\":-}", 0, "bare minus"},
	{"{\"a\":tru}", 0, "truncated literal"},
	{"\"\\x\"", 0, "unknown escape"},
	{"\"\\u12\"", 0, "short unicode escape"},
	{"\"\\ud800\"", 0, "lone high surrogate"},
	{"\"\\udc00\"", 0, "lone low surrogate"},
	{"\"\\ud800\\u0041\"", 0, "high surrogate with a non-surrogate"},
	{"\"a\nb\"", 0, "raw control character"},
	{"\"\xc0\xaf\"", 0, "overlong UTF-8"},
	{"\"\xed\xa0\x80\"", 0, "UTF-8 surrogate"},
	{"\"\xf4\x90\x80\x80\"", 0, "past U+10FFFF"},
	{"\"\xe2\x82\"", 0, "truncated UTF-8"},
	{"\"abc", 0, "unterminated string"},
	{"[1 2]", 0, "missing comma in array"},
};

static void test_validity(void)
{
	for (size_t i = 0; i < sizeof validity / sizeof validity[0]; i++) {
		js_val v;
		char *b;
		int rc = parse(validity[i].doc, strlen(validity[i].doc), &v, &b);
		expect((rc == 0) == validity[i].ok, validity[i].why, validity[i].doc);
		free(b);
	}
}

static void test_depth(void)
{
	char doc[2 * (JS_MAX_DEPTH + 2) + 1];
	for (int depth = JS_MAX_DEPTH; depth <= JS_MAX_DEPTH + 1; depth++) {
		size_t n = 0;
		for (int i = 0; i < depth; i++)
			doc[n++] = '[';
		for (int i = 0; i < depth; i++)
			doc[n++] = ']';
		js_val v;
		char *b;
		int rc = parse(doc, n, &v, &b);
		expect((rc == 0) == (depth <= JS_MAX_DEPTH), "nesting limit", depth <= JS_MAX_DEPTH ? "at limit" : "over limit");
		free(b);
	}
}

static void test_members(void)
{
	const char *doc = "{\"type\":\"result\",\"id\":\"1\",\"ok\":true,\"n\":2148532233,\"big\":4294967296,"
			  "\"neg\":-1,\"frac\":1.5,\"t\\u0069cket\":\"AQIC\\u005c=@#\",\"error\":{\"code\":\"X\"},"
			  "\"type\":\"second\",\"nul\":\"a\\u0000b\"}";
	js_val root, v;
	char *b, out[64];
	size_t len;
	uint32_t u;
	expect(parse(doc, strlen(doc), &root, &b) == 0, "members document parses", doc);
	expect(js_member(&root, "type", &v) == 1 && js_string_eq(&v, "result"), "first of duplicate keys", "type");
	expect(js_member(&root, "ok", &v) == 1 && v.kind == JS_TRUE, "boolean", "ok");
	expect(js_member(&root, "missing", &v) == 0, "absent key", "missing");
	expect(js_member(&root, "n", &v) == 1 && js_uint32(&v, &u) == 0 && u == 2148532233u, "uint32 past int32", "n");
	expect(js_member(&root, "big", &v) == 1 && js_uint32(&v, &u) != 0, "uint32 overflow refused", "big");
	expect(js_member(&root, "neg", &v) == 1 && js_uint32(&v, &u) != 0, "negative refused", "neg");
	expect(js_member(&root, "frac", &v) == 1 && js_uint32(&v, &u) != 0, "fraction refused", "frac");
	expect(js_member(&root, "ticket", &v) == 1 && js_string(&v, out, sizeof out, &len) == 0 &&
		       strcmp(out, "AQIC\\=@#") == 0 && len == 8,
		"escaped key and value", "ticket");
	expect(js_member(&root, "ticket", &v) == 1 && js_string(&v, out, 8, &len) != 0 && out[0] == 0,
		"too small a buffer is refused and cleared", "ticket");
	expect(js_member(&root, "ticket", &v) == 1 && js_string(&v, out, 9, &len) == 0, "exact buffer", "ticket");
	expect(js_member(&root, "nul", &v) == 1 && js_string(&v, out, sizeof out, &len) != 0, "U+0000 refused", "nul");
	js_val err, code;
	expect(js_member(&root, "error", &err) == 1 && js_member(&err, "code", &code) == 1 && js_string_eq(&code, "X"),
		"nested member", "error.code");
	expect(js_member(&v, "x", &code) == -1, "member of a non-object", "nul");
	free(b);
}

/* A small deterministic PRNG (xorshift32). */
static unsigned int rng = 2463534242u;
static unsigned int next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return rng;
}

static void test_mutations(int rounds)
{
	static const char *seeds[] = {
		"{\"type\":\"hello\",\"protocol\":\"1.0\",\"version\":\"0.1.0\",\"state\":\"loggedIn\",\"settings\":{\"a\":[1,2,{\"b\":null}]},\"agent\":{\"pid\":1234}}",
		"{\"id\":\"1\",\"type\":\"result\",\"ok\":true,\"ticket\":\"AQIC5wM2LY4S\\u0041=@AAJTSQACMDE=#\",\"user\":{\"name\":\"\xc3\xa9\"},\"expiresAt\":\"2026\"}",
		"{\"id\":\"1\",\"type\":\"result\",\"ok\":false,\"error\":{\"code\":\"TICKET_NOT_AVAILABLE\",\"legacyCode\":2148532233,\"message\":\"m\\ud83d\\ude00\"}}",
	};
	static const char alphabet[] = "{}[]\":,\\u0123456789abcdefnrt-+.eE \x80\xc3\xa9\xf0\xed";
	int accepted = 0;
	for (int r = 0; r < rounds; r++) {
		const char *s = seeds[next() % 3];
		size_t n = strlen(s);
		char *b = malloc(n + 8);
		memcpy(b, s, n);
		int edits = 1 + (int)(next() % 4);
		for (int e = 0; e < edits; e++) {
			unsigned int op = next() % 3, at = n ? next() % (unsigned int)n : 0;
			char c = alphabet[next() % (sizeof alphabet - 1)];
			if (op == 0 && n > 0)
				b[at] = c;
			else if (op == 1 && n > 0) {
				memmove(b + at, b + at + 1, n - at - 1);
				n--;
			} else if (n + 1 < strlen(s) + 8) {
				memmove(b + at + 1, b + at, n - at);
				b[at] = c;
				n++;
			}
		}
		js_val root, v;
		char *exact;
		if (parse(b, n, &root, &exact) == 0) {
			accepted++;
			char out[256];
			uint32_t u;
			static const char *keys[] = {"type", "ticket", "error", "id", "ok", "protocol"};
			for (size_t k = 0; k < 6; k++) {
				if (js_member(&root, keys[k], &v) == 1) {
					js_string(&v, out, sizeof out, NULL);
					js_uint32(&v, &u);
					js_val inner;
					js_member(&v, "code", &inner);
					js_member(&v, "legacyCode", &inner);
				}
			}
		}
		free(exact);
		free(b);
	}
	expect(accepted > 0 && accepted < rounds, "mutations: some accepted, some refused", "mutation run");
	printf("mutations: %d rounds, %d accepted\n", rounds, accepted);
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 200000;
	test_validity();
	test_depth();
	test_members();
	test_mutations(rounds);
	printf("%d passed, %d failed\n", passed, failed);
	return failed != 0;
}
