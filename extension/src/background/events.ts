// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

/**
 * What the background does with the host's events (docs/protocol.md §3.5):
 * record the state, push page events (§2.3) to allow-listed tabs, and open,
 * update or close the prompt window.
 *
 * @module
 */

import { isErrorCode, isState, normaliseError, type App, type Card, type PinPrompt, type Role } from "../shared/protocol.js";
import type { PromptRecord, SessionRecord } from "../shared/state.js";
import { cleanRole, cleanUser, sessionFields } from "./actions/reply.js";
import { CONFIG } from "./config.js";
import { int, str } from "./fields.js";
import type { Context } from "./context.js";
import type { ConnectionProblem, HostFrame, HostHello } from "./services/NativeHost.js";

const MAX_ROLES = 64;


/** A card object with only its known fields. */
export function cleanCard(v: unknown): Card | null {
  if (typeof v !== "object" || v === null) return null;
  const o = v as Record<string, unknown>;
  const c: Card = { present: o.present === true };
  for (const k of ["label", "serial", "uid"] as const) {
    const x = str(o[k], 256);
    if (x !== undefined) c[k] = x;
  }
  return c;
}

/** A desktop application as the host named it, bounded, or undefined. */
export function cleanApp(v: unknown): App | undefined {
  if (typeof v !== "object" || v === null) return undefined;
  const o = v as Record<string, unknown>;
  const name = str(o.name, 256);
  if (name === undefined || name === "") return undefined;
  return { name, pid: int(o.pid, 0, 2 ** 31 - 1, 0) };
}

/** The record of the window's locked message, for the card of uid. */
function lockedPrompt(now: number, origin: string | undefined, uid: string | undefined): PromptRecord {
  const locked: PromptRecord = { kind: "locked", since: now };
  if (origin !== undefined) locked.origin = origin;
  if (uid !== undefined) locked.uid = uid;
  return locked;
}

/**
 * The prompt record for a pinRequired event. attemptsLeft 0 means the card
 * is locked (docs/protocol.md §3.5): the host then asks for nothing, and the
 * window shows how to unlock the card.
 */
export function pinPrompt(f: HostFrame, now: number): PromptRecord {
  if (f.attemptsLeft === 0) return lockedPrompt(now, str(f.origin), str(f.uid, 256));
  const p: PinPrompt = {
    attemptsLeft: int(f.attemptsLeft, 0, 99, 3),
    finalTry: f.finalTry === true,
    pinPad: f.pinPad === true,
    timeoutSeconds: int(f.timeoutSeconds, 0, 24 * 3600, 0),
  };
  const origin = str(f.origin);
  if (origin !== undefined) p.origin = origin;
  const app = cleanApp(f.app);
  if (app !== undefined) p.app = app;
  const uid = str(f.uid, 256);
  if (uid !== undefined) p.uid = uid;
  if (isErrorCode(f.lastError)) p.lastError = f.lastError;
  return { kind: "pin", since: now, ...p };
}

/** The prompt record for a roleRequired event. */
export function rolePrompt(f: HostFrame, now: number): PromptRecord {
  const roles: Role[] = Array.isArray(f.roles)
    ? f.roles.slice(0, MAX_ROLES).map(cleanRole).filter((r): r is Role => r !== undefined)
    : [];
  const p: PromptRecord & { kind: "role" } = {
    kind: "role",
    since: now,
    user: cleanUser(f.user) ?? { uid: "" },
    roles,
    timeoutSeconds: int(f.timeoutSeconds, 0, 24 * 3600, 0),
  };
  const origin = str(f.origin);
  if (origin !== undefined) p.origin = origin;
  const app = cleanApp(f.app);
  if (app !== undefined) p.app = app;
  return p;
}

