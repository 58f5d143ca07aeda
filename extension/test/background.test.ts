// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

import assert from "node:assert/strict";
import { test } from "node:test";
import { startBridge } from "../src/content/bridge.js";
import { Context } from "../src/background/context.js";
import { dispatch, senderOrigin } from "../src/background/dispatch.js";
import { handleDown, handleEvent, handleReady, handleWindowRemoved } from "../src/background/events.js";
import { NativeHost } from "../src/background/services/NativeHost.js";
import type { BrowserApi, MessageSender } from "../src/shared/browser.js";
import { FakeBrowser, FakeEvent, FakePort, FakeTimers, FakeWindow, flush, hostHello } from "./helpers.js";

const PASSCODE = "24681357";
const TICKET = "AQIC5wM2LY4SfczSECRET-TICKET@AAJTSQACMDE=#";

interface World {
  fb: FakeBrowser;
  ctx: Context;
  host: NativeHost;
  timers: FakeTimers;
  port(): FakePort;
  send(msg: unknown, sender: MessageSender): Promise<unknown>;
  /** The host answers the last request it got. */
  answer(fields: Record<string, unknown>): void;
  hostEvent(f: Record<string, unknown>): Promise<void>;
}

async function world(setup?: (fb: FakeBrowser) => void): Promise<World> {
  const fb = new FakeBrowser();
  setup?.(fb);
  const timers = new FakeTimers();
  const ports: FakePort[] = [];
  const holder: { ctx?: Context } = {};
  let chain = Promise.resolve();
  const serial = (f: () => Promise<void>): void => {
    chain = chain.then(f);
  };
  const host = new NativeHost({
    connect: () => {
      const p = new FakePort();
      ports.push(p);
      return p;
    },
    lastError: () => undefined,
    extensionVersion: "0.1.0",
    timers,
    log: () => undefined,
    onEvent: (f) => { serial(() => handleEvent(holder.ctx!, f)); },
    onReady: (h) => { serial(() => handleReady(holder.ctx!, h)); },
    onDown: (p, w) => { serial(() => handleDown(holder.ctx!, p, w)); },
  });
  const ctx = new Context(fb.api as unknown as BrowserApi, host);
  holder.ctx = ctx;
  const port = (): FakePort => ports[ports.length - 1]!;
  host.start();
  port().hostSends(hostHello());
  port().hostSends({ id: port().last().id, type: "result", ok: true, protocol: "1.0", version: "0.1.0", state: "noCard" });
  await flush();
  // handleReady asks for status
  const st = port().last();
  assert.equal(st.type, "status");
  port().hostSends({ id: st.id, type: "result", ok: true, state: "cardPresent", card: { present: true, uid: "555000111222" } });
  await chain;
  await flush();
  return {
    fb,
    ctx,
    host,
    timers,
    port,
    send: (msg, sender) => dispatch(ctx, { retry: () => { host.start(); } }, msg, sender),
    answer: (fields) => {
      port().hostSends({ id: port().last().id, type: "result", ...fields });
    },
    hostEvent: async (f) => {
      port().hostSends({ type: "event", ...f });
      await flush();
      await chain;
      await flush();
    },
  };
}

const page = (origin: string, frameId = 0, tabUrl = origin + "/app"): MessageSender => ({
  id: "ext-id",
  origin,
  url: origin + "/app",
  frameId,
  tab: { id: 7, url: tabUrl },
});
const ownPage = (path: string): MessageSender => ({ id: "ext-id", url: "chrome-extension://ext-id/" + path });

test("senderOrigin prefers sender.origin, falls back to sender.url, refuses opaque", () => {
  assert.equal(senderOrigin({ origin: "https://a.nhs.uk", url: "https://b.nhs.uk/x" }), "https://a.nhs.uk");
  assert.equal(senderOrigin({ url: "https://b.nhs.uk:8443/x?y" }), "https://b.nhs.uk:8443");
  assert.equal(senderOrigin({ origin: "null", url: "about:blank" }), undefined);
  assert.equal(senderOrigin({}), undefined);
});

