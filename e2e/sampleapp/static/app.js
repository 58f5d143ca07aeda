// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

// The sample app's page logic. Everything an NHS web app needs from Open
// Identity Agent is here: ask for a ticket, hand it to your own server (which
// checks it at the broker), and follow the events that end a session.
import {
  getTicket, getTicketNoAuth, getNewTicket, destroyTicket, status, isAvailable, on, OIAError,
} from "/oia.js";

const $ = (id) => document.getElementById(id);

// show puts the user and role of a login on the page, or clears them.
function show(t) {
  $("user").textContent = t?.user ? `${t.user.name ?? ""} (${t.user.uid})` : "";
  $("role").textContent = t?.role ? `${t.role.name ?? ""} (${t.role.id})` : "";
  $("org").textContent = t?.role ? `${t.role.orgName ?? ""} (${t.role.orgCode ?? ""})` : "";
}

function setSession(active) {
  $("session").textContent = active ? "active" : "ended";
  $("session").dataset.state = active ? "active" : "ended";
}

function showError(e) {
  // OIAError carries a stable code; show it with the message.
  $("error").textContent = e instanceof OIAError ? `${e.code}: ${e.message}` : String(e);
  $("error").dataset.code = e instanceof OIAError ? e.code : "INTERNAL";
}

function clearError() {
  $("error").textContent = "";
  delete $("error").dataset.code;
}

// checkAtServer sends the ticket to this site's server, which asks the broker
// who it belongs to. Never trust the user and role from the browser alone.
async function checkAtServer(t) {
  const el = $("server-check");
  el.textContent = "checking…";
  el.dataset.status = "checking";
  const resp = await fetch("/api/session", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ ticket: t.ticket }),
  });
  const body = await resp.json();
  if (!resp.ok) {
    el.textContent = `${body.error?.code}: ${body.error?.message}`;
    el.dataset.status = "error";
    return;
  }
  const same = body.user?.uid === t.user?.uid && body.role?.id === t.role?.id;
  el.textContent = `${same ? "confirmed" : "MISMATCH"}: ${body.user?.name} (${body.user?.uid}), ` +
    `${body.role?.name} (${body.role?.id}) at ${body.role?.orgName} (${body.role?.orgCode}), ${body.mode}`;
  el.dataset.status = same ? "confirmed" : "mismatch";
  el.dataset.uid = body.user?.uid ?? "";
  el.dataset.roleId = body.role?.id ?? "";
}

// noExtension is the error for a browser without the extension, or a site
// that is not on its allow-list.
const noExtension = () =>
  new OIAError("NO_EXTENSION", "Open Identity Agent is not installed, or this site is not allowed to use it");

// run wraps a button's action: one at a time, errors shown on the page.
async function run(button, action) {
  clearError();
  button.disabled = true;
  try {
    // Without the extension nothing ever answers, and a login request would
    // wait for its whole timeout (minutes, for a person to type): ask first,
    // which takes at most a second.
    if (!(await isAvailable())) throw noExtension();
    const t = await action();
    show(t);
    setSession(true);
    await checkAtServer(t);
  } catch (e) {
    showError(e);
  } finally {
    button.disabled = false;
  }
}

$("login").addEventListener("click", (ev) => run(ev.currentTarget, () => getTicket()));
$("no-auth").addEventListener("click", (ev) => run(ev.currentTarget, () => getTicketNoAuth()));
$("new-ticket").addEventListener("click", (ev) => run(ev.currentTarget, () => getNewTicket()));
$("logout").addEventListener("click", async () => {
  clearError();
  try {
    await destroyTicket();
  } catch (e) {
    showError(e);
  }
});

// Events carry no personal data: log them, and end the session on screen
// when the ticket is gone. A real app would also end its own server session.
function logEvent(name) {
  const li = document.createElement("li");
  li.textContent = `${new Date().toISOString()} ${name}`;
  li.dataset.event = name;
  $("events").append(li);
}
for (const name of ["ticketChanged", "ticketDestroyed", "cardInserted", "cardRemoved"]) {
  on(name, () => logEvent(name));
}
on("ticketDestroyed", () => {
  setSession(false);
  show(undefined);
});
on("cardRemoved", () => setSession(false));

// On load, find out whether the extension answers (isAvailable waits 1 s),
// then whether a session already exists (status never returns the ticket).
// No answer means the extension is missing or this site is not on its
// allow-list: the extension tells an unlisted site nothing, on purpose.
async function init() {
  if (!(await isAvailable())) {
    showError(noExtension());
    return;
  }
  const s = await status();
  setSession(s.state === "loggedIn");
  if (s.state === "loggedIn") show(s);
}
init().catch(showError).finally(() => { document.documentElement.dataset.ready = "1"; });
