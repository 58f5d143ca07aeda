// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

/**
 * The passcode and role window. It renders the pending prompt that the
 * background keeps in storage.session and follows its changes. The passcode
 * goes from the field straight to the background (which sends it to the
 * host) and the field is cleared at once; it is never stored or logged.
 *
 * @module
 */

import { browserApi, type StorageChanges } from "../shared/browser.js";
import { localise, t } from "../shared/i18n.js";
import { LIMITS, type ErrorBody } from "../shared/protocol.js";
import type { PromptRecord, SessionStore } from "../shared/state.js";

const api = browserApi();

function el<T extends HTMLElement>(id: string, _type?: new () => T): T {
  const e = document.getElementById(id);
  if (e === null) throw new Error(`prompt.html has no #${id}`);
  return e as T;
}

const ui = {
  form: el("form", HTMLFormElement),
  origin: el("origin"),
  holder: el("holder"),
  passcode: el("passcode", HTMLInputElement),
  pinSection: el("pin-section"),
  attempts: el("attempts"),
  finalTry: el("final-try"),
  pinpad: el("pinpad"),
  countdown: el("countdown"),
  roleSection: el("role-section"),
  roles: el("roles"),
  locked: el("locked"),
  status: el("status"),
  submit: el("submit", HTMLButtonElement),
  selectRole: el("select-role", HTMLButtonElement),
  cancel: el("cancel", HTMLButtonElement),
  errorSummary: el("error-summary"),
  errorLink: el("error-link", HTMLAnchorElement),
};

let prompt: PromptRecord | null = null;
let renderedKey = "";
let countdownTimer: ReturnType<typeof setInterval> | undefined;
let busy = false;

function showError(message: string | undefined, field: string): void {
  if (message === undefined) {
    ui.errorSummary.hidden = true;
    ui.errorLink.textContent = "";
    ui.passcode.removeAttribute("aria-invalid");
    return;
  }
  ui.errorLink.textContent = message;
  ui.errorLink.href = `#${field}`;
  ui.errorSummary.hidden = false;
  if (field === "passcode") ui.passcode.setAttribute("aria-invalid", "true");
}

function originText(origin: string | undefined): string {
  if (origin === undefined || origin === "") return "";
  try {
    if (new URL(origin).origin === new URL(api.runtime.getURL("/")).origin) return t(api, "toolbarOrigin");
  } catch {
    // shown as is
  }
  return origin;
}

function stopCountdown(): void {
  if (countdownTimer !== undefined) clearInterval(countdownTimer);
  countdownTimer = undefined;
}

function startCountdown(since: number, seconds: number): void {
  stopCountdown();
  const tick = (): void => {
    const left = Math.max(0, Math.ceil((since + seconds * 1000 - Date.now()) / 1000));
    ui.countdown.textContent = t(api, "countdown", left);
    if (left === 0) stopCountdown();
  };
  tick();
  countdownTimer = setInterval(tick, 1000);
}

function setBusy(b: boolean, status = ""): void {
  busy = b;
  ui.submit.disabled = b;
  ui.selectRole.disabled = b;
  ui.passcode.disabled = b;
  ui.status.textContent = status;
}

function errorText(e: ErrorBody | undefined): string | undefined {
  if (e === undefined) return undefined;
  return e.message;
}

/**
 * How long after the passcode field first shows that keystrokes and Enter
 * are ignored: a page can open this window (getNewTicket) while the user is
 * typing into the page, and those keys must not become a passcode attempt
 * (browsers hold their own permission prompts back the same way).
 */
const INPUT_GUARD_MS = 750;
/** When typed input counts; until the first passcode prompt, never. */
let acceptInputAt = Number.POSITIVE_INFINITY;
/** The prompt (its `since`) the guard was last started for. */
let guardedPrompt: number | undefined;

/**
 * Starts the guard for each new passcode prompt (the background brings the
 * window to the front for each, which can take keys meant for the page):
 * the field is read-only until it ends, and then the document says so
 * (data-input-ready, for the browser tests).
 */
function armInputGuard(since: number): void {
  if (guardedPrompt === since) return;
  guardedPrompt = since;
  acceptInputAt = Date.now() + INPUT_GUARD_MS;
  ui.passcode.readOnly = true;
  document.documentElement.dataset.inputReady = "0";
  setTimeout(() => {
    if (guardedPrompt !== since) return; // a newer prompt has its own guard
    ui.passcode.readOnly = false;
    document.documentElement.dataset.inputReady = "1";
  }, INPUT_GUARD_MS);
}

/** Whether typed input counts yet. */
function inputAccepted(): boolean {
  return Date.now() >= acceptInputAt;
}

