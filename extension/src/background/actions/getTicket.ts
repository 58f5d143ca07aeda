// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

/**
 * The page's `getTicket` request (docs/protocol.md §2.1).
 *
 * @module
 */

import type { PageReplyBody } from "../../shared/protocol.js";
import { CONFIG } from "../config.js";
import type { Context } from "../context.js";
import { failure, ticketReply } from "./reply.js";

/** Asks the host for the ticket on behalf of origin (checked by the caller). */
export default async function getTicket(ctx: Context, origin: string, frame = false): Promise<PageReplyBody> {
  try {
    const r = await ctx.host.request("getTicket", frame ? { origin, frame } : { origin }, CONFIG.INTERACTIVE_TIMEOUT_MS);
    return ticketReply(r);
  } catch (e) {
    return failure(e);
  }
}