test("senderOrigin refuses an opaque origin, never the URL's origin in its place", () => {
  const cases: [string, MessageSender][] = [
    ["an iframe with sandbox=allow-scripts on an allowed site", { origin: "null", url: "https://app.nhs.uk/upload/x.html" }],
    ["a page served with Content-Security-Policy: sandbox", { origin: "null", url: "https://app.nhs.uk/files/report.html" }],
    ["an empty origin is no origin", { origin: "", url: "https://app.nhs.uk/" }],
  ];
  for (const [why, sender] of cases) assert.equal(senderOrigin(sender), undefined, why);
});

test("a sandboxed document on an allowed origin is refused before the host sees anything", async () => {
  const w = await world();
  const before = w.port().sent.length;
  for (const type of ["destroyTicket", "getNewTicket", "getTicket", "status"]) {
    const sender = { ...page("https://a.nhs.uk"), origin: "null", url: "https://a.nhs.uk/upload/x.html" };
    const r = (await w.send({ kind: "page", type }, sender)) as { error?: { code: string } };
    assert.equal(r.error?.code, "ORIGIN_NOT_ALLOWED", type);
  }
  assert.equal(w.port().sent.length, before, "nothing reached the host");
});

test("on ready: settings stored, content script registered for the allow-list, status recorded", async () => {
  const w = await world();
  assert.deepEqual(w.fb.sessionData.hostSettings, hostHello().settings);
  assert.equal(w.fb.sessionData.state, "cardPresent");
  assert.deepEqual(w.fb.registered.map((s) => [s.id, s.matches, s.excludeMatches, s.allFrames]), [
    ["oia-page-bridge", ["https://*.nhs.uk/*"], ["https://nhs.uk/*"], false],
  ]);
});

test("tabs already open on allowed origins get the content script injected", async () => {
  const w = await world((fb) => {
    fb.tabs = [
      { id: 1, url: "https://a.nhs.uk/x" },
      { id: 2, url: "https://evil.example/" },
    ];
  });
  assert.deepEqual(w.fb.injected, [1]);
});

test("a cross-origin frame in an allowed tab gets neither the content script nor events", async () => {
  const w = await world((fb) => {
    fb.managedData = { allowedOrigins: ["https://*.nhs.uk"], allowFrames: true };
    fb.tabs = [{ id: 1, url: "https://a.nhs.uk/x" }];
    fb.frames = {
      1: [
        { frameId: 4, origin: "https://ads.example" },
        { frameId: 5, origin: "https://b.nhs.uk" },
        { frameId: 6, origin: "null" },
      ],
    };
  });
  assert.deepEqual(w.fb.injectedFrames, [{ tabId: 1, frameIds: [0, 5] }], "only the frames whose own origin is allowed");
  await w.hostEvent({ event: "cardRemoved" });
  assert.deepEqual(
    w.fb.tabMessages.map((m) => m.frameId),
    [0, 5],
    "events go to allowed frames only: a third-party or sandboxed frame never learns of a login",
  );
});

test("without allowFrames, events go to the top document only", async () => {
  const w = await world((fb) => {
    fb.tabs = [{ id: 1, url: "https://a.nhs.uk/x" }];
    fb.frames = { 1: [{ frameId: 5, origin: "https://b.nhs.uk" }] };
  });
  assert.deepEqual(w.fb.injectedFrames, [{ tabId: 1, frameIds: [0] }]);
  await w.hostEvent({ event: "cardRemoved" });
  assert.deepEqual(w.fb.tabMessages.map((m) => m.frameId), [0]);
});

test("a policy allow-list replaces the host's, and the registration follows it", async () => {
  const w = await world((fb) => {
    fb.managedData = { allowedOrigins: ["https://app.example.org"], allowFrames: true };
  });
  assert.deepEqual(w.fb.registered[0]?.matches, ["https://app.example.org/*"]);
  assert.equal(w.fb.registered[0].allFrames, true);
  const r = (await w.send({ kind: "page", type: "status" }, page("https://spine.nhs.uk"))) as { error?: { code: string } };
  assert.equal(r.error?.code, "ORIGIN_NOT_ALLOWED", "the host's list no longer counts");
});

