// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

/**
 * Origin patterns and origin matching, as docs/protocol.md §3.2 defines them:
 * `https://host`, `https://host:port` or `https://*.domain` (subdomains of
 * domain only); `http` only for localhost and 127.0.0.1; hosts compared in
 * lower case, in their ASCII (punycode) form, without a trailing dot; a
 * pattern without a port matches only the scheme's default port.
 *
 * Everything here goes through the WHATWG URL parser, the same parser the
 * browser used to produce the origins it reports, so that case, IDNs,
 * percent-encoding and default ports are normalised one way only.
 *
 * @module
 */

/** A parsed origin pattern. */
export interface OriginPattern {
  /** The pattern as written (trimmed). */
  readonly source: string;
  /** "https:" or "http:". */
  readonly scheme: "https:" | "http:";
  /** Lower-case ASCII host, no trailing dot; for a wildcard, the domain after "*.". */
  readonly host: string;
  /** True for `*.domain`: any subdomain of host, not host itself. */
  readonly wildcard: boolean;
  /** The port, or "" for the scheme's default port. */
  readonly port: string;
}

/** The bound on a pattern's or origin's length. */
export const MAX_ORIGIN_LENGTH = 2048;

const LOOPBACK_HTTP = new Set(["localhost", "127.0.0.1"]);

/** The host names that may use http (development only). */
export function isLoopbackHttpHost(host: string): boolean {
  return LOOPBACK_HTTP.has(host);
}

function stripDot(host: string): string {
  return host.endsWith(".") ? host.slice(0, -1) : host;
}

/**
 * Parses an origin pattern. It returns an Error (not throws) with a
 * lower-case message naming what is wrong, so callers can report every bad
 * entry of a policy at once.
 */
