// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

/**
 * Shared protocol definitions: the error codes (with their legacy Ticket API
 * numbers), the login state names and the wire types of docs/protocol.md.
 * They mirror host/protocol/codes.go and messages.go; test/protocol.test.ts
 * reads the Go source and fails when the two lists differ.
 *
 * @module
 */

/** The version of the page protocol: the `oia` field of every page message. */
export const PAGE_PROTOCOL = 1 as const;

/** The native-messaging protocol version this extension speaks (§3.2). */
export const NATIVE_PROTOCOL = "1.0";

/** The native host's registered name. */
export const NATIVE_HOST_NAME = "org.openidentityagent.host";

/** Bounds from docs/protocol.md §2.1 and §3.1. */
export const LIMITS = Object.freeze({
  /** A page request's id: 1 to 64 characters. */
  maxIdLength: 64,
  /** A page message over this size as JSON is ignored. */
  maxPageMessageBytes: 4096,
  /** An origin sent to the host. */
  maxOriginLength: 2048,
  /** The passcode, in bytes of UTF-8. */
  maxPinBytes: 64,
  /** A role id. */
  maxRoleIdLength: 64,
  /** An error message passed on to a page. */
  maxMessageLength: 512,
});

/**
 * Error codes and their legacy Ticket API numbers (0 when the legacy API had
 * no faithful equivalent), in the order of docs/protocol.md §4. Append only.
 */
export const ERROR_CODES = Object.freeze({
  INTERNAL: 0x80100001,
  BAD_REQUEST: 0x80100003,
  BUSY: 0x80100006,
  SERVER_COMM_FAILED: 0x80100007,
  TICKET_NOT_AVAILABLE: 0x80100009,
  NOT_IMPLEMENTED: 0x8010000b,
  CONFIG_INVALID: 0,
  HOST_NOT_FOUND: 0x80800002,
  HOST_VERSION_MISMATCH: 0x80800001,
  CARD_NOT_PRESENT: 0,
  CARD_REMOVED: 0x80200005,
  PIN_LOCKED: 0x80200004,
  NO_CERT_FOUND: 0x80200006,
  NO_KEY_FOUND: 0x80200007,
  CARD_AMBIGUOUS: 0x80200003,
  MODULE_LOAD_FAILED: 0x80200001,
  CARD_ERROR: 0x80200005,
  PIN_INCORRECT: 0,
  PIN_EXPIRED: 0,
  PIN_INVALID: 0x80400006,
  USER_ABORT: 0x80400001,
  AUTHENTICATION_FAILED: 0x80400002,
  ROLE_SELECTION_FAILED: 0,
  TIMEOUT: 0,
  SESSION_EXPIRED: 0,
  ORIGIN_NOT_ALLOWED: 0,
  EXTENSION_NOT_ALLOWED: 0,
  FRAME_TOO_LARGE: 0,
  INVALID_STATE: 0,
  NO_EXTENSION: 0x80800002,
  RATE_LIMITED: 0x80100006,
  HOST_EXITED: 0,
  CONFIG_UNSAFE: 0,
  AGENT_UNAVAILABLE: 0x80800003,
  AGENT_VERSION_MISMATCH: 0x80800001,
  TICKET_API_DISABLED: 0x80800002,
  PROMPT_UNAVAILABLE: 0x80400003,
} as const);

/** A stable error code. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** Default messages for the codes the extension itself raises. */
export const DEFAULT_MESSAGES: Readonly<Partial<Record<ErrorCode, string>>> = Object.freeze({
  INTERNAL: "internal error in open identity agent: see the host log",
  BAD_REQUEST: "the request was malformed",
  HOST_NOT_FOUND:
    "open identity agent is not installed or not registered for this browser: run 'oia doctor'",
  HOST_VERSION_MISMATCH: "the extension and oia-host versions do not match: update both",
  HOST_EXITED: "oia-host stopped during the request: try again",
  AGENT_UNAVAILABLE: "oia-host cannot start or reach the identity agent: run 'oia doctor'",
  AGENT_VERSION_MISMATCH: "oia-host and the running identity agent are of different versions: run 'oia agent stop', then try again",
  ORIGIN_NOT_ALLOWED: "this site is not allowed to use smartcard login",
  NO_EXTENSION:
    "the open identity agent extension is not installed, or this site is not allowed",
  RATE_LIMITED: "too many requests: slow down",
  TIMEOUT: "nobody answered in time",
  INVALID_STATE: "the request does not fit the current state",
  USER_ABORT: "the login was cancelled",
  PIN_INVALID: "the passcode has the wrong form",
});

/** Reports whether s is a known error code. */
export function isErrorCode(s: unknown): s is ErrorCode {
  return typeof s === "string" && Object.prototype.hasOwnProperty.call(ERROR_CODES, s);
}

