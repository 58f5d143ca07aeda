// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

/**
 * The toolbar's "Log in": a `login` request with the extension's own origin,
 * which the host accepts for login and destroyTicket only (§3.3).
 *
 * @module
 */

import type { PageReplyBody } from "../../shared/protocol.js";
import { CONFIG } from "../config.js";
import type { Context } from "../context.js";
import { failure, sessionFields } from "./reply.js";

/** Starts a login from the toolbar. */
export default async function login(ctx: Context): Promise<PageReplyBody> {
  try {
    const r = await ctx.host.request("login", { origin: ctx.extensionOrigin }, CONFIG.INTERACTIVE_TIMEOUT_MS);
    return { ok: true, ...sessionFields(r), state: "loggedIn" };
  } catch (e) {
    return failure(e);
  }
}
