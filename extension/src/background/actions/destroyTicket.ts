// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

/**
 * The page's (and the toolbar's) `destroyTicket` request: log out at the
 * broker and forget the ticket (docs/protocol.md §2.1).
 *
 * @module
 */

import type { PageReplyBody } from "../../shared/protocol.js";
import { CONFIG } from "../config.js";
import type { Context } from "../context.js";
import { failure } from "./reply.js";

/** Logs out on behalf of origin. */
export default async function destroyTicket(ctx: Context, origin: string, frame = false): Promise<PageReplyBody> {
  try {
    await ctx.host.request("destroyTicket", frame ? { origin, frame } : { origin }, CONFIG.REQUEST_TIMEOUT_MS);
    return { ok: true };
  } catch (e) {
    return failure(e);
  }
}