/** The wire form of an error (docs/protocol.md §2.2, §3.4). */
export interface ErrorBody {
  code: ErrorCode;
  /** The legacy Ticket API number; absent when there is none. */
  legacyCode?: number;
  message: string;
}

/**
 * Builds the wire form of an error: the legacy number comes from the table,
 * never from the sender, and the message is bounded.
 */
export function errorBody(code: ErrorCode, message?: string): ErrorBody {
  const legacy = ERROR_CODES[code];
  let msg = typeof message === "string" && message !== "" ? message : (DEFAULT_MESSAGES[code] ?? code.toLowerCase().replaceAll("_", " "));
  if (msg.length > LIMITS.maxMessageLength) msg = msg.slice(0, LIMITS.maxMessageLength - 1) + "…";
  return legacy !== 0 ? { code, legacyCode: legacy, message: msg } : { code, message: msg };
}

/**
 * Normalises an error received from the host or another part: an unknown or
 * missing code becomes INTERNAL so nothing unexpected reaches a page.
 */
export function normaliseError(e: unknown): ErrorBody {
  if (typeof e === "object" && e !== null) {
    const { code, message } = e as { code?: unknown; message?: unknown };
    if (isErrorCode(code)) return errorBody(code, typeof message === "string" ? message : undefined);
  }
  return errorBody("INTERNAL");
}

/** The login states (docs/protocol.md §5), in the order of host/protocol. */
export const STATES = Object.freeze([
  "noCard",
  "cardPresent",
  "awaitingPin",
  "verifying",
  "authenticating",
  "awaitingRole",
  "loggedIn",
  "loggingOut",
  "locked",
  "failed",
] as const);

/** A login state name. */
export type State = (typeof STATES)[number];

/** Reports whether s is a known state name. */
export function isState(s: unknown): s is State {
  return typeof s === "string" && (STATES as readonly string[]).includes(s);
}

/** Page request types (docs/protocol.md §2.1). */
export const PAGE_REQUEST_TYPES = Object.freeze([
  "getTicket",
  "getTicketNoAuth",
  "getNewTicket",
  "destroyTicket",
  "status",
] as const);

/** A page request type. */
export type PageRequestType = (typeof PAGE_REQUEST_TYPES)[number];

/** Reports whether s is a page request type. */
export function isPageRequestType(s: unknown): s is PageRequestType {
  return typeof s === "string" && (PAGE_REQUEST_TYPES as readonly string[]).includes(s);
}

/** Page events (docs/protocol.md §2.3). */
export const PAGE_EVENTS = Object.freeze([
  "ticketChanged",
  "ticketDestroyed",
  "cardInserted",
  "cardRemoved",
] as const);

/** A page event name. */
export type PageEvent = (typeof PAGE_EVENTS)[number];

/** The logged-in person. */
export interface User {
  uid: string;
  name?: string;
}

/** One of a user's roles. */
export interface Role {
  id: string;
  orgCode?: string;
  name?: string;
  orgName?: string;
  jobRole?: string;
}

/** The card in the reader. */
export interface Card {
  present: boolean;
  label?: string;
  serial?: string;
  uid?: string;
}

/** The host's configuration values the extension needs (§3.2). */
export interface HostSettings {
  allowedOrigins: string[];
  allowFrames: boolean;
  promptOnCardInsert: boolean;
  pinTimeoutSeconds: number;
}

/** The body of a pinRequired event. */
/**
 * A desktop application whose Ticket API call needs the login: its
 * executable's file name and process id, from the operating system.
 */
export interface App {
  name: string;
  pid: number;
}

export interface PinPrompt {
  origin?: string;
  /** The desktop application that asked, instead of a page's origin. */
  app?: App;
  uid?: string;
  attemptsLeft: number;
  finalTry: boolean;
  pinPad: boolean;
  timeoutSeconds: number;
  lastError?: string;
}

/** The body of a roleRequired event. */
export interface RolePrompt {
  origin?: string;
  app?: App;
  user: User;
  roles: Role[];
  timeoutSeconds: number;
}

/** The successful fields of a page reply (docs/protocol.md §2.2). */
export interface PageResultFields {
  ticket?: string;
  user?: User;
  role?: Role;
  expiresAt?: string;
  state?: State;
}

/** A reply body before the content script adds `oia` and `id`. */
export type PageReplyBody =
  | ({ ok: true } & PageResultFields)
  | { ok: false; error: ErrorBody };

/** A full page reply, as posted to the page. */
export type PageReply = { oia: 1; id: string; type: "result" } & PageReplyBody;

/** A page event message, as posted to the page. */
export interface PageEventMessage {
  oia: 1;
  type: "event";
  event: PageEvent;
}