test("page requests: origin from the sender, checked before the host sees anything", async () => {
  const w = await world();
  const cases: [string, MessageSender, string | undefined][] = [
    ["an allow-listed top frame reaches the host", page("https://spine.nhs.uk"), undefined],
    ["an unlisted origin is refused", page("https://evil.example"), "ORIGIN_NOT_ALLOWED"],
    ["the wildcard's own domain is refused", page("https://nhs.uk"), "ORIGIN_NOT_ALLOWED"],
    ["http for an https pattern is refused", page("http://spine.nhs.uk"), "ORIGIN_NOT_ALLOWED"],
    ["a frame is refused unless policy allows frames", page("https://spine.nhs.uk", 3), "ORIGIN_NOT_ALLOWED"],
    ["a message without a tab is refused", { id: "ext-id", origin: "https://spine.nhs.uk", frameId: 0 }, "ORIGIN_NOT_ALLOWED"],
    ["another extension is refused", { ...page("https://spine.nhs.uk"), id: "other" }, "ORIGIN_NOT_ALLOWED"],
  ];
  for (const [why, sender, code] of cases) {
    const before = w.port().sent.length;
    const p = w.send({ kind: "page", type: "status", origin: "https://spine.nhs.uk" }, sender);
    await flush();
    if (code === undefined) {
      assert.equal(w.port().sent.length, before + 1, why);
      assert.equal(w.port().last().frame, undefined, `${why}: a top document is not marked as a frame`);
      w.answer({ ok: true, state: "cardPresent", card: { present: true, serial: "X" } });
      assert.deepEqual(await p, { ok: true, state: "cardPresent" }, `${why}: only the state, no card`);
    } else {
      assert.equal(w.port().sent.length, before, `${why}: the host saw nothing`);
      assert.equal(((await p) as { error: { code: string } }).error.code, code, why);
    }
  }
});

test("frames are served only when policy allows them and the top document is allowed", async () => {
  const w = await world((fb) => {
    fb.managedData = { allowedOrigins: ["https://*.nhs.uk"], allowFrames: true };
  });
  const inside = w.send({ kind: "page", type: "getTicketNoAuth" }, page("https://frame.nhs.uk", 5, "https://top.nhs.uk/x"));
  await flush();
  const f = w.port().last();
  assert.deepEqual(
    { type: f.type, origin: f.origin, frame: f.frame },
    { type: "getTicketNoAuth", origin: "https://frame.nhs.uk", frame: true },
    "the host is told the request came from a frame, so its locked allowFrames can refuse it",
  );
  w.answer({ ok: false, error: { code: "TICKET_NOT_AVAILABLE", message: "nobody is logged in" } });
  assert.equal(((await inside) as { error: { code: string } }).error.code, "TICKET_NOT_AVAILABLE");
  const evilTop = (await w.send({ kind: "page", type: "getTicketNoAuth" }, page("https://frame.nhs.uk", 5, "https://evil.example/"))) as {
    error: { code: string };
  };
  assert.equal(evilTop.error.code, "ORIGIN_NOT_ALLOWED");
});

test("extension-page messages are accepted only from the extension's own pages", async () => {
  const w = await world();
  const r = (await w.send({ kind: "pin", pin: PASSCODE }, page("https://spine.nhs.uk"))) as { error: { code: string } };
  assert.equal(r.error.code, "ORIGIN_NOT_ALLOWED", "a content script cannot send a passcode");
  const r2 = (await w.send({ kind: "page", type: "status" }, ownPage("popup.html"))) as { error: { code: string } };
  assert.equal(r2.error.code, "ORIGIN_NOT_ALLOWED", "an extension page is not a web page");
  const r3 = (await w.send("nonsense", ownPage("popup.html"))) as { error: { code: string } };
  assert.equal(r3.error.code, "BAD_REQUEST");
});

