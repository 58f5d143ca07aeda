// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

/**
 * NativeHost owns the one connectNative port to oia-host (docs/protocol.md
 * §3). It is the only code that touches runtime.connectNative.
 *
 * It connects, waits for the host's first `hello` frame, checks the major
 * protocol version, sends its own `hello` request, then serves requests,
 * correlating results by id, each under a timeout. When the host exits it
 * fails the requests in flight (HOST_EXITED, or HOST_NOT_FOUND when the
 * browser could not start it at all) and reconnects with bounded exponential
 * backoff, so that card events keep flowing without anyone asking.
 *
 * @module
 */

import type { Port } from "../../shared/browser.js";
import {
  errorBody,
  NATIVE_HOST_NAME,
  NATIVE_PROTOCOL,
  normaliseError,
  type ErrorBody,
  type ErrorCode,
  type HostSettings,
} from "../../shared/protocol.js";

/** An error with a protocol code, as results and the service raise them. */
export class HostError extends Error {
  /** The wire form: code, legacy number, message. */
  readonly body: ErrorBody;

  /** Wraps a wire error. */
  constructor(body: ErrorBody) {
    super(body.message);
    this.name = "HostError";
    this.body = body;
  }

  /** The error's code. */
  get code(): ErrorCode {
    return this.body.code;
  }

  /** Returns a HostError with code and the code's default message. */
  static of(code: ErrorCode, message?: string): HostError {
    return new HostError(errorBody(code, message));
  }
}

/** Where the connection stands. */
export type ConnectionState =
  | "idle" // not started
  | "connecting" // port open, waiting for the host's hello and our hello's result
  | "ready" // serving requests
  | "waiting" // the host went away; a reconnect is scheduled
  | "stopped"; // stop() was called

/** What the host said about itself in its hello frame (§3.2). */
export interface HostHello {
  protocol: string;
  version: string;
  state: string;
  settings: HostSettings | undefined;
}

/** Why the connection is not ready, for the toolbar and pages. */
export interface ConnectionProblem {
  code: Extract<
    ErrorCode,
    "HOST_NOT_FOUND" | "HOST_VERSION_MISMATCH" | "HOST_EXITED" | "AGENT_UNAVAILABLE" | "AGENT_VERSION_MISMATCH"
  >;
  /** The browser's own text, for the toolbar popup and the console only. */
  detail: string;
}

/** A frame from the host, decoded: a JSON object. */
export type HostFrame = Record<string, unknown>;

