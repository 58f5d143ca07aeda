// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

/**
 * oia.js: the page library for Open Identity Agent. It speaks the page
 * contract of docs/protocol.md §2 over window.postMessage and has no
 * dependencies. See docs/page-api.md.
 *
 * @example
 * import { getTicket, on, OIAError } from "./oia.js";
 * try {
 *   const { ticket, user, role } = await getTicket();
 * } catch (e) {
 *   if (e instanceof OIAError && e.code === "USER_ABORT") { ... }
 * }
 * const off = on("ticketDestroyed", () => location.reload());
 *
 * @module
 */

/** The error codes a page may see (docs/protocol.md §4). */
export type OIAErrorCode =
  | "INTERNAL"
  | "BAD_REQUEST"
  | "BUSY"
  | "SERVER_COMM_FAILED"
  | "TICKET_NOT_AVAILABLE"
  | "NOT_IMPLEMENTED"
  | "CONFIG_INVALID"
  | "HOST_NOT_FOUND"
  | "HOST_VERSION_MISMATCH"
  | "CARD_NOT_PRESENT"
  | "CARD_REMOVED"
  | "PIN_LOCKED"
  | "NO_CERT_FOUND"
  | "NO_KEY_FOUND"
  | "CARD_AMBIGUOUS"
  | "MODULE_LOAD_FAILED"
  | "CARD_ERROR"
  | "PIN_INCORRECT"
  | "PIN_EXPIRED"
  | "PIN_INVALID"
  | "USER_ABORT"
  | "AUTHENTICATION_FAILED"
  | "ROLE_SELECTION_FAILED"
  | "TIMEOUT"
  | "SESSION_EXPIRED"
  | "ORIGIN_NOT_ALLOWED"
  | "EXTENSION_NOT_ALLOWED"
  | "FRAME_TOO_LARGE"
  | "INVALID_STATE"
  | "NO_EXTENSION"
  | "RATE_LIMITED"
  | "HOST_EXITED"
  | "CONFIG_UNSAFE"
  | "AGENT_UNAVAILABLE"
  | "AGENT_VERSION_MISMATCH"
  | "TICKET_API_DISABLED"
  | "PROMPT_UNAVAILABLE";

/** An error from Open Identity Agent, with a stable code. */
export class OIAError extends Error {
  /** The stable code (docs/protocol.md §4). */
  readonly code: OIAErrorCode;
  /** The legacy Ticket API number (TCK_API_ERR_*), when there is one. */
  readonly legacyCode: number | undefined;

  /** Creates an error; message defaults to the code. */
  constructor(code: OIAErrorCode, message?: string, legacyCode?: number) {
    super(message ?? code);
    this.name = "OIAError";
    this.code = code;
    this.legacyCode = legacyCode;
  }
}

/** The logged-in person. */
export interface OIAUser {
  uid: string;
  name?: string;
}

/** The chosen role. */
export interface OIARole {
  id: string;
  orgCode?: string;
  name?: string;
  orgName?: string;
  jobRole?: string;
}

/** The login states (docs/protocol.md §5). */
export type OIAState =
  | "noCard"
  | "cardPresent"
  | "awaitingPin"
  | "verifying"
  | "authenticating"
  | "awaitingRole"
  | "loggedIn"
  | "loggingOut"
  | "locked"
  | "failed";

/** The result of getTicket, getTicketNoAuth and getNewTicket. */
export interface OIATicket {
  ticket: string;
  user?: OIAUser;
  role?: OIARole;
  /** RFC 3339 time at which the broker session ends. */
  expiresAt?: string;
  state: OIAState;
}

/** The result of status: never the ticket. */
export interface OIAStatus {
  state: OIAState;
  user?: OIAUser;
  role?: OIARole;
  expiresAt?: string;
}

/** The events a page can follow (docs/protocol.md §2.3). */
export type OIAEvent = "ticketChanged" | "ticketDestroyed" | "cardInserted" | "cardRemoved";

/** Options for one call. */
export interface CallOptions {
  /**
   * Milliseconds to wait for the reply. By default status waits 30 s,
   * getTicketNoAuth and destroyTicket 60 s, and the calls that may prompt
   * for the passcode 15 minutes (the host times out the prompt itself).
   */
  timeoutMs?: number;
}