test("a full login: prompt opens, passcode goes only to the host, ticket only to the asking page", async () => {
  const w = await world();
  w.fb.tabs = [
    { id: 7, url: "https://spine.nhs.uk/app" },
    { id: 8, url: "https://evil.example/" },
  ];
  // The page asks through the real content-script bridge.
  const win = new FakeWindow("https://spine.nhs.uk");
  const onMessage = new FakeEvent<[unknown, { id?: string }]>();
  startBridge(win, {
    id: "ext-id",
    sendMessage: (m) => w.send(m, page("https://spine.nhs.uk")),
    onMessage,
  });
  win.postMessage({ oia: 1, id: "p1", type: "getTicket" }, win.location.origin);
  await flush();
  await flush();
  const req = w.port().last();
  assert.deepEqual({ type: req.type, origin: req.origin }, { type: "getTicket", origin: "https://spine.nhs.uk" });

  // The host wants the passcode: the window opens.
  await w.hostEvent({ event: "pinRequired", origin: "https://spine.nhs.uk", uid: "555000111222", attemptsLeft: 3, finalTry: false, pinPad: false, timeoutSeconds: 120 });
  assert.equal(w.fb.windowsCreated.length, 1);
  assert.equal(w.fb.windowsCreated[0]?.type, "popup");
  assert.equal((w.fb.sessionData.prompt as { kind: string }).kind, "pin");

  // The prompt window sends the passcode.
  const pinReply = w.send({ kind: "pin", pin: PASSCODE }, ownPage("prompt.html"));
  await flush();
  const pinFrame = w.port().last();
  assert.deepEqual({ type: pinFrame.type, pin: pinFrame.pin }, { type: "pin", pin: PASSCODE });
  w.answer({ ok: true });
  assert.deepEqual(await pinReply, { ok: true });

  // Wrong passcode: the prompt is asked again with lastError.
  await w.hostEvent({ event: "pinRequired", origin: "https://spine.nhs.uk", uid: "555000111222", attemptsLeft: 2, finalTry: false, pinPad: false, timeoutSeconds: 120, lastError: "PIN_INCORRECT" });
  assert.equal(w.fb.windowsCreated.length, 1, "the open window is focused, not opened again");
  assert.equal((w.fb.sessionData.prompt as { lastError: string }).lastError, "PIN_INCORRECT");

  // Several roles: the user picks one.
  await w.hostEvent({
    event: "roleRequired",
    origin: "https://spine.nhs.uk",
    user: { uid: "555000111222", name: "Jane Smith" },
    roles: [
      { id: "R1", name: "Clinical", orgCode: "RX1" },
      { id: "R2", name: "Admin", orgCode: "RX1" },
    ],
    timeoutSeconds: 120,
  });
  const bad = (await w.send({ kind: "selectRole", roleId: "R9" }, ownPage("prompt.html"))) as { error: { code: string } };
  assert.equal(bad.error.code, "INVALID_STATE", "a role not on offer is refused locally");
  const roleReply = w.send({ kind: "selectRole", roleId: "R2" }, ownPage("prompt.html"));
  await flush();
  assert.deepEqual({ type: w.port().last().type, roleId: w.port().last().roleId }, { type: "selectRole", roleId: "R2" });
  w.answer({ ok: true });
  await roleReply;

  // Logged in: the window closes, allow-listed tabs hear ticketChanged.
  await w.hostEvent({ event: "loggedIn", user: { uid: "555000111222", name: "Jane Smith" }, role: { id: "R2", name: "Admin" }, expiresAt: "2026-11-25T08:00:00Z" });
  assert.equal(w.fb.windowsOpen.size, 0);
  assert.equal(w.fb.sessionData.prompt, undefined);
  assert.deepEqual(w.fb.tabMessages, [{ tabId: 7, message: { kind: "oia.event", event: "ticketChanged", origin: "https://spine.nhs.uk" }, frameId: 0 }]);

  // The host answers the page's request with the ticket.
  w.port().hostSends({ id: req.id, type: "result", ok: true, ticket: TICKET, user: { uid: "555000111222", name: "Jane Smith" }, role: { id: "R2", name: "Admin" }, expiresAt: "2026-11-25T08:00:00Z" });
  await flush();
  await flush();
  const reply = win.posted.find((p) => (p.data as { type?: string }).type === "result")!;
  assert.equal(reply.targetOrigin, "https://spine.nhs.uk");
  assert.equal((reply.data as { ticket: string }).ticket, TICKET);

  // The passcode never reached storage, a tab or the page; the ticket never
  // reached storage or another tab.
  assert.equal(w.fb.everythingStoredOrSent().includes(PASSCODE), false);
  assert.equal(JSON.stringify(win.posted).includes(PASSCODE), false);
  assert.equal(w.fb.everythingStoredOrSent().includes(TICKET), false);
});

