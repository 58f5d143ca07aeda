// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { AllowList, matchesPattern, parseOrigin, parseOriginPattern } from "../src/shared/origin.js";
import { repoRoot } from "./helpers.js";

test("parseOriginPattern accepts and normalises valid patterns", () => {
  const cases: [string, string, { host: string; wildcard: boolean; port: string; scheme: string }][] = [
    ["plain https host", "https://spine.example.nhs.uk", { host: "spine.example.nhs.uk", wildcard: false, port: "", scheme: "https:" }],
    ["upper case is lowered", "HTTPS://Spine.Example.NHS.uk", { host: "spine.example.nhs.uk", wildcard: false, port: "", scheme: "https:" }],
    ["a trailing slash is tolerated", "https://a.nhs.uk/", { host: "a.nhs.uk", wildcard: false, port: "", scheme: "https:" }],
    ["a trailing dot is removed", "https://a.nhs.uk.", { host: "a.nhs.uk", wildcard: false, port: "", scheme: "https:" }],
    ["the default port is dropped", "https://a.nhs.uk:443", { host: "a.nhs.uk", wildcard: false, port: "", scheme: "https:" }],
    ["another port is kept", "https://a.nhs.uk:8443", { host: "a.nhs.uk", wildcard: false, port: "8443", scheme: "https:" }],
    ["wildcard over a domain", "https://*.nhs.uk", { host: "nhs.uk", wildcard: true, port: "", scheme: "https:" }],
    ["IDN becomes punycode", "https://bücher.example.nhs.uk", { host: "xn--bcher-kva.example.nhs.uk", wildcard: false, port: "", scheme: "https:" }],
    ["wildcard IDN", "https://*.bücher.nhs.uk", { host: "xn--bcher-kva.nhs.uk", wildcard: true, port: "", scheme: "https:" }],
    ["http localhost for development", "http://localhost:8080", { host: "localhost", wildcard: false, port: "8080", scheme: "http:" }],
    ["http 127.0.0.1 for development", "http://127.0.0.1", { host: "127.0.0.1", wildcard: false, port: "", scheme: "http:" }],
    ["surrounding spaces are trimmed", "  https://a.nhs.uk  ", { host: "a.nhs.uk", wildcard: false, port: "", scheme: "https:" }],
  ];
  for (const [why, input, want] of cases) {
    const p = parseOriginPattern(input);
    assert.ok(!(p instanceof Error), `${why}: ${p instanceof Error ? p.message : ""}`);
    assert.deepEqual({ host: p.host, wildcard: p.wildcard, port: p.port, scheme: p.scheme }, want, why);
  }
});

test("parseOriginPattern refuses invalid patterns with a reason", () => {
  const cases: [string, unknown][] = [
    ["not a string", 42],
    ["empty", ""],
    ["http for a real host", "http://a.nhs.uk"],
    ["http wildcard", "http://*.localhost"],
    ["another scheme", "ftp://a.nhs.uk"],
    ["no scheme", "a.nhs.uk"],
    ["a path", "https://a.nhs.uk/path"],
    ["a query", "https://a.nhs.uk?x=1"],
    ["a fragment", "https://a.nhs.uk#x"],
    ["user info", "https://user@a.nhs.uk"],
    ["a bare star", "https://*"],
    ["a star in the middle", "https://a.*.nhs.uk"],
    ["a star as a port", "https://a.nhs.uk:*"],
    ["a wildcard over a top-level domain", "https://*.uk"],
    ["a wildcard over an ip address", "https://*.127.0.0.1"],
    ["a bad port", "https://a.nhs.uk:99999"],
    ["an empty label", "https://a..nhs.uk"],
    ["too long", "https://" + "a".repeat(3000) + ".uk"],
    ["a javascript url", "javascript://a.nhs.uk"],
  ];
  for (const [why, input] of cases) {
    const p = parseOriginPattern(input);
    assert.ok(p instanceof Error, `${why}: ${JSON.stringify(input)} was accepted`);
    assert.match(p.message, /^[^A-Z]/, `${why}: error text starts lower case`);
  }
});

test("parseOrigin reads only http(s) origins", () => {
  assert.equal(parseOrigin("https://A.nhs.uk:443/x?y#z")?.origin, "https://a.nhs.uk");
  assert.equal(parseOrigin("https://a.nhs.uk.")?.host, "a.nhs.uk"); // trailing dot
  assert.equal(parseOrigin("null"), undefined); // opaque origin
  assert.equal(parseOrigin("about:blank"), undefined);
  assert.equal(parseOrigin("data:text/html,x"), undefined);
  assert.equal(parseOrigin("chrome-extension://abc"), undefined);
  assert.equal(parseOrigin("https://u:p@a.nhs.uk"), undefined); // user info
  assert.equal(parseOrigin(undefined), undefined);
  assert.equal(parseOrigin(""), undefined);
});

