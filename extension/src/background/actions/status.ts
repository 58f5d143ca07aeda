// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

/**
 * The page's `status` request: the state, and the session when logged in,
 * never the ticket (docs/protocol.md §2.2).
 *
 * @module
 */

import type { PageReplyBody } from "../../shared/protocol.js";
import { CONFIG } from "../config.js";
import type { Context } from "../context.js";
import { failure, statusReply } from "./reply.js";

/**
 * Asks the host for its state on behalf of the page at origin, which the
 * host checks against its own allow-list before it says who is logged in.
 */
export default async function status(ctx: Context, origin: string, frame: boolean): Promise<PageReplyBody> {
  try {
    const fields: Record<string, unknown> = { origin };
    if (frame) fields.frame = true;
    return statusReply(await ctx.host.request("status", fields, CONFIG.STATUS_TIMEOUT_MS));
  } catch (e) {
    return failure(e);
  }
}
