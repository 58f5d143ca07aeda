// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

/**
 * The one dispatcher for runtime messages. Page requests (from the content
 * script) are checked against the allow-list with the origin the browser
 * reports for the sender, never anything from the page's data; requests from
 * the extension's own pages are accepted only from the extension's origin.
 *
 * @module
 */

import type { MessageSender } from "../shared/browser.js";
import { errorBody, isPageRequestType, type PageReplyBody } from "../shared/protocol.js";
import login from "./actions/login.js";
import pageRequest from "./actions/page.js";
import { cancel, selectRole, submitPin } from "./actions/prompt.js";
import { allows, type Context } from "./context.js";

/** Hooks the dispatcher needs besides the context. */
export interface DispatchHooks {
  /** Reconnects to the host now (the toolbar's retry). */
  retry(): void;
}

/**
 * The origin of the document that sent a message, as the browser reports it:
 * sender.origin. An opaque origin ("null": a sandboxed iframe, a page served
 * with `Content-Security-Policy: sandbox`, a popup that inherited sandbox
 * flags) is refused, never replaced by the origin of its URL, which would be
 * the allowed site that served it. sender.url is used only when the browser
 * gives no sender.origin at all (older Firefox). Undefined when refused.
 */
export function senderOrigin(sender: MessageSender): string | undefined {
  if (sender.origin !== undefined) {
    return typeof sender.origin === "string" && sender.origin !== "" && sender.origin !== "null" ? sender.origin : undefined;
  }
  if (typeof sender.url === "string") {
    try {
      const o = new URL(sender.url).origin;
      return o === "null" ? undefined : o;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

const notAllowed = (): PageReplyBody => ({ ok: false, error: errorBody("ORIGIN_NOT_ALLOWED") });

/** Handles a page request relayed by the content script. */
export async function dispatchPage(ctx: Context, type: unknown, sender: MessageSender): Promise<PageReplyBody> {
  if (!isPageRequestType(type)) return { ok: false, error: errorBody("BAD_REQUEST", "unknown request type") };
  const origin = senderOrigin(sender);
  if (origin === undefined || sender.tab === undefined) return notAllowed();
  const s = await ctx.settings();
  const allowed = s.allow.match(origin);
  if (allowed === undefined) return notAllowed();
  // On the policy's list but not on the host's: the host would refuse it.
  if (!allows(s, origin)) return notAllowed();
  if (sender.frameId !== 0) {
    // A frame may ask only when policy allows frames, and only inside an
    // allow-listed top document.
    if (!s.allowFrames || !allows(s, sender.tab.url)) return notAllowed();
  }
  // The host is told a request came from a frame: its locked allowFrames
  // wins over the policy's (docs/protocol.md §3.3).
  const frame = sender.frameId !== 0;
  return pageRequest(ctx, type, allowed.origin, frame);
}

/** Reports whether sender is one of this extension's own pages. */
export function isOwnPage(ctx: Context, sender: MessageSender): boolean {
  if (sender.id !== ctx.api.runtime.id || typeof sender.url !== "string") return false;
  try {
    return new URL(sender.url).origin === ctx.extensionOrigin;
  } catch {
    return false;
  }
}

/**
 * Handles any runtime message and returns the reply. Unknown messages and
 * senders get BAD_REQUEST or ORIGIN_NOT_ALLOWED; nothing throws.
 */
export async function dispatch(ctx: Context, hooks: DispatchHooks, msg: unknown, sender: MessageSender): Promise<unknown> {
  if (typeof msg !== "object" || msg === null) return { ok: false, error: errorBody("BAD_REQUEST") };
  const m = msg as Record<string, unknown>;
  if (sender.id !== ctx.api.runtime.id) return notAllowed();
  if (m.kind === "page") {
    if (isOwnPage(ctx, sender)) return notAllowed();
    return dispatchPage(ctx, m.type, sender);
  }
  if (!isOwnPage(ctx, sender)) return notAllowed();
  switch (m.kind) {
    case "pin":
      return submitPin(ctx, m.pin);
    case "selectRole":
      return selectRole(ctx, m.roleId);
    case "cancel":
      return cancel(ctx);
    case "login":
      return login(ctx);
    case "logout":
      return pageRequest(ctx, "destroyTicket", ctx.extensionOrigin, false); // the toolbar's: its own origin
    case "retry":
      hooks.retry();
      return { ok: true };
    case "overview": {
      const s = await ctx.settings(false);
      const { allow: _allow, ...settings } = s;
      return { ok: true, settings, store: await ctx.store.all(), policy: await ctx.policy() };
    }
    default:
      return { ok: false, error: errorBody("BAD_REQUEST", "unknown message") };
  }
}
