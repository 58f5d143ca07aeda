// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

/**
 * The page's requests (docs/protocol.md §2.1): each is sent to the host with
 * the page's origin (from the browser's `sender`, checked by the
 * dispatcher) and, from a frame, `frame: true`; they differ only in how long
 * the host may take and in which fields of its answer reach the page.
 *
 * @module
 */

import type { PageReplyBody, PageRequestType } from "../../shared/protocol.js";
import { CONFIG } from "../config.js";
import type { Context } from "../context.js";
import type { HostFrame } from "../services/NativeHost.js";
import { failure, statusReply, ticketReply } from "./reply.js";

interface PageRequest {
  /** How long the host may take. */
  timeoutMs: number;
  /** The page's reply, from the host's result: never more than §2.2 names. */
  reply(f: HostFrame): PageReplyBody;
}

const PAGE_REQUESTS: Readonly<Record<PageRequestType, PageRequest>> = Object.freeze({
  // May prompt: the host times its prompts out itself.
  getTicket: { timeoutMs: CONFIG.INTERACTIVE_TIMEOUT_MS, reply: ticketReply },
  getNewTicket: { timeoutMs: CONFIG.INTERACTIVE_TIMEOUT_MS, reply: ticketReply },
  getTicketNoAuth: { timeoutMs: CONFIG.REQUEST_TIMEOUT_MS, reply: ticketReply },
  destroyTicket: { timeoutMs: CONFIG.REQUEST_TIMEOUT_MS, reply: (): PageReplyBody => ({ ok: true }) },
  // The host names the user only to a page on its own allow-list.
  status: { timeoutMs: CONFIG.STATUS_TIMEOUT_MS, reply: statusReply },
});

/** Sends the page's request of type to the host on behalf of origin. */
export default async function pageRequest(ctx: Context, type: PageRequestType, origin: string, frame: boolean): Promise<PageReplyBody> {
  const r = PAGE_REQUESTS[type];
  try {
    return r.reply(await ctx.host.request(type, frame ? { origin, frame } : { origin }, r.timeoutMs));
  } catch (e) {
    return failure(e);
  }
}