test("AllowList.match follows the rules of docs/protocol.md §3.2", () => {
  const list = new AllowList([
    "https://*.nhs.uk",
    "https://portal.example.org",
    "https://app.example.org:8443",
    "http://localhost:3000",
    "https://*.bücher.example",
    "not a pattern",
  ]);
  const cases: [string, string, boolean][] = [
    ["a subdomain of a wildcard", "https://spine.nhs.uk", true],
    ["a deep subdomain of a wildcard", "https://a.b.c.nhs.uk", true],
    ["the wildcard's own domain is not included", "https://nhs.uk", false],
    ["a look-alike suffix", "https://evilnhs.uk", false],
    ["the domain as a prefix of another", "https://nhs.uk.evil.com", false],
    ["upper case host", "https://SPINE.NHS.UK", true],
    ["trailing dot", "https://spine.nhs.uk.", true],
    ["explicit default port", "https://spine.nhs.uk:443", true],
    ["another port than the pattern's default", "https://spine.nhs.uk:8443", false],
    ["http where https is listed", "http://spine.nhs.uk", false],
    ["exact host", "https://portal.example.org", true],
    ["subdomain of an exact host", "https://x.portal.example.org", false],
    ["exact host with its port", "https://app.example.org:8443", true],
    ["exact host without its port", "https://app.example.org", false],
    ["http localhost with its port", "http://localhost:3000", true],
    ["http localhost on another port", "http://localhost:3001", false],
    ["https localhost not listed", "https://localhost:3000", false],
    ["IDN subdomain in unicode", "https://x.bücher.example", true],
    ["IDN subdomain in punycode", "https://x.xn--bcher-kva.example", true],
    ["opaque origin", "null", false],
    ["user info is never an origin", "https://u@spine.nhs.uk", false],
    ["a full URL is read for its origin", "https://spine.nhs.uk/path?q#f", true],
  ];
  for (const [why, origin, want] of cases) {
    assert.equal(list.match(origin) !== undefined, want, `${why}: ${origin}`);
  }
  assert.equal(list.invalid.length, 1);
  assert.equal(list.invalid[0]?.entry, "not a pattern");
});

test("AllowList.matchPatterns covers the list and excludes wildcard parents", () => {
  const list = new AllowList(["https://*.nhs.uk", "https://app.example.org:8443", "http://127.0.0.1:8080"]);
  assert.deepEqual(list.matchPatterns(), {
    matches: ["http://127.0.0.1/*", "https://*.nhs.uk/*", "https://app.example.org/*"],
    excludeMatches: ["https://nhs.uk/*"],
  });
  // A parent that is listed exactly is not excluded.
  assert.deepEqual(new AllowList(["https://*.a.nhs.uk", "https://a.nhs.uk"]).matchPatterns().excludeMatches, []);
  // An empty list registers nothing.
  assert.deepEqual(new AllowList([]).matchPatterns(), { matches: [], excludeMatches: [] });
});

test("matching properties hold for generated hosts (fuzz)", async () => {
  const fc = (await import("fast-check")).default;
  const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?$/);
  // The last label is alphabetic: a host ending in a number is an IPv4
  // address to the URL parser (and refused under a wildcard).
  const tld = fc.stringMatching(/^[a-z]{2,6}$/);
  const domain = fc.tuple(fc.array(label, { minLength: 1, maxLength: 3 }), tld).map(([ls, t]) => [...ls, t].join("."));
  fc.assert(
    fc.property(domain, label, fc.boolean(), (d, sub, upper) => {
      const list = new AllowList([`https://*.${d}`]);
      const host = `${sub}.${d}`;
      const shown = upper ? host.toUpperCase() : host;
      return (
        // a subdomain matches, in any case, with or without a trailing dot
        list.match(`https://${shown}`) !== undefined &&
        list.match(`https://${shown}.`) !== undefined &&
        // the domain itself, another scheme, another port and a look-alike never do
        list.match(`https://${d}`) === undefined &&
        list.match(`http://${host}`) === undefined &&
        list.match(`https://${host}:8443`) === undefined &&
        list.match(`https://${sub}${d}`) === undefined &&
        list.match(`https://${host}.evil.example`) === undefined
      );
    }),
    { numRuns: 500 },
  );
});

/** host/origin/testdata/vectors.json: the cases the Go twin reads too. */
interface Vectors {
  patterns: { pattern: string; valid: boolean; why: string }[];
  matches: { pattern: string; origin: string; match: boolean; why: string }[];
}

test("the shared vectors: patterns and matches judged as host/origin judges them", () => {
  const v = JSON.parse(readFileSync(join(repoRoot(), "host", "origin", "testdata", "vectors.json"), "utf8")) as Vectors;
  assert.ok(v.patterns.length > 0 && v.matches.length > 0, "the vector file has cases");
  for (const c of v.patterns) {
    const p = parseOriginPattern(c.pattern);
    assert.equal(!(p instanceof Error), c.valid, `${c.pattern}: ${c.why}${p instanceof Error ? ` (${p.message})` : ""}`);
  }
  for (const c of v.matches) {
    const p = parseOriginPattern(c.pattern);
    assert.ok(!(p instanceof Error), `${c.pattern}: ${p instanceof Error ? p.message : ""}`);
    const o = parseOrigin(c.origin);
    assert.equal(o !== undefined && matchesPattern(o, p), c.match, `${c.pattern} vs ${c.origin}: ${c.why}`);
  }
});