/** Timer functions, injectable for tests. */
export interface Timers {
  setTimeout(f: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** The settings the extension's hello request may carry (policy values). */
export interface HelloSettings {
  promptOnCardInsert?: boolean;
  pinTimeoutSeconds?: number;
}

/** What NativeHost needs from its surroundings. */
export interface NativeHostOptions {
  /** Opens the native port: runtime.connectNative. */
  connect(name: string): Port;
  /** The browser's last error (Chrome reports port errors there). */
  lastError(): string | undefined;
  /** This extension's version, sent in the hello request. */
  extensionVersion: string;
  /** The policy settings to send in the hello request, if any. */
  helloSettings?(): HelloSettings | undefined;
  /** Called for every event frame from the host. */
  onEvent?(frame: HostFrame): void;
  /** Called when a connection becomes ready. */
  onReady?(hello: HostHello): void;
  /**
   * Called when a connection ends or fails. wasReady says whether the host
   * had been serving (so a session may have existed).
   */
  onDown?(problem: ConnectionProblem, wasReady: boolean): void;
  /** Timers; the global ones by default. */
  timers?: Timers;
  /** Backoff bounds; 500 ms doubling to 30 s by default. */
  backoffInitialMs?: number;
  backoffMaxMs?: number;
  /** How long to wait for the host's hello; 5 s by default. */
  handshakeTimeoutMs?: number;
  /** Logs a line (never a secret); console.warn by default. */
  log?(message: string): void;
}

interface Pending {
  resolve(frame: HostFrame): void;
  reject(e: HostError): void;
  timer: unknown;
}

interface Queued {
  frame: HostFrame;
  pending: Pending;
}

/** The bound on one outgoing frame (the host's inbound bound, §3.1). */
export const MAX_OUTBOUND_BYTES = 64 * 1024;

const NOT_FOUND = [
  /specified native messaging host not found/i,
  /access to the specified native messaging host is forbidden/i,
  /no such native application/i,
];

/** Reports whether a browser's disconnect text means "the host is not installed". */
export function isNotFoundMessage(message: string): boolean {
  return NOT_FOUND.some((re) => re.test(message));
}

function major(version: unknown): string | undefined {
  if (typeof version !== "string") return undefined;
  const m = /^(\d+)\.\d+$/.exec(version);
  return m?.[1];
}

function parseSettings(v: unknown): HostSettings | undefined {
  if (typeof v !== "object" || v === null) return undefined;
  const s = v as Record<string, unknown>;
  const origins = Array.isArray(s.allowedOrigins)
    ? s.allowedOrigins.filter((o): o is string => typeof o === "string").slice(0, 256)
    : [];
  return {
    allowedOrigins: origins,
    allowFrames: s.allowFrames === true,
    promptOnCardInsert: s.promptOnCardInsert === true,
    pinTimeoutSeconds:
      typeof s.pinTimeoutSeconds === "number" && Number.isInteger(s.pinTimeoutSeconds) && s.pinTimeoutSeconds > 0
        ? s.pinTimeoutSeconds
        : 120,
  };
}

/** The connection to oia-host. */
export class NativeHost {
  private readonly opts: NativeHostOptions;
  private readonly timers: Timers;
  private readonly backoffInitial: number;
  private readonly backoffMax: number;
  private readonly handshakeTimeout: number;
  private readonly idPrefix: string;

  private port: Port | undefined;
  private connState: ConnectionState = "idle";
  private gotHello = false;
  private helloInfo: HostHello | undefined;
  private handshakeTimer: unknown;
  private reconnectTimer: unknown;
  private backoff: number;
  private nextId = 0;
  private readonly pending = new Map<string, Pending>();
  private queue: Queued[] = [];
  private problemValue: ConnectionProblem | undefined;
  /** Why the relay said it cannot serve (its AGENT_* error event), told as the port's problem when it closes. */
  private agentProblem: ConnectionProblem | undefined;
  private waiters: (() => void)[] = [];

  /** Creates the service; call start() to connect. */
  constructor(opts: NativeHostOptions) {
    this.opts = opts;
    this.timers = opts.timers ?? {
      setTimeout: (f, ms) => setTimeout(f, ms),
      clearTimeout: (h) => { clearTimeout(h as ReturnType<typeof setTimeout>); },
    };
    this.backoffInitial = opts.backoffInitialMs ?? 500;
    this.backoffMax = opts.backoffMaxMs ?? 30_000;
    this.handshakeTimeout = opts.handshakeTimeoutMs ?? 5_000;
    this.backoff = this.backoffInitial;
    this.idPrefix = "x" + Math.floor(Math.random() * 0xffffff).toString(36) + "-";
  }

  /** Where the connection stands. */
  get state(): ConnectionState {
    return this.connState;
  }

  /** The host's hello while connected. */
  get hello(): HostHello | undefined {
    return this.helloInfo;
  }

  /** Why the host is unavailable, while it is. */
  get problem(): ConnectionProblem | undefined {
    return this.problemValue;
  }

  /** The delay before the next reconnect attempt. */
  get nextBackoffMs(): number {
    return this.backoff;
  }

  /**
   * Resolves when the connection is ready or has failed (so the caller can
   * read state and problem), or after ms, whichever comes first. It starts
   * the connection if nobody has.
   */
  settled(ms: number): Promise<void> {
    if (this.connState === "ready" || this.connState === "waiting" || this.connState === "stopped") return Promise.resolve();
    this.start();
    return new Promise((resolve) => {
      let done = false;
      const finish = (): void => {
        if (done) return;
        done = true;
        this.timers.clearTimeout(timer);
        resolve();
      };
      const timer = this.timers.setTimeout(finish, ms);
      this.waiters.push(finish);
    });
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Connects, unless connected or connecting already. */
  start(): void {
    if (this.connState === "connecting" || this.connState === "ready") return;
    if (this.reconnectTimer !== undefined) {
      this.timers.clearTimeout(this.reconnectTimer);
      this.reconnectTimer = undefined;
    }
    this.connect();
  }

  /** Disconnects for good and fails everything waiting. */
  stop(): void {
    this.connState = "stopped";
    if (this.reconnectTimer !== undefined) this.timers.clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    this.closePort();
    this.failAll(HostError.of("HOST_EXITED"));
  }

  /**
   * Sends a request and resolves with the host's successful result frame.
   * It rejects with a HostError: the host's error, TIMEOUT after timeoutMs,
   * HOST_EXITED when the host stops first, HOST_NOT_FOUND or
   * HOST_VERSION_MISMATCH when no usable host is there.
   */
  request(type: string, fields: Record<string, unknown>, timeoutMs: number): Promise<HostFrame> {
    const id = this.idPrefix + String(++this.nextId);
    const frame: HostFrame = { ...fields, id, type };
    let size: number;
    try {
      size = new TextEncoder().encode(JSON.stringify(frame)).length;
    } catch {
      return Promise.reject(HostError.of("BAD_REQUEST"));
    }
    if (size > MAX_OUTBOUND_BYTES) return Promise.reject(HostError.of("BAD_REQUEST", "the request is too large"));
    return new Promise<HostFrame>((resolve, reject) => {
      const pending: Pending = { resolve, reject, timer: undefined };
      pending.timer = this.timers.setTimeout(() => {
        this.pending.delete(id);
        this.queue = this.queue.filter((q) => q.pending !== pending);
        reject(HostError.of("TIMEOUT", "oia-host did not answer in time"));
      }, timeoutMs);
      switch (this.connState) {
        case "ready":
          this.send(id, frame, pending);
          return;
        case "connecting":
          this.queue.push({ frame, pending });
          return;
        case "stopped":
          this.settle(pending, HostError.of("HOST_EXITED"));
          return;
        case "idle":
          this.queue.push({ frame, pending });
          this.start();
          return;
        case "waiting": {
          const p = this.problemValue;
          if (p !== undefined && p.code !== "HOST_EXITED") {
            // A known-missing or mismatched host: answer at once; the
            // scheduled reconnect (or start()) tries again.
            this.settle(pending, HostError.of(p.code));
            return;
          }
          // The host exited: wait for the scheduled reconnect, so that a
          // page polling a crashing host cannot start it in a tight loop.
          this.queue.push({ frame, pending });
          return;
        }
      }
    });
  }

  private settle(p: Pending, e: HostError): void {
    this.timers.clearTimeout(p.timer);
    p.reject(e);
  }

  private send(id: string, frame: HostFrame, pending: Pending): void {
    const port = this.port;
    if (port === undefined) {
      this.settle(pending, HostError.of("HOST_EXITED"));
      return;
    }
    this.pending.set(id, pending);
    try {
      port.postMessage(frame);
    } catch {
      this.pending.delete(id);
      this.settle(pending, HostError.of("HOST_EXITED"));
    }
  }

  private connect(): void {
    this.connState = "connecting";
    this.gotHello = false;
    this.helloInfo = undefined;
    let port: Port;
    try {
      port = this.opts.connect(NATIVE_HOST_NAME);
    } catch (e) {
      this.down(String(e instanceof Error ? e.message : e));
      return;
    }
    this.port = port;
    port.onMessage.addListener((m) => {
      if (this.port === port) this.onMessage(m);
    });
    port.onDisconnect.addListener((p) => {
      if (this.port !== port) return;
      const detail = p.error?.message ?? this.opts.lastError() ?? "";
      this.port = undefined;
      this.down(detail);
    });
    this.handshakeTimer = this.timers.setTimeout(() => {
      if (this.port !== port || this.connState !== "connecting") return;
      this.closePort();
      this.down("oia-host sent no hello in time");
    }, this.handshakeTimeout);
  }

  private closePort(): void {
    const port = this.port;
    this.port = undefined;
    if (this.handshakeTimer !== undefined) this.timers.clearTimeout(this.handshakeTimer);
    this.handshakeTimer = undefined;
    if (port !== undefined) {
      try {
        port.disconnect();
      } catch {
        // already gone
      }
    }
  }

  private onMessage(m: unknown): void {
    if (typeof m !== "object" || m === null || Array.isArray(m)) return;
    const frame = m as HostFrame;
    const agent = agentProblemOf(frame);
    if (agent !== undefined) {
      // The relay cannot reach the agent, or the agent is of another
      // version (docs/protocol.md §6): it closes the port next, and the
      // problem is told then, as the connection's (onDown), not as an event.
      // The first one is the cause: an agent that refused the relay
      // (AGENT_VERSION_MISMATCH) is followed by the relay's own
      // AGENT_UNAVAILABLE as the connection ends.
      this.agentProblem ??= agent;
      this.log(`oia-host: ${agent.code}: ${agent.detail}`);
      return;
    }
    if (!this.gotHello) {
      if (frame.type !== "hello") {
        this.log("oia-host sent a frame before its hello; ignored");
        return;
      }
      this.gotHello = true;
      if (major(frame.protocol) !== major(NATIVE_PROTOCOL)) {
        this.mismatch(frame.protocol);
        return;
      }
      this.helloInfo = {
        protocol: String(frame.protocol),
        version: typeof frame.version === "string" ? frame.version.slice(0, 64) : "",
        state: typeof frame.state === "string" ? frame.state : "",
        settings: parseSettings(frame.settings),
      };
      this.sendHello();
      return;
    }
    if (typeof frame.id === "string" && frame.type === "result") {
      const p = this.pending.get(frame.id);
      if (p === undefined) return; // answered after its timeout
      this.pending.delete(frame.id);
      this.timers.clearTimeout(p.timer);
      if (frame.ok === true) p.resolve(frame);
      else p.reject(new HostError(normaliseError(frame.error)));
      return;
    }
    if (frame.type === "event" && typeof frame.event === "string") {
      try {
        this.opts.onEvent?.(frame);
      } catch (e) {
        this.log(`event handler failed: ${String(e)}`);
      }
    }
  }

  private sendHello(): void {
    const fields: Record<string, unknown> = { protocol: NATIVE_PROTOCOL, extension: this.opts.extensionVersion };
    const settings = this.opts.helloSettings?.();
    if (settings !== undefined && Object.keys(settings).length > 0) fields.settings = settings;
    const id = this.idPrefix + String(++this.nextId);
    const pending: Pending = {
      resolve: (r) => {
        if (major(r.protocol) !== major(NATIVE_PROTOCOL)) {
          this.mismatch(r.protocol);
          return;
        }
        if (r.settings !== undefined && this.helloInfo !== undefined) {
          this.helloInfo.settings = parseSettings(r.settings) ?? this.helloInfo.settings;
        }
        this.ready();
      },
      reject: (e) => {
        if (e.code === "HOST_VERSION_MISMATCH") {
          this.mismatch(undefined);
          return;
        }
        if (e.code === "HOST_EXITED" || e.code === "HOST_NOT_FOUND") return;
        // An older host that refuses a field still serves: go on.
        this.log(`oia-host refused the hello request: ${e.code}`);
        this.ready();
      },
      timer: undefined,
    };
    pending.timer = this.timers.setTimeout(() => {
      this.pending.delete(id);
      if (this.connState !== "connecting") return;
      this.closePort();
      this.down("oia-host did not answer the hello request");
    }, this.handshakeTimeout);
    this.send(id, { ...fields, id, type: "hello" }, pending);
  }

  private ready(): void {
    if (this.connState !== "connecting" || this.helloInfo === undefined) return;
    if (this.handshakeTimer !== undefined) this.timers.clearTimeout(this.handshakeTimer);
    this.handshakeTimer = undefined;
    this.connState = "ready";
    this.problemValue = undefined;
    this.agentProblem = undefined;
    this.backoff = this.backoffInitial;
    const queue = this.queue;
    this.queue = [];
    try {
      this.opts.onReady?.(this.helloInfo);
    } catch (e) {
      this.log(`ready handler failed: ${String(e)}`);
    }
    for (const q of queue) this.send(String(q.frame.id), q.frame, q.pending);
    this.wake();
  }

  private mismatch(protocol: unknown): void {
    const detail = `oia-host speaks protocol ${typeof protocol === "string" ? protocol.slice(0, 16) : "?"}, this extension ${NATIVE_PROTOCOL}`;
    this.closePort();
    this.fail({ code: "HOST_VERSION_MISMATCH", detail }, false);
  }

  private down(detail: string): void {
    const wasReady = this.connState === "ready";
    if (this.connState === "stopped") return;
    const agent = this.agentProblem;
    this.agentProblem = undefined;
    let code: ConnectionProblem["code"];
    if (agent !== undefined) code = agent.code;
    else if (isNotFoundMessage(detail)) code = "HOST_NOT_FOUND";
    else if (!wasReady && !this.gotHello) code = "HOST_NOT_FOUND";
    else code = "HOST_EXITED";
    this.closePort();
    this.fail({ code, detail: (agent?.detail ?? detail).slice(0, 300) }, wasReady);
  }

  private fail(problem: ConnectionProblem, wasReady: boolean): void {
    this.connState = "waiting";
    this.problemValue = problem;
    this.helloInfo = undefined;
    this.failAll(HostError.of(problem.code));
    try {
      this.opts.onDown?.(problem, wasReady);
    } catch (e) {
      this.log(`down handler failed: ${String(e)}`);
    }
    const delay = this.backoff;
    this.backoff = Math.min(this.backoff * 2, this.backoffMax);
    this.reconnectTimer = this.timers.setTimeout(() => {
      this.reconnectTimer = undefined;
      if (this.connState === "waiting") this.connect();
    }, delay);
    this.wake();
  }

  private failAll(e: HostError): void {
    const pending = [...this.pending.values()];
    this.pending.clear();
    const queue = this.queue;
    this.queue = [];
    for (const p of pending) this.settle(p, e);
    for (const q of queue) this.settle(q.pending, e);
  }

  private log(message: string): void {
    (this.opts.log ?? ((m: string) => { console.warn(`oia: ${m}`); }))(message);
  }
}

/**
 * The connection problem an error event from the relay names, if it is one
 * of the agent's: AGENT_UNAVAILABLE (it cannot start or reach the agent) or
 * AGENT_VERSION_MISMATCH (the agent is of another major version).
 */
function agentProblemOf(frame: HostFrame): ConnectionProblem | undefined {
  if (frame.type !== "event" || frame.event !== "error") return undefined;
  const e = frame.error;
  if (typeof e !== "object" || e === null) return undefined;
  const { code, message } = e as Record<string, unknown>;
  if (code !== "AGENT_UNAVAILABLE" && code !== "AGENT_VERSION_MISMATCH") return undefined;
  return { code, detail: typeof message === "string" ? message.slice(0, 300) : "" };
}