test("closing the prompt window is a cancel; closing it ourselves is not", async () => {
  const w = await world();
  await w.hostEvent({ event: "pinRequired", uid: "1", attemptsLeft: 3, finalTry: false, pinPad: false, timeoutSeconds: 120 });
  const winId = w.fb.sessionData.promptWindow as number;
  const before = w.port().sent.length;
  // Another window closing means nothing.
  await handleWindowRemoved(w.ctx, winId + 1000);
  assert.equal(w.port().sent.length, before);
  // The user closes the prompt window: the host gets a cancel.
  const p = handleWindowRemoved(w.ctx, winId);
  await flush();
  assert.equal(w.port().last().type, "cancel");
  w.answer({ ok: true });
  await p;
  assert.equal(w.fb.sessionData.promptWindow, undefined);
  assert.equal(w.fb.sessionData.prompt, undefined);
  // We close it on loggedIn: no cancel follows.
  await w.hostEvent({ event: "pinRequired", uid: "1", attemptsLeft: 3, finalTry: false, pinPad: false, timeoutSeconds: 120 });
  const second = w.fb.sessionData.promptWindow as unknown as number;
  await w.hostEvent({ event: "loggedIn", user: { uid: "1" }, role: { id: "R" }, expiresAt: "2026-11-25T08:00:00Z" });
  const n = w.port().sent.length;
  await handleWindowRemoved(w.ctx, second);
  assert.equal(w.port().sent.length, n, "no cancel after our own close");
});

test("the prompt's Cancel button cancels at the host and closes the window", async () => {
  const w = await world();
  await w.hostEvent({ event: "roleRequired", user: { uid: "1" }, roles: [{ id: "R1" }], timeoutSeconds: 60 });
  const p = w.send({ kind: "cancel" }, ownPage("prompt.html"));
  await flush();
  assert.equal(w.port().last().type, "cancel");
  w.answer({ ok: true });
  assert.deepEqual(await p, { ok: true });
  assert.equal(w.fb.windowsOpen.size, 0);
});

test("PIN_LOCKED keeps the window open on the locked message; other errors close it", async () => {
  const w = await world();
  await w.hostEvent({ event: "pinRequired", uid: "1", attemptsLeft: 1, finalTry: true, pinPad: false, timeoutSeconds: 120 });
  await w.hostEvent({ event: "error", error: { code: "PIN_LOCKED", message: "locked" } });
  assert.equal((w.fb.sessionData.prompt as { kind: string }).kind, "locked");
  assert.equal(w.fb.windowsOpen.size, 1);
  const w2 = await world();
  await w2.hostEvent({ event: "pinRequired", uid: "1", attemptsLeft: 3, finalTry: false, pinPad: false, timeoutSeconds: 120 });
  await w2.hostEvent({ event: "error", error: { code: "TIMEOUT", message: "nobody answered in time" } });
  assert.equal(w2.fb.windowsOpen.size, 0);
  assert.equal(w2.fb.sessionData.prompt, undefined);
  // A frame error is not the end of a login.
  await w2.hostEvent({ event: "pinRequired", uid: "1", attemptsLeft: 3, finalTry: false, pinPad: false, timeoutSeconds: 120 });
  await w2.hostEvent({ event: "error", error: { code: "FRAME_TOO_LARGE", message: "x" } });
  assert.equal(w2.fb.windowsOpen.size, 1);
});

test("card events reach allow-listed tabs only", async () => {
  const w = await world();
  await w.hostEvent({ event: "state", state: "loggedIn", previous: "authenticating" });
  assert.equal(w.fb.badge, "✓");
  assert.equal(w.fb.title, "extName: stateLoggedIn");
  w.fb.tabs = [
    { id: 1, url: "https://a.nhs.uk/" },
    { id: 2, url: "https://b.nhs.uk/x" },
    { id: 3, url: "https://elsewhere.example/" },
    { id: 4, url: "chrome://newtab/" },
  ];
  await w.hostEvent({ event: "cardRemoved" });
  assert.deepEqual(w.fb.tabMessages.map((m) => m.tabId), [1, 2]);
});