export function parseOriginPattern(input: unknown): OriginPattern | Error {
  if (typeof input !== "string") return new Error("an origin pattern must be a string");
  const source = input.trim();
  if (source === "" || source.length > MAX_ORIGIN_LENGTH) {
    return new Error("an origin pattern must be 1 to 2048 characters");
  }
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\/(\*\.)?([^/?#@]*)\/?$/.exec(source);
  if (m === null) {
    return new Error(`${JSON.stringify(source)} is not of the form https://host[:port] or https://*.domain`);
  }
  const [, rawScheme = "", star, rest = ""] = m;
  const scheme = rawScheme.toLowerCase();
  if (scheme !== "https" && scheme !== "http") {
    return new Error(`${JSON.stringify(source)}: the scheme must be https`);
  }
  if (rest.includes("*")) {
    return new Error(`${JSON.stringify(source)}: a wildcard is allowed only as a leading "*."`);
  }
  if (rest.includes("%")) {
    // The URL parser would decode %2A to "*": a host like that would turn
    // into a match pattern for every page of the domain.
    return new Error(`${JSON.stringify(source)}: a host must not be percent-encoded`);
  }
  let url: URL;
  try {
    url = new URL(`${scheme}://${rest}/`);
  } catch {
    return new Error(`${JSON.stringify(source)} is not a valid origin`);
  }
  if (url.username !== "" || url.password !== "" || url.pathname !== "/" || url.search !== "" || url.hash !== "") {
    return new Error(`${JSON.stringify(source)} must hold only a scheme, a host and a port`);
  }
  const host = stripDot(url.hostname);
  if (host === "" || host.startsWith(".") || host.includes("..")) {
    return new Error(`${JSON.stringify(source)} has no valid host`);
  }
  const wildcard = star !== undefined;
  if (wildcard) {
    if (!host.includes(".")) {
      return new Error(`${JSON.stringify(source)}: a wildcard must be above a domain with at least two labels, e.g. https://*.example.nhs.uk`);
    }
    if (host.startsWith("[") || /^[0-9.]+$/.test(host)) {
      return new Error(`${JSON.stringify(source)}: a wildcard cannot stand before an ip address`);
    }
  }
  if (scheme === "http" && (wildcard || !isLoopbackHttpHost(host))) {
    return new Error(`${JSON.stringify(source)}: http is allowed only for localhost and 127.0.0.1; use https`);
  }
  return Object.freeze({ source, scheme: url.protocol as "https:" | "http:", host, wildcard, port: url.port });
}

/** A browser-reported origin, parsed for matching. */
export interface ParsedOrigin {
  /** The origin in the browser's own serialisation (URL.origin). */
  readonly origin: string;
  readonly scheme: "https:" | "http:";
  /** Lower-case ASCII host without a trailing dot. */
  readonly host: string;
  /** The port, or "" for the default one. */
  readonly port: string;
}

/**
 * Parses an origin as the browser reports it (`sender.origin`) or a URL
 * (`sender.url`), keeping only its origin. It returns undefined for opaque
 * origins ("null"), other schemes, user info and anything unparsable.
 */
export function parseOrigin(input: unknown): ParsedOrigin | undefined {
  if (typeof input !== "string" || input === "" || input.length > MAX_ORIGIN_LENGTH) return undefined;
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    return undefined;
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return undefined;
  if (url.username !== "" || url.password !== "") return undefined;
  const host = stripDot(url.hostname);
  if (host === "") return undefined;
  return Object.freeze({ origin: url.origin, scheme: url.protocol, host, port: url.port });
}

/** Reports whether an origin matches one pattern. */
export function matchesPattern(o: ParsedOrigin, p: OriginPattern): boolean {
  if (o.scheme !== p.scheme || o.port !== p.port) return false;
  if (p.wildcard) return o.host.length > p.host.length + 1 && o.host.endsWith("." + p.host);
  return o.host === p.host;
}

/**
 * An allow-list: parsed patterns plus the entries that were refused, so the
 * options page can show them.
 */
export class AllowList {
  /** The valid patterns. */
  readonly patterns: readonly OriginPattern[];
  /** The entries that are not valid patterns, with the reason. */
  readonly invalid: readonly { entry: string; reason: string }[];

  /** Parses every entry; invalid ones are kept aside, never matched. */
  constructor(entries: readonly unknown[]) {
    const patterns: OriginPattern[] = [];
    const invalid: { entry: string; reason: string }[] = [];
    for (const e of entries) {
      const p = parseOriginPattern(e);
      if (p instanceof Error) invalid.push({ entry: String(e).slice(0, 200), reason: p.message });
      else patterns.push(p);
    }
    this.patterns = Object.freeze(patterns);
    this.invalid = Object.freeze(invalid);
  }

  /**
   * Returns the parsed origin when origin (a browser-reported origin or URL)
   * is allowed, else undefined.
   */
  match(origin: unknown): ParsedOrigin | undefined {
    const o = parseOrigin(origin);
    if (o === undefined) return undefined;
    return this.patterns.some((p) => matchesPattern(o, p)) ? o : undefined;
  }

  /**
   * The match patterns (WebExtension syntax) that cover every allowed
   * origin, for scripting.registerContentScripts. Match patterns have no
   * port in Firefox, so they may cover more than the allow-list (another
   * port); the background checks every request's origin exactly anyway.
   */
  matchPatterns(): { matches: string[]; excludeMatches: string[] } {
    const matches = new Set<string>();
    const excludes = new Set<string>();
    for (const p of this.patterns) {
      const scheme = p.scheme.slice(0, -1);
      if (p.wildcard) {
        matches.add(`${scheme}://*.${p.host}/*`);
        excludes.add(`${scheme}://${p.host}/*`);
      } else {
        matches.add(`${scheme}://${p.host}/*`);
      }
    }
    // A domain that is itself listed exactly must not be excluded.
    for (const p of this.patterns) {
      if (!p.wildcard) excludes.delete(`${p.scheme.slice(0, -1)}://${p.host}/*`);
    }
    return { matches: [...matches].sort(), excludeMatches: [...excludes].sort() };
  }
}