/** The window the library talks through; the page's own window by default. */
export interface OIAWindow {
  readonly location: { readonly origin: string };
  postMessage(message: unknown, targetOrigin: string): void;
  addEventListener(type: "message", listener: (ev: MessageEvent) => void): void;
  removeEventListener(type: "message", listener: (ev: MessageEvent) => void): void;
}

/** The default isAvailable timeout (docs/protocol.md §2.4). */
export const DETECT_TIMEOUT_MS = 1000;

const EVENTS: readonly string[] = ["ticketChanged", "ticketDestroyed", "cardInserted", "cardRemoved"];

type Reply = Record<string, unknown>;

interface Waiter {
  resolve(r: Reply): void;
  reject(e: OIAError): void;
  timer: ReturnType<typeof setTimeout>;
}

/**
 * A client bound to one window. Most pages use the module functions, which
 * share one client on the page's window; tests and frames can make their own.
 */
export class OIAClient {
  private readonly win: OIAWindow;
  private readonly waiting = new Map<string, Waiter>();
  private readonly handlers = new Map<string, Set<() => void>>();
  private listening = false;
  private readonly onMessage = (ev: MessageEvent): void => {
    this.receive(ev);
  };

  /** Creates a client on win. */
  constructor(win: OIAWindow) {
    this.win = win;
  }

  private listen(): void {
    if (this.listening) return;
    this.listening = true;
    this.win.addEventListener("message", this.onMessage);
  }

  private unlistenIfIdle(): void {
    if (this.listening && this.waiting.size === 0 && this.handlers.size === 0) {
      this.listening = false;
      this.win.removeEventListener("message", this.onMessage);
    }
  }

  private receive(ev: MessageEvent): void {
    // Only messages the content script posted to this window, in this
    // window's origin, and only replies to our own ids or events.
    if (ev.source !== (this.win as unknown) || ev.origin !== this.win.location.origin) return;
    const d: unknown = ev.data;
    if (typeof d !== "object" || d === null) return;
    const m = d as Reply;
    if (m.oia !== 1) return;
    if (m.type === "result" && typeof m.id === "string") {
      const w = this.waiting.get(m.id);
      if (w === undefined) return;
      this.waiting.delete(m.id);
      clearTimeout(w.timer);
      this.unlistenIfIdle();
      if (m.ok === true) {
        w.resolve(m);
      } else {
        const e = (typeof m.error === "object" && m.error !== null ? m.error : {}) as Reply;
        w.reject(
          new OIAError(
            // A newer extension may send a code this library does not list.
            (typeof e.code === "string" ? e.code : "INTERNAL") as OIAErrorCode,
            typeof e.message === "string" ? e.message : undefined,
            typeof e.legacyCode === "number" ? e.legacyCode : undefined,
          ),
        );
      }
      return;
    }
    if (m.type === "event" && typeof m.event === "string" && EVENTS.includes(m.event)) {
      for (const h of [...(this.handlers.get(m.event) ?? [])]) {
        try {
          h();
        } catch (err) {
          setTimeout(() => {
            throw err;
          });
        }
      }
    }
  }