test("a dropped connection keeps the session; the reconnect's status tells pages what changed", async () => {
  const jane = { user: { uid: "1" }, role: { id: "R" }, expiresAt: "2026-11-25T08:00:00Z" };
  const cases: { why: string; after: Record<string, unknown> | "fails"; want: string[] }[] = [
    { why: "a killed relay: the agent still has the session", after: { state: "loggedIn", ...jane }, want: [] },
    { why: "the agent crashed: the new one has no session", after: { state: "cardPresent", card: { present: true } }, want: ["ticketDestroyed"] },
    { why: "another session is in place (oia login while away)", after: { state: "loggedIn", ...jane, role: { id: "S" } }, want: ["ticketChanged"] },
    { why: "the reconnect fails: the session is out of reach", after: "fails", want: ["ticketDestroyed"] },
  ];
  for (const c of cases) {
    const w = await world();
    w.fb.tabs = [{ id: 1, url: "https://a.nhs.uk/" }];
    await w.hostEvent({ event: "loggedIn", ...jane });
    w.fb.tabMessages = [];
    w.port().hostExits("Native host has exited.");
    await flush();
    await flush();
    assert.equal(w.fb.tabMessages.length, 0, c.why + ": nothing said on the drop itself");
    assert.equal((w.fb.sessionData.hostProblem as { code: string }).code, "HOST_EXITED", c.why);
    assert.equal(w.fb.badge, "!", c.why + ": the toolbar shows the host is down");
    w.timers.advance(500);
    if (c.after === "fails") {
      w.port().hostExits("Native host has exited.");
    } else {
      w.port().hostSends(hostHello());
      w.port().hostSends({ id: w.port().last().id, type: "result", ok: true, protocol: "1.0", version: "0.1.0", state: "loggedIn" });
      await flush();
      const st = w.port().last();
      assert.equal(st.type, "status", c.why);
      w.port().hostSends({ id: st.id, type: "result", ok: true, ...c.after });
    }
    for (let i = 0; i < 6; i++) await flush();
    assert.deepEqual(w.fb.tabMessages.map((m) => (m.message as { event: string }).event), c.want, c.why);
    assert.equal(w.fb.sessionData.lastSession ?? null, null, c.why + ": nothing remembered once told");
  }
});

test("the passcode is checked for form before it is sent", async () => {
  const w = await world();
  await w.hostEvent({ event: "pinRequired", uid: "1", attemptsLeft: 3, finalTry: false, pinPad: false, timeoutSeconds: 120 });
  const before = w.port().sent.length;
  for (const pin of ["", "9".repeat(65), 1234, null]) {
    const r = (await w.send({ kind: "pin", pin }, ownPage("prompt.html"))) as { error: { code: string } };
    assert.equal(r.error.code, "PIN_INVALID", JSON.stringify(pin));
  }
  assert.equal(w.port().sent.length, before, "nothing reached the host");
  // With a PIN pad no passcode is wanted.
  await w.hostEvent({ event: "pinRequired", uid: "1", attemptsLeft: 3, finalTry: false, pinPad: true, timeoutSeconds: 30 });
  const r = (await w.send({ kind: "pin", pin: "1234" }, ownPage("prompt.html"))) as { error: { code: string } };
  assert.equal(r.error.code, "INVALID_STATE");
});

test("the store refuses a field named like a secret", async () => {
  const w = await world();
  await assert.rejects(w.ctx.store.set({ session: { user: { uid: "1" }, ticket: "x" } as never }), /secret field "ticket"/);
  await assert.rejects(w.ctx.store.set({ prompt: { kind: "pin", pin: "1" } as never }), /secret field "pin"/);
});