/** Handles one host event. Events are handled one at a time, in order. */
export async function handleEvent(ctx: Context, f: HostFrame, now: () => number = Date.now): Promise<void> {
  switch (f.event) {
    case "state":
      if (isState(f.state)) {
        await ctx.store.set({ state: f.state });
        await ctx.showState(f.state);
      }
      return;
    case "cardInserted":
      await ctx.store.set({ card: cleanCard(f.card) ?? { present: true } });
      await ctx.broadcast("cardInserted");
      return;
    case "cardRemoved":
      await ctx.store.set({ card: { present: false } });
      await ctx.broadcast("cardRemoved");
      return;
    case "pinRequired": {
      const p = pinPrompt(f, now());
      if (p.kind === "locked") {
        // A locked card asks for nothing: show how to unlock it in a window
        // that is open (the third wrong passcode), but open none for it.
        if (typeof (await ctx.store.get("promptWindow")) === "number") await ctx.store.set({ prompt: p });
        return;
      }
      await ctx.store.set({ lastError: null });
      await ctx.showPrompt(p);
      return;
    }
    case "roleRequired":
      await ctx.showPrompt(rolePrompt(f, now()));
      return;
    case "loggedIn":
      await ctx.store.set({ session: sessionFields(f), lastError: null });
      await ctx.closePrompt();
      await ctx.broadcast("ticketChanged");
      return;
    case "ticketDestroyed":
      await ctx.store.set({ session: null });
      await ctx.closePrompt();
      await ctx.broadcast("ticketDestroyed");
      return;
    case "error": {
      const err = normaliseError(f.error);
      // A frame the host could not read is not the end of a login.
      if (err.code === "FRAME_TOO_LARGE" || err.code === "BAD_REQUEST") return;
      await ctx.store.set({ lastError: err });
      const prompt = await ctx.store.get("prompt");
      const win = await ctx.store.get("promptWindow");
      if (err.code === "PIN_LOCKED" && prompt !== undefined && prompt !== null && typeof win === "number") {
        // Keep the window open on the locked message: the user must learn
        // how to unlock the card. Closing it then is not a cancel.
        const origin = "origin" in prompt ? prompt.origin : undefined;
        const uid = prompt.kind === "pin" ? prompt.uid : undefined;
        await ctx.store.set({ prompt: lockedPrompt(now(), origin, uid) });
        return;
      }
      await ctx.closePrompt();
      return;
    }
    default:
      return;
  }
}

/** Whether two records name the same session: user, role and expiry. */
function sameSession(a: SessionRecord, b: SessionRecord): boolean {
  return a.user?.uid === b.user?.uid && a.role?.id === b.role?.id && a.expiresAt === b.expiresAt;
}

/**
 * Records a ready host and refreshes what depends on it. The session
 * belongs to the agent, not to this connection: after a reconnect (a relay
 * that was killed, a worker restart) pages hear only what changed while the
 * connection was away: ticketDestroyed when the session they knew is gone,
 * ticketChanged when another one is in place.
 */
export async function handleReady(ctx: Context, hello: HostHello): Promise<void> {
  const known = (await ctx.store.get("session")) ?? (await ctx.store.get("lastSession")) ?? null;
  await ctx.store.set({
    hostSettings: hello.settings ?? null,
    hostInfo: { version: hello.version, protocol: hello.protocol },
    hostProblem: null,
    state: isState(hello.state) ? hello.state : undefined,
  });
  await ctx.syncContentScripts(await ctx.settings(false));
  try {
    const st = await ctx.host.request("status", {}, CONFIG.STATUS_TIMEOUT_MS);
    const loggedIn = st.state === "loggedIn";
    const now = loggedIn ? sessionFields(st) : null;
    await ctx.store.set({
      state: isState(st.state) ? st.state : undefined,
      card: cleanCard(st.card),
      session: now,
      lastSession: null,
    });
    if (known !== null && now === null) await ctx.broadcast("ticketDestroyed");
    else if (now !== null && (known === null || !sameSession(known, now))) await ctx.broadcast("ticketChanged");
    await ctx.showState(isState(st.state) ? st.state : undefined);
    const pin = typeof st.pin === "object" && st.pin !== null ? pinPrompt(st.pin as HostFrame, Date.now()) : undefined;
    if (pin !== undefined && pin.kind !== "locked") {
      await ctx.showPrompt(pin);
    } else {
      // A new host process (after a crash or a worker restart) wants no
      // answer to a prompt the old one showed.
      await ctx.closePrompt();
    }
  } catch {
    // the host went away again; handleDown follows
  }
}

/**
 * Records that the host is unavailable and closes a pending prompt. A
 * dropped connection does not end the session, which the agent keeps: it
 * is remembered until the reconnect's status tells (handleReady). When the
 * reconnect fails too (the relay cannot reach an agent), the session is out
 * of reach and pages learn it ended (ticketDestroyed).
 */
export async function handleDown(ctx: Context, problem: ConnectionProblem, wasReady: boolean): Promise<void> {
  const known = (await ctx.store.get("session")) ?? (await ctx.store.get("lastSession")) ?? null;
  const lost = !wasReady && known !== null;
  await ctx.store.set({
    hostProblem: { code: problem.code, detail: problem.detail },
    hostInfo: null,
    state: undefined,
    card: null,
    session: null,
    lastSession: lost ? null : known,
  });
  await ctx.closePrompt();
  await ctx.showState(undefined, true);
  if (lost) await ctx.broadcast("ticketDestroyed");
}

/**
 * Handles a closed window: when it was the prompt window and the user closed
 * it while a passcode or role was wanted, that is a cancel.
 */
export async function handleWindowRemoved(ctx: Context, windowId: number): Promise<void> {
  if ((await ctx.store.get("promptWindow")) !== windowId) return;
  const prompt = await ctx.store.get("prompt");
  await ctx.store.set({ promptWindow: null, prompt: null });
  if (prompt?.kind === "pin" || prompt?.kind === "role") {
    await ctx.host.request("cancel", {}, CONFIG.STATUS_TIMEOUT_MS).catch(() => undefined); // answered at once
  }
}
