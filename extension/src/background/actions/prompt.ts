// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

/**
 * The prompt window's answers: the passcode, the chosen role, or cancel.
 * The passcode passes through here to the host and nowhere else: it is
 * neither stored nor logged, and the reply carries no trace of it.
 *
 * @module
 */

import { errorBody, LIMITS, type PageReplyBody } from "../../shared/protocol.js";
import { CONFIG } from "../config.js";
import type { Context } from "../context.js";
import { failure } from "./reply.js";

/** Sends the passcode the user typed to the host. */
export async function submitPin(ctx: Context, pin: unknown): Promise<PageReplyBody> {
  if (typeof pin !== "string" || pin === "" || new TextEncoder().encode(pin).length > LIMITS.maxPinBytes) {
    return { ok: false, error: errorBody("PIN_INVALID") };
  }
  const p = await ctx.store.get("prompt");
  if (p?.kind !== "pin" || p.pinPad) return { ok: false, error: errorBody("INVALID_STATE", "no passcode is wanted now") };
  try {
    await ctx.host.request("pin", { pin }, CONFIG.REQUEST_TIMEOUT_MS);
    return { ok: true };
  } catch (e) {
    return failure(e);
  }
}

/** Sends the role the user chose to the host. */
export async function selectRole(ctx: Context, roleId: unknown): Promise<PageReplyBody> {
  if (typeof roleId !== "string" || roleId === "" || roleId.length > LIMITS.maxRoleIdLength) {
    return { ok: false, error: errorBody("BAD_REQUEST", "choose a role") };
  }
  const p = await ctx.store.get("prompt");
  if (p?.kind !== "role" || !p.roles.some((r) => r.id === roleId)) {
    return { ok: false, error: errorBody("INVALID_STATE", "no such role is on offer") };
  }
  try {
    await ctx.host.request("selectRole", { roleId }, CONFIG.REQUEST_TIMEOUT_MS);
    return { ok: true };
  } catch (e) {
    return failure(e);
  }
}

/** Cancels the pending prompt and closes the window. */
export async function cancel(ctx: Context): Promise<PageReplyBody> {
  const p = await ctx.store.get("prompt");
  let reply: PageReplyBody = { ok: true };
  if (p?.kind === "pin" || p?.kind === "role") {
    try {
      await ctx.host.request("cancel", {}, CONFIG.REQUEST_TIMEOUT_MS);
    } catch (e) {
      reply = failure(e);
    }
  }
  await ctx.closePrompt();
  return reply;
}
