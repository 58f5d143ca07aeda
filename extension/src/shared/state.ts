// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

/**
 * The records the background keeps in storage.session, shared with the
 * extension's own pages (prompt, popup, options), which read them and follow
 * storage.onChanged. Nothing here ever holds the passcode or the ticket.
 *
 * @module
 */

import type { Card, ErrorBody, HostSettings, PinPrompt, Role, RolePrompt, State, User } from "./protocol.js";

/** The storage.session keys. */
export const KEYS = Object.freeze({
  /** The host's login state. */
  state: "state",
  /** The card in the reader, from status and card events. */
  card: "card",
  /** The logged-in session without its ticket. */
  session: "session",
  /**
   * The session known when the connection to the host dropped, until a
   * reconnect's status says whether it survived (the agent keeps it).
   */
  lastSession: "lastSession",
  /** The pending prompt, if any. */
  prompt: "prompt",
  /** The prompt window's id while it is open. */
  promptWindow: "promptWindow",
  /** The host's settings from its hello. */
  hostSettings: "hostSettings",
  /** The host's version and protocol from its hello. */
  hostInfo: "hostInfo",
  /** Why the host is not available, while it is not. */
  hostProblem: "hostProblem",
  /** The last login error, for the prompt and the toolbar. */
  lastError: "lastError",
});

/** A session without its ticket. */
export interface SessionRecord {
  user?: User;
  role?: Role;
  expiresAt?: string;
}

/** The pending prompt, as the prompt window renders it. */
export type PromptRecord =
  | ({ kind: "pin"; since: number } & PinPrompt)
  | ({ kind: "role"; since: number } & RolePrompt)
  | { kind: "locked"; since: number; origin?: string; uid?: string };

/** The host's identity. */
export interface HostInfo {
  version: string;
  protocol: string;
}

/** Why the host is unavailable. */
export interface HostProblemRecord {
  code: "HOST_NOT_FOUND" | "HOST_VERSION_MISMATCH" | "HOST_EXITED" | "AGENT_UNAVAILABLE" | "AGENT_VERSION_MISMATCH";
  detail: string;
}

/** Everything in storage.session, typed. */
export interface SessionStore {
  state?: State;
  card?: Card | null;
  session?: SessionRecord | null;
  lastSession?: SessionRecord | null;
  prompt?: PromptRecord | null;
  promptWindow?: number | null;
  hostSettings?: HostSettings | null;
  hostInfo?: HostInfo | null;
  hostProblem?: HostProblemRecord | null;
  lastError?: ErrorBody | null;
}

/** Where an effective setting came from. */
export type SettingSource = "policy" | "host" | "default";

/** The effective settings with the source of each. */
export interface EffectiveSettings {
  allowedOrigins: string[];
  allowFrames: boolean;
  promptOnCardInsert: boolean;
  pinTimeoutSeconds: number;
  sources: {
    allowedOrigins: SettingSource;
    allowFrames: SettingSource;
    promptOnCardInsert: SettingSource;
    pinTimeoutSeconds: SettingSource;
  };
  /** Policy entries that were refused, with the reason. */
  invalid: { entry: string; reason: string }[];
}

/** The policy keys (static/managed_schema.json), as read and checked. */
export interface Policy {
  allowedOrigins?: string[];
  allowFrames?: boolean;
  promptOnCardInsert?: boolean;
  pinTimeoutSeconds?: number;
}

/**
 * The bounds on pinTimeoutSeconds: the host's (host/protocol
 * MinPINTimeoutSeconds and MaxPINTimeoutSeconds). A value outside them would
 * make the host refuse the whole hello.
 */
export const PIN_TIMEOUT_BOUNDS = Object.freeze({ min: 10, max: 600 });

/**
 * Reads the policy from storage.managed's raw value, dropping keys of the
 * wrong type (Chrome refuses them against the schema; Firefox does not).
 */
export function parsePolicy(raw: unknown): Policy {
  const p: Policy = {};
  if (typeof raw !== "object" || raw === null) return p;
  const r = raw as Record<string, unknown>;
  if (Array.isArray(r.allowedOrigins)) {
    p.allowedOrigins = r.allowedOrigins.filter((o): o is string => typeof o === "string").slice(0, 256);
  }
  if (typeof r.allowFrames === "boolean") p.allowFrames = r.allowFrames;
  if (typeof r.promptOnCardInsert === "boolean") p.promptOnCardInsert = r.promptOnCardInsert;
  if (
    typeof r.pinTimeoutSeconds === "number" &&
    Number.isInteger(r.pinTimeoutSeconds) &&
    r.pinTimeoutSeconds >= PIN_TIMEOUT_BOUNDS.min &&
    r.pinTimeoutSeconds <= PIN_TIMEOUT_BOUNDS.max
  ) {
    p.pinTimeoutSeconds = r.pinTimeoutSeconds;
  }
  return p;
}

/** The defaults when neither policy nor host says (the host's own defaults). */
export const DEFAULT_SETTINGS: HostSettings = Object.freeze({
  allowedOrigins: Object.freeze(["https://*.nhs.uk"]) as unknown as string[],
  allowFrames: false,
  promptOnCardInsert: true,
  pinTimeoutSeconds: 120,
});

/**
 * Combines policy and host settings: each key from the policy when it sets
 * it, else from the host, else the default.
 */
export function effectiveSettings(policy: Policy, host: HostSettings | null | undefined): Omit<EffectiveSettings, "invalid"> {
  const pick = <K extends keyof HostSettings>(k: K): [HostSettings[K], SettingSource] => {
    const pv = policy[k];
    if (pv !== undefined) return [pv as HostSettings[K], "policy"];
    if (host !== null && host !== undefined) return [host[k], "host"];
    return [DEFAULT_SETTINGS[k], "default"];
  };
  const [allowedOrigins, so] = pick("allowedOrigins");
  const [allowFrames, sf] = pick("allowFrames");
  const [promptOnCardInsert, sp] = pick("promptOnCardInsert");
  const [pinTimeoutSeconds, st] = pick("pinTimeoutSeconds");
  return {
    allowedOrigins: [...allowedOrigins],
    allowFrames,
    promptOnCardInsert,
    pinTimeoutSeconds,
    sources: { allowedOrigins: so, allowFrames: sf, promptOnCardInsert: sp, pinTimeoutSeconds: st },
  };
}

/** Messages from the extension's own pages and the content script to the background. */
export type BackgroundMessage =
  | { kind: "page"; type: string }
  | { kind: "pin"; pin: string }
  | { kind: "selectRole"; roleId: string }
  | { kind: "cancel" }
  | { kind: "login" }
  | { kind: "logout" }
  | { kind: "retry" }
  | { kind: "settings" };

/** The message the background sends a content script for a page event. */
export interface ContentEventMessage {
  kind: "oia.event";
  event: string;
  /**
   * The frame's own origin as the background read it just before: the
   * content script drops the event unless it is still its document's
   * (a frame that navigated in between must not hear it).
   */
  origin: string;
}