function render(p: PromptRecord | null): void {
  prompt = p;
  if (p === null) {
    // The background closes this window when the prompt ends. Close it here
    // too, a moment later, in case the background could not (it restarted).
    stopCountdown();
    setTimeout(() => {
      if (prompt === null) window.close();
    }, 1000);
    return;
  }
  // Re-render the form only when the prompt itself changed, so that typing
  // is not disturbed by unrelated storage writes.
  const key = JSON.stringify(p);
  if (key !== renderedKey) {
    renderedKey = key;
    setBusy(false);
    const app = p.kind !== "locked" ? p.app : undefined;
    ui.origin.textContent = app !== undefined ? t(api, "appRequester", app.name, app.pid) : originText("origin" in p ? p.origin : undefined);
    ui.holder.textContent = p.kind === "role" ? (p.user.name ?? p.user.uid) : (p.uid ?? "");
    el("origin-label").hidden = ui.origin.hidden = ui.origin.textContent === "";
    el("holder-label").hidden = ui.holder.hidden = ui.holder.textContent === "";
    ui.pinSection.hidden = !(p.kind === "pin" && !p.pinPad);
    ui.submit.hidden = ui.pinSection.hidden;
    ui.pinpad.hidden = !(p.kind === "pin" && p.pinPad);
    ui.roleSection.hidden = p.kind !== "role";
    ui.selectRole.hidden = p.kind !== "role";
    ui.locked.hidden = p.kind !== "locked";
    ui.cancel.textContent = t(api, p.kind === "locked" ? "close" : "cancel");
    showError(undefined, "passcode");
    stopCountdown();
    if (p.kind === "pin") {
      ui.attempts.textContent = t(api, "attemptsLeft", p.attemptsLeft);
      ui.finalTry.hidden = !p.finalTry;
      if (p.lastError === "PIN_INCORRECT") showError(t(api, "errPinIncorrect"), "passcode");
      else if (p.lastError === "PIN_INVALID") showError(t(api, "errPinInvalid"), "passcode");
      if (p.pinPad) {
        startCountdown(p.since, p.timeoutSeconds);
      } else {
        armInputGuard(p.since);
        ui.passcode.value = "";
        ui.passcode.focus();
      }
    } else if (p.kind === "role") {
      renderRoles(p);
    } else {
      ui.cancel.focus();
    }
  }
}

/**
 * Follows the host's state while a prompt is shown: busy while the card
 * checks the passcode or the broker logs in, ready again when the host waits
 * for an answer. A prompt that has just arrived is always ready (render
 * clears busy): the host may send roleRequired before its state event.
 */
function follow(state: string | undefined): void {
  if (prompt === null) return;
  if (state === "verifying") setBusy(true, t(api, "statusChecking"));
  else if (state === "authenticating") setBusy(true, t(api, "statusAuthenticating"));
  else if (state === "awaitingPin" || state === "awaitingRole") setBusy(false);
}

function renderRoles(p: Extract<PromptRecord, { kind: "role" }>): void {
  for (const old of ui.roles.querySelectorAll(".role")) old.remove();
  p.roles.forEach((r, i) => {
    const row = document.createElement("div");
    row.className = "role";
    const input = document.createElement("input");
    input.type = "radio";
    input.name = "role";
    input.value = r.id;
    input.id = `role-${i}`;
    if (i === 0) input.checked = true;
    const label = document.createElement("label");
    label.htmlFor = input.id;
    const parts = [r.name ?? r.id, r.orgName ?? r.orgCode, r.jobRole].filter((x): x is string => x !== undefined && x !== "");
    label.textContent = parts.join(" — ");
    row.append(input, label);
    ui.roles.append(row);
  });
  ui.roles.querySelector<HTMLInputElement>("input[name=role]")?.focus();
}

async function send(msg: Record<string, unknown>): Promise<{ ok: boolean; error?: ErrorBody }> {
  try {
    return (await api.runtime.sendMessage(msg)) as { ok: boolean; error?: ErrorBody };
  } catch {
    return { ok: false, error: { code: "INTERNAL", message: "the extension stopped" } };
  }
}

async function submitPin(): Promise<void> {
  const pin = ui.passcode.value;
  // Clear the field before anything else: the passcode lives on only in
  // the message being sent.
  ui.passcode.value = "";
  if (pin === "") {
    showError(t(api, "errPinEmpty"), "passcode");
    ui.errorSummary.focus();
    return;
  }
  if (new TextEncoder().encode(pin).length > LIMITS.maxPinBytes) {
    showError(t(api, "errPinTooLong"), "passcode");
    ui.errorSummary.focus();
    return;
  }
  showError(undefined, "passcode");
  setBusy(true, t(api, "statusChecking"));
  const r = await send({ kind: "pin", pin });
  if (!r.ok) {
    setBusy(false);
    showError(errorText(r.error), "passcode");
    ui.passcode.focus();
  }
}

async function submitRole(): Promise<void> {
  const chosen = ui.roles.querySelector<HTMLInputElement>("input[name=role]:checked");
  if (chosen === null) {
    showError(t(api, "errRoleNone"), "roles");
    ui.errorSummary.focus();
    return;
  }
  setBusy(true, t(api, "statusAuthenticating"));
  const r = await send({ kind: "selectRole", roleId: chosen.value });
  if (!r.ok) {
    setBusy(false);
    showError(errorText(r.error), "roles");
  }
}

async function cancel(): Promise<void> {
  ui.passcode.value = "";
  await send({ kind: "cancel" });
  window.close();
}

ui.form.addEventListener("submit", (ev) => {
  ev.preventDefault();
  if (busy || prompt === null) return;
  if (prompt.kind === "pin" && !prompt.pinPad && !inputAccepted()) return; // an Enter meant for the page
  if (prompt.kind === "pin" && !prompt.pinPad) void submitPin();
  else if (prompt.kind === "role") void submitRole();
});
ui.cancel.addEventListener("click", () => void cancel());
document.addEventListener("keydown", (ev) => {
  if (ev.key === "Escape") {
    ev.preventDefault();
    void cancel();
    return;
  }
  if (!inputAccepted() && ev.target === ui.passcode) ev.preventDefault(); // keys meant for the page
});
ui.errorLink.addEventListener("click", (ev) => {
  ev.preventDefault();
  const target = prompt?.kind === "role" ? ui.roles.querySelector<HTMLInputElement>("input[name=role]") : ui.passcode;
  target?.focus();
});

api.storage.onChanged.addListener((changes: StorageChanges, area: string) => {
  if (area !== "session") return;
  if ("prompt" in changes) render((changes.prompt?.newValue as PromptRecord | undefined) ?? null);
  if ("state" in changes) follow(changes.state?.newValue as string | undefined);
});

localise(api, document);
void api.storage.session.get(["prompt"]).then((r) => {
  render((r as SessionStore).prompt ?? null);
});