  /**
   * Sends one request and resolves with the reply's fields. Rejects with an
   * OIAError: the extension's error, or NO_EXTENSION when nothing answers
   * within the timeout.
   */
  request(type: string, timeoutMs: number): Promise<Reply> {
    this.listen();
    const id = newId();
    return new Promise<Reply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        this.unlistenIfIdle();
        reject(new OIAError("NO_EXTENSION", "the open identity agent extension did not answer: it is not installed, or this site is not allowed"));
      }, timeoutMs);
      this.waiting.set(id, { resolve, reject, timer });
      this.win.postMessage({ oia: 1, id, type }, this.win.location.origin);
    });
  }

  /** Logs in if needed (the user is asked in the extension's window), then returns the ticket. */
  async getTicket(opts: CallOptions = {}): Promise<OIATicket> {
    return toTicket(await this.request("getTicket", opts.timeoutMs ?? 15 * 60_000));
  }

  /** Returns the ticket if a session exists; TICKET_NOT_AVAILABLE otherwise. Never prompts. */
  async getTicketNoAuth(opts: CallOptions = {}): Promise<OIATicket> {
    return toTicket(await this.request("getTicketNoAuth", opts.timeoutMs ?? 60_000));
  }

  /** Forces a new login, then returns the new ticket. */
  async getNewTicket(opts: CallOptions = {}): Promise<OIATicket> {
    return toTicket(await this.request("getNewTicket", opts.timeoutMs ?? 15 * 60_000));
  }

  /** Logs out at the broker and forgets the ticket. */
  async destroyTicket(opts: CallOptions = {}): Promise<void> {
    await this.request("destroyTicket", opts.timeoutMs ?? 60_000);
  }

  /** Returns the card and session state, without the ticket. */
  async status(opts: CallOptions = {}): Promise<OIAStatus> {
    const r = await this.request("status", opts.timeoutMs ?? 30_000);
    const out: OIAStatus = { state: r.state as OIAState };
    if (typeof r.user === "object" && r.user !== null) out.user = r.user as OIAUser;
    if (typeof r.role === "object" && r.role !== null) out.role = r.role as OIARole;
    if (typeof r.expiresAt === "string") out.expiresAt = r.expiresAt;
    return out;
  }

  /**
   * Reports whether the extension answers: it sends status and resolves
   * false when no reply comes within timeoutMs (1 s by default). An answer
   * that is an error (the host is missing, say) still means true.
   */
  async isAvailable(timeoutMs: number = DETECT_TIMEOUT_MS): Promise<boolean> {
    try {
      await this.request("status", timeoutMs);
      return true;
    } catch (e) {
      return !(e instanceof OIAError && e.code === "NO_EXTENSION");
    }
  }

  /** Calls handler on each event; returns a function that unsubscribes it. */
  on(event: OIAEvent, handler: () => void): () => void {
    if (!EVENTS.includes(event)) throw new OIAError("BAD_REQUEST", `unknown event ${JSON.stringify(event)}`);
    let set = this.handlers.get(event);
    if (set === undefined) {
      set = new Set();
      this.handlers.set(event, set);
    }
    set.add(handler);
    this.listen();
    return () => {
      const s = this.handlers.get(event);
      if (s === undefined) return;
      s.delete(handler);
      if (s.size === 0) this.handlers.delete(event);
      this.unlistenIfIdle();
    };
  }
}

function newId(): string {
  const c = (globalThis as { crypto?: { randomUUID?: () => string } }).crypto;
  if (c?.randomUUID !== undefined) return c.randomUUID();
  return `oia-${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}

function toTicket(r: Reply): OIATicket {
  if (typeof r.ticket !== "string") throw new OIAError("INTERNAL", "the reply holds no ticket");
  const out: OIATicket = { ticket: r.ticket, state: (r.state as OIAState | undefined) ?? "loggedIn" };
  if (typeof r.user === "object" && r.user !== null) out.user = r.user as OIAUser;
  if (typeof r.role === "object" && r.role !== null) out.role = r.role as OIARole;
  if (typeof r.expiresAt === "string") out.expiresAt = r.expiresAt;
  return out;
}

let shared: OIAClient | undefined;
function client(): OIAClient {
  shared ??= new OIAClient(window);
  return shared;
}

/** Logs in if needed, then returns the ticket. See {@link OIAClient.getTicket}. */
export function getTicket(opts?: CallOptions): Promise<OIATicket> {
  return client().getTicket(opts);
}

/** Returns the ticket only if a session exists. See {@link OIAClient.getTicketNoAuth}. */
export function getTicketNoAuth(opts?: CallOptions): Promise<OIATicket> {
  return client().getTicketNoAuth(opts);
}

/** Forces a new login. See {@link OIAClient.getNewTicket}. */
export function getNewTicket(opts?: CallOptions): Promise<OIATicket> {
  return client().getNewTicket(opts);
}

/** Logs out. See {@link OIAClient.destroyTicket}. */
export function destroyTicket(opts?: CallOptions): Promise<void> {
  return client().destroyTicket(opts);
}

/** Returns the state without the ticket. See {@link OIAClient.status}. */
export function status(opts?: CallOptions): Promise<OIAStatus> {
  return client().status(opts);
}

/** Reports whether the extension answers. See {@link OIAClient.isAvailable}. */
export function isAvailable(timeoutMs?: number): Promise<boolean> {
  return client().isAvailable(timeoutMs);
}

/** Follows an event; returns the unsubscribe function. See {@link OIAClient.on}. */
export function on(event: OIAEvent, handler: () => void): () => void {
  return client().on(event, handler);
}
