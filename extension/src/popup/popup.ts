// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

/**
 * The toolbar popup: card state, user, role, session time left, Log in and
 * Log out, and install guidance when oia-host is missing.
 *
 * @module
 */

import { browserApi, type StorageChanges } from "../shared/browser.js";
import { localise, t } from "../shared/i18n.js";
import type { ErrorBody } from "../shared/protocol.js";
import type { SessionStore } from "../shared/state.js";

const api = browserApi();

function el<T extends HTMLElement>(id: string, _type?: new () => T): T {
  const e = document.getElementById(id);
  if (e === null) throw new Error(`popup.html has no #${id}`);
  return e as T;
}

/** Where oia-host writes its log, per OS (docs/extension.md). */
export function logFileFor(platform: string): string {
  const p = platform.toLowerCase();
  if (p.includes("win")) return "%LOCALAPPDATA%\\OIA\\host.log";
  if (p.includes("mac")) return "~/Library/Logs/OIA/host.log";
  return "~/.local/state/oia/host.log";
}

function stateName(state: string | undefined): string {
  if (state === undefined) return t(api, "stateUnknown");
  return t(api, "state" + state.charAt(0).toUpperCase() + state.slice(1));
}

/** The message key for each connection problem. */
const PROBLEM_MESSAGES: Readonly<Record<NonNullable<SessionStore["hostProblem"]>["code"], string>> = {
  HOST_NOT_FOUND: "hostMissing",
  HOST_VERSION_MISMATCH: "hostMismatch",
  HOST_EXITED: "hostExited",
  AGENT_UNAVAILABLE: "agentUnavailable",
  AGENT_VERSION_MISMATCH: "agentMismatch",
};

function render(s: SessionStore): void {
  const problem = s.hostProblem ?? null;
  el("host-missing").hidden = problem === null;
  if (problem !== null) {
    el("host-problem").textContent = t(
      api,
      PROBLEM_MESSAGES[problem.code],
    );
    el("host-help").textContent =
      problem.code === "HOST_NOT_FOUND" ? t(api, "hostMissingHelp") : problem.code.startsWith("AGENT_") ? t(api, "agentHelp") : "";
    el("log-file").textContent = logFileFor(navigator.userAgent);
  }
  el("card-state").textContent = stateName(s.state);
  const sess = s.session ?? null;
  el("user").textContent = sess?.user !== undefined ? `${sess.user.name ?? ""} (${sess.user.uid})`.trim() : "—";
  el("role").textContent = sess?.role !== undefined ? [sess.role.name, sess.role.orgName].filter(Boolean).join(", ") : "—";
  let left = "—";
  if (sess?.expiresAt !== undefined) {
    const mins = Math.max(0, Math.round((Date.parse(sess.expiresAt) - Date.now()) / 60000));
    left = t(api, "minutes", mins);
  }
  el("session-left").textContent = left;
  el("host-version").textContent = s.hostInfo?.version ?? "—";
  const loggedIn = s.state === "loggedIn";
  el("logout", HTMLButtonElement).disabled = !loggedIn;
  el("login", HTMLButtonElement).disabled = loggedIn || problem !== null || s.state === "noCard";
}

async function refresh(): Promise<void> {
  render((await api.storage.session.get(null)));
}

async function send(kind: string): Promise<void> {
  el("status").textContent = "";
  try {
    const r = (await api.runtime.sendMessage({ kind })) as { ok: boolean; error?: ErrorBody };
    if (!r.ok && r.error !== undefined && r.error.code !== "USER_ABORT") el("status").textContent = r.error.message;
  } catch {
    el("status").textContent = "the extension stopped: reopen this window";
  }
}

el("login").addEventListener("click", () => {
  void send("login");
});
el("logout").addEventListener("click", () => void send("logout"));
el("retry").addEventListener("click", () => void send("retry"));
el("open-options").addEventListener("click", () => void api.runtime.openOptionsPage?.());
api.storage.onChanged.addListener((_c: StorageChanges, area: string) => {
  if (area === "session") void refresh();
});

localise(api, document);
void refresh();
