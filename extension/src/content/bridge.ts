// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

/**
 * The page bridge: the logic of the content script, with the window and the
 * runtime injected so that unit tests can drive it with fakes.
 *
 * @module
 */

import { errorBody, PAGE_EVENTS, PAGE_PROTOCOL, type PageEvent, type PageReply, type PageReplyBody } from "../shared/protocol.js";
import { TokenBucket } from "../shared/ratelimit.js";
import { validatePageMessage } from "./validate.js";

/** The per-page rate: requests per second and burst. */
export const RATE = Object.freeze({ perSecond: 20, burst: 40 });

/** The parts of `window` the bridge uses. */
export interface BridgeWindow {
  /** self.origin: "null" in a sandboxed document, whatever its URL. */
  readonly origin: string;
  readonly location: { readonly origin: string };
  postMessage(message: unknown, targetOrigin: string): void;
  addEventListener(type: "message", listener: (ev: { source: unknown; data: unknown }) => void): void;
}

/** The parts of the runtime the bridge uses. */
export interface BridgeRuntime {
  readonly id: string;
  sendMessage(message: unknown): Promise<unknown>;
  readonly onMessage: {
    addListener(f: (message: unknown, sender: { id?: string }) => void): void;
  };
}

function isReplyBody(v: unknown): v is PageReplyBody {
  if (typeof v !== "object" || v === null) return false;
  const r = v as Record<string, unknown>;
  return r.ok === true || (r.ok === false && typeof r.error === "object" && r.error !== null);
}

/**
 * Starts the bridge on win: page requests go to the background, replies and
 * events come back to the page, posted to the page's exact origin.
 */
export function startBridge(win: BridgeWindow, runtime: BridgeRuntime, now?: () => number): void {
  // self.origin is the document's real origin: "null" when it is sandboxed
  // (an iframe with sandbox, a CSP: sandbox response), though location
  // still shows the allowed site that served it. Opaque origins get nothing.
  const origin = win.location.origin;
  if (win.origin !== origin || origin === "null" || origin === "") return;
  const bucket = new TokenBucket(RATE.perSecond, RATE.burst, now);
  const post = (m: PageReply | { oia: 1; type: "event"; event: PageEvent }): void => {
    win.postMessage(m, origin);
  };
  const reply = (id: string, body: PageReplyBody): void => {
    // Rebuild the reply field by field: nothing else the background might
    // carry reaches the page.
    const base = { oia: PAGE_PROTOCOL, id, type: "result" as const };
    if (body.ok) {
      const { ticket, user, role, expiresAt, state } = body;
      const r: PageReply & { ok: true } = { ...base, ok: true };
      if (ticket !== undefined) r.ticket = ticket;
      if (user !== undefined) r.user = user;
      if (role !== undefined) r.role = role;
      if (expiresAt !== undefined) r.expiresAt = expiresAt;
      if (state !== undefined) r.state = state;
      post(r);
    } else {
      const { code, legacyCode, message } = body.error;
      post({ ...base, ok: false, error: legacyCode !== undefined ? { code, legacyCode, message } : { code, message } });
    }
  };

  win.addEventListener("message", (ev) => {
    if (ev.source !== win) return;
    const req = validatePageMessage(ev.data);
    if (req === undefined) return;
    if (!bucket.take()) {
      reply(req.id, { ok: false, error: errorBody("RATE_LIMITED") });
      return;
    }
    runtime.sendMessage({ kind: "page", type: req.type }).then(
      (r) => { reply(req.id, isReplyBody(r) ? r : { ok: false, error: errorBody("INTERNAL") }); },
      () => { reply(req.id, { ok: false, error: errorBody("INTERNAL", "the extension was updated or stopped: reload the page") }); },
    );
  });

  runtime.onMessage.addListener((m, sender) => {
    if (sender.id !== runtime.id || typeof m !== "object" || m === null) return;
    const { kind, event, origin: checked } = m as { kind?: unknown; event?: unknown; origin?: unknown };
    if (kind !== "oia.event" || !(PAGE_EVENTS as readonly unknown[]).includes(event)) return;
    // Only for the document whose origin the background checked: not for
    // one this frame navigated to since.
    if (checked !== origin || win.origin !== origin) return;
    post({ oia: PAGE_PROTOCOL, type: "event", event: event as PageEvent });
  });
}
