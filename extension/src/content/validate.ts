// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

/**
 * Validation of the messages a page posts (docs/protocol.md §2.1). Pages are
 * untrusted: anything that is not exactly a request is ignored.
 *
 * @module
 */

import { isPageRequestType, LIMITS, PAGE_PROTOCOL, type PageRequestType } from "../shared/protocol.js";

/** A valid page request: only the fields the extension reads. */
export interface PageRequest {
  id: string;
  type: PageRequestType;
}

/**
 * Returns the request in data, or undefined when data is not a valid request:
 * not a plain object, `oia` not 1, `id` not a 1–64 character string, `type`
 * not a request type (so the extension's own replies and events are ignored),
 * or larger than 4 KiB as JSON. It never throws.
 */
export function validatePageMessage(data: unknown): PageRequest | undefined {
  try {
    if (typeof data !== "object" || data === null || Array.isArray(data)) return undefined;
    const d = data as Record<string, unknown>;
    const { oia, id, type } = d;
    if (oia !== PAGE_PROTOCOL) return undefined;
    if (typeof id !== "string" || id.length < 1 || id.length > LIMITS.maxIdLength) return undefined;
    if (!isPageRequestType(type)) return undefined;
    const json = JSON.stringify(d);
    if (typeof json !== "string" || new TextEncoder().encode(json).length > LIMITS.maxPageMessageBytes) return undefined;
    return { id, type };
  } catch {
    // cyclic or otherwise unserialisable data
    return undefined;
  }
}