test("a new host process closes a prompt left from the old one, or reopens the one it wants", async () => {
  const w = await world();
  await w.hostEvent({ event: "pinRequired", uid: "1", attemptsLeft: 3, finalTry: false, pinPad: false, timeoutSeconds: 120 });
  assert.equal(w.fb.windowsOpen.size, 1);
  // The host restarts: the old prompt closes with it.
  w.port().hostExits("Native host has exited.");
  await flush();
  w.timers.advance(500);
  w.port().hostSends(hostHello());
  w.answer({ ok: true, protocol: "1.0", version: "0.1.0", state: "cardPresent" });
  await flush();
  await flush();
  assert.equal(w.port().last().type, "status");
  w.answer({ ok: true, state: "awaitingPin", card: { present: true }, pin: { uid: "2", attemptsLeft: 2, finalTry: false, pinPad: false, timeoutSeconds: 60 } });
  await flush();
  await flush();
  await flush();
  const p = w.fb.sessionData.prompt as { kind: string; uid: string; attemptsLeft: number };
  assert.deepEqual([p.kind, p.uid, p.attemptsLeft], ["pin", "2", 2], "the prompt the new host wants is shown");
  assert.equal(w.fb.sessionData.state, "awaitingPin");
});

test("a window that cannot be focused is reused, not opened twice", async () => {
  const w = await world((fb) => {
    fb.refuseFocus = true;
  });
  await w.hostEvent({ event: "pinRequired", uid: "1", attemptsLeft: 3, finalTry: false, pinPad: false, timeoutSeconds: 120 });
  await w.hostEvent({ event: "roleRequired", user: { uid: "1" }, roles: [{ id: "R1" }, { id: "R2" }], timeoutSeconds: 60 });
  assert.equal(w.fb.windowsCreated.length, 1);
  await w.hostEvent({ event: "loggedIn", user: { uid: "1" }, role: { id: "R1" }, expiresAt: "2026-11-25T08:00:00Z" });
  assert.equal(w.fb.windowsOpen.size, 0);
});

test("content-script registration: defaults never replace a persisted list; an empty list unregisters", async () => {
  const fb = new FakeBrowser();
  fb.registered = [{ id: "oia-page-bridge", matches: ["https://app.example.org/*"], excludeMatches: [], allFrames: false }];
  const ctx = new Context(fb.api as unknown as BrowserApi, { request: () => Promise.reject(new Error("no host")), settled: () => Promise.resolve() });
  // Browser start, no policy, no hello yet: keep what persisted.
  await ctx.syncContentScripts(await ctx.settings(false));
  assert.deepEqual(fb.registered[0]?.matches, ["https://app.example.org/*"]);
  // A policy that lists nothing valid unregisters the script.
  fb.managedData = { allowedOrigins: ["http://not-allowed.example"] };
  ctx.forgetPolicy();
  await ctx.syncContentScripts(await ctx.settings(false));
  assert.deepEqual(fb.registered, []);
  // First install, nothing registered, no hello: the defaults.
  fb.managedData = new Error("no policy");
  ctx.forgetPolicy();
  await ctx.syncContentScripts(await ctx.settings(false));
  const after = fb.registered as { matches?: string[] }[];
  assert.deepEqual(after[0]?.matches, ["https://*.nhs.uk/*"]);
});

test("policy values of the wrong type are ignored, each key falls back on its own", async () => {
  const fb = new FakeBrowser();
  fb.managedData = { allowedOrigins: "https://a.nhs.uk", allowFrames: "yes", promptOnCardInsert: false, pinTimeoutSeconds: 5 };
  const ctx = new Context(fb.api as unknown as BrowserApi, { request: () => Promise.reject(new Error("no host")), settled: () => Promise.resolve() });
  fb.sessionData.hostSettings = { allowedOrigins: ["https://*.example.nhs.uk"], allowFrames: false, promptOnCardInsert: true, pinTimeoutSeconds: 90 };
  const s = await ctx.settings(false);
  assert.deepEqual(s.sources, { allowedOrigins: "host", allowFrames: "host", promptOnCardInsert: "policy", pinTimeoutSeconds: "host" });
  assert.equal(s.promptOnCardInsert, false);
  assert.equal(s.pinTimeoutSeconds, 90, "5 s is under the bound of 10");
  assert.deepEqual(s.allowedOrigins, ["https://*.example.nhs.uk"]);
});

