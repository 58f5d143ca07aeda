// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

/**
 * Turning host results into page replies: only the fields docs/protocol.md
 * §2.2 names, each checked for its type, so that nothing else the host adds
 * (a card serial, another site's origin) reaches a page.
 *
 * @module
 */

import { errorBody, isState, normaliseError, type PageReplyBody, type Role, type User } from "../../shared/protocol.js";
import { str } from "../fields.js";
import { HostError, type HostFrame } from "../services/NativeHost.js";

const MAX_FIELD = 256;
const MAX_TICKET = 8192;


/** A user object with only its known string fields. */
export function cleanUser(v: unknown): User | undefined {
  if (typeof v !== "object" || v === null) return undefined;
  const o = v as Record<string, unknown>;
  const uid = str(o.uid, MAX_FIELD);
  if (uid === undefined) return undefined;
  const u: User = { uid };
  const name = str(o.name, MAX_FIELD);
  if (name !== undefined) u.name = name;
  return u;
}

/** A role object with only its known string fields. */
export function cleanRole(v: unknown): Role | undefined {
  if (typeof v !== "object" || v === null) return undefined;
  const o = v as Record<string, unknown>;
  const id = str(o.id, MAX_FIELD);
  if (id === undefined) return undefined;
  const r: Role = { id };
  for (const k of ["orgCode", "name", "orgName", "jobRole"] as const) {
    const x = str(o[k], MAX_FIELD);
    if (x !== undefined) r[k] = x;
  }
  return r;
}

/** The session fields of a frame: user, role, expiresAt. */
export function sessionFields(f: HostFrame): { user?: User; role?: Role; expiresAt?: string } {
  const out: { user?: User; role?: Role; expiresAt?: string } = {};
  const user = cleanUser(f.user);
  if (user !== undefined) out.user = user;
  const role = cleanRole(f.role);
  if (role !== undefined) out.role = role;
  const exp = str(f.expiresAt, 64);
  if (exp !== undefined && !Number.isNaN(Date.parse(exp))) out.expiresAt = exp;
  return out;
}

/** The page reply for a successful ticket request. */
export function ticketReply(f: HostFrame): PageReplyBody {
  const ticket = str(f.ticket, MAX_TICKET);
  if (ticket === undefined || ticket === "") {
    return { ok: false, error: errorBody("INTERNAL", "oia-host answered without a ticket") };
  }
  return { ok: true, ticket, ...sessionFields(f), state: "loggedIn" };
}

/** The page reply for a successful status request: never the ticket. */
export function statusReply(f: HostFrame): PageReplyBody {
  const state = isState(f.state) ? f.state : undefined;
  if (state === undefined) return { ok: false, error: errorBody("INTERNAL", "oia-host answered with an unknown state") };
  return state === "loggedIn" ? { ok: true, state, ...sessionFields(f) } : { ok: true, state };
}

/** The page reply for any failure. */
export function failure(e: unknown): PageReplyBody {
  if (e instanceof HostError) return { ok: false, error: e.body };
  return { ok: false, error: normaliseError(e) };
}