test("pinRequired with no attempts left shows the locked message and takes no passcode", async () => {
  const w = await world();
  // A card inserted locked opens no window.
  await w.hostEvent({ event: "pinRequired", uid: "555000111222", attemptsLeft: 0, finalTry: false, pinPad: false, timeoutSeconds: 120 });
  assert.equal(w.fb.windowsCreated.length, 0);
  assert.equal(w.fb.sessionData.prompt, undefined, "nothing to show");
  // In an open window (the third wrong passcode) it turns into the locked message.
  await w.hostEvent({ event: "pinRequired", uid: "555000111222", attemptsLeft: 1, finalTry: true, pinPad: false, timeoutSeconds: 120 });
  await w.hostEvent({ event: "pinRequired", uid: "555000111222", attemptsLeft: 0, finalTry: false, pinPad: false, timeoutSeconds: 120 });
  const locked = w.fb.sessionData.prompt as unknown as { kind: string; uid: string };
  assert.deepEqual([locked.kind, locked.uid], ["locked", "555000111222"]);
  assert.equal(w.fb.windowsOpen.size, 1);
  const before = w.port().sent.length;
  const r = (await w.send({ kind: "pin", pin: "1234" }, ownPage("prompt.html"))) as { error: { code: string } };
  assert.equal(r.error.code, "INVALID_STATE");
  assert.equal(w.port().sent.length, before);
  // Closing the locked window is no cancel: nothing is pending at the host.
  await handleWindowRemoved(w.ctx, w.fb.sessionData.promptWindow as number);
  assert.equal(w.port().sent.length, before);
});

test("a desktop application's prompt names it; a malformed app field is dropped", async () => {
  const { pinPrompt, rolePrompt } = await import("../src/background/events.js");
  const base = { uid: "555000111222", attemptsLeft: 3, finalTry: false, pinPad: false, timeoutSeconds: 120 };
  const cases: { why: string; app: unknown; want: unknown }[] = [
    { why: "the host's app object, from the endpoint's peer", app: { name: "clinicalapp", pid: 4242 }, want: { name: "clinicalapp", pid: 4242 } },
    { why: "no pid known: 0", app: { name: "clinicalapp" }, want: { name: "clinicalapp", pid: 0 } },
    { why: "a name over the bound is not shown", app: { name: "x".repeat(257), pid: 1 }, want: undefined },
    { why: "an empty name names nobody", app: { name: "", pid: 1 }, want: undefined },
    { why: "not an object", app: "clinicalapp", want: undefined },
  ];
  for (const c of cases) {
    const p = pinPrompt({ event: "pinRequired", ...base, app: c.app }, 0);
    assert.deepEqual(p.kind === "pin" ? p.app : "locked", c.want, c.why);
    const r = rolePrompt({ event: "roleRequired", user: { uid: "1" }, roles: [], timeoutSeconds: 60, app: c.app }, 0);
    assert.deepEqual(r.kind === "role" ? r.app : "other", c.want, c.why + " (role)");
  }
});

test("a page is served only when both the policy's list and the host's allow it; its status carries its origin", async () => {
  const w = await world((fb) => {
    fb.managedData = { allowedOrigins: ["https://*.nhs.uk", "https://app.example.org"] };
  });
  const before = w.port().sent.length;
  const r = (await w.send({ kind: "page", type: "status" }, page("https://app.example.org"))) as { error?: { code: string } };
  assert.equal(r.error?.code, "ORIGIN_NOT_ALLOWED", "on the policy's list only: the host would not tell it who is logged in");
  assert.equal(w.port().sent.length, before, "nothing reached the host");
  const pending = w.send({ kind: "page", type: "status" }, page("https://spine.nhs.uk"));
  await flush();
  const req = w.port().last();
  assert.equal(req.type, "status");
  assert.equal(req.origin, "https://spine.nhs.uk", "the host checks the page's origin before it names the user");
  w.answer({ ok: true, state: "loggedIn", user: { uid: "1" } });
  assert.equal(((await pending) as { ok: boolean }).ok, true);
  // Events too go only where both lists allow.
  w.fb.tabs = [
    { id: 1, url: "https://app.example.org/" },
    { id: 2, url: "https://spine.nhs.uk/" },
  ];
  w.fb.tabMessages = [];
  await w.hostEvent({ event: "loggedIn", user: { uid: "1" } });
  assert.deepEqual(w.fb.tabMessages.map((m) => m.tabId), [2], "a page on the policy's list only hears no event");
});
