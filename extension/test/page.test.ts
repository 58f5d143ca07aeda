// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

// The page library against a simulated extension: the real content-script
// bridge on a fake window, with a scripted background behind it.

import assert from "node:assert/strict";
import { test } from "node:test";
import { startBridge } from "../src/content/bridge.js";
import { OIAClient, OIAError, type OIAWindow } from "../src/page/oia.js";
import { FakeEvent, FakeWindow, flush } from "./helpers.js";

function simulated(answer: (type: string) => unknown): { win: FakeWindow; client: OIAClient; events: FakeEvent<[unknown, { id?: string }]> } {
  const win = new FakeWindow("https://spine.example.nhs.uk");
  const events = new FakeEvent<[unknown, { id?: string }]>();
  startBridge(win, {
    id: "ext",
    sendMessage: (m) => Promise.resolve(answer((m as { type: string }).type)),
    onMessage: events,
  });
  return { win, client: new OIAClient(win as unknown as OIAWindow), events };
}

test("getTicket resolves with the ticket and session", async () => {
  const { client, win } = simulated(() => ({
    ok: true,
    ticket: "T1",
    user: { uid: "555000111222", name: "Jane Smith" },
    role: { id: "R1" },
    expiresAt: "2026-11-25T08:00:00Z",
    state: "loggedIn",
  }));
  const t = await client.getTicket();
  assert.deepEqual(t, { ticket: "T1", user: { uid: "555000111222", name: "Jane Smith" }, role: { id: "R1" }, expiresAt: "2026-11-25T08:00:00Z", state: "loggedIn" });
  const req = win.posted[0];
  assert.equal(req?.targetOrigin, "https://spine.example.nhs.uk", "requests go to the page's own origin");
  const d = req.data as { oia: number; id: string; type: string };
  assert.equal(d.oia, 1);
  assert.equal(d.type, "getTicket");
  assert.match(d.id, /^[0-9a-f-]{36}$/, "ids are UUIDs");
  assert.equal(win.listenerCount(), 1, "the library stops listening when idle (the bridge's listener remains)");
});

test("errors become OIAError with code, legacyCode and message", async () => {
  const cases: [string, unknown, string, number | undefined][] = [
    ["a locked card", { ok: false, error: { code: "PIN_LOCKED", legacyCode: 0x80200004, message: "locked" } }, "PIN_LOCKED", 0x80200004],
    ["no session", { ok: false, error: { code: "TICKET_NOT_AVAILABLE", legacyCode: 0x80100009, message: "nobody" } }, "TICKET_NOT_AVAILABLE", 0x80100009],
    ["a code without a legacy number", { ok: false, error: { code: "PIN_INCORRECT", message: "wrong" } }, "PIN_INCORRECT", undefined],
  ];
  for (const [why, answer, code, legacy] of cases) {
    const { client } = simulated(() => answer);
    await assert.rejects(client.getTicketNoAuth(), (e: unknown) => {
      assert.ok(e instanceof OIAError, why);
      assert.equal(e.code, code, why);
      assert.equal(e.legacyCode, legacy, why);
      assert.ok(e instanceof Error);
      return true;
    });
  }
});

test("status returns the state without a ticket; destroyTicket resolves", async () => {
  const { client } = simulated((type) => (type === "status" ? { ok: true, state: "cardPresent" } : { ok: true }));
  assert.deepEqual(await client.status(), { state: "cardPresent" });
  await client.destroyTicket();
});

test("no extension: NO_EXTENSION after the timeout; isAvailable is false", async () => {
  const win = new FakeWindow();
  const client = new OIAClient(win as unknown as OIAWindow);
  const started = Date.now();
  assert.equal(await client.isAvailable(30), false);
  assert.ok(Date.now() - started >= 25);
  await assert.rejects(client.status({ timeoutMs: 20 }), (e: unknown) => e instanceof OIAError && e.code === "NO_EXTENSION");
  assert.equal(win.listenerCount(), 0, "nothing left listening");
});

test("isAvailable is true when the extension answers, even with an error", async () => {
  const { client } = simulated(() => ({ ok: false, error: { code: "HOST_NOT_FOUND", legacyCode: 0x80800002, message: "run oia doctor" } }));
  assert.equal(await client.isAvailable(), true);
});

test("replies to other ids, other origins and other windows are ignored", async () => {
  const win = new FakeWindow("https://spine.example.nhs.uk");
  const client = new OIAClient(win as unknown as OIAWindow);
  const p = client.status({ timeoutMs: 200 });
  const id = (win.posted[0]?.data as { id: string }).id;
  // Wrong id, wrong origin, wrong source: all ignored.
  win.deliver({ source: win, origin: win.location.origin, data: { oia: 1, id: "other", type: "result", ok: true, state: "loggedIn" } });
  win.deliver({ source: win, origin: "https://evil.example", data: { oia: 1, id, type: "result", ok: true, state: "loggedIn" } });
  win.deliver({ source: {}, origin: win.location.origin, data: { oia: 1, id, type: "result", ok: true, state: "loggedIn" } });
  win.deliver({ source: win, origin: win.location.origin, data: { oia: 2, id, type: "result", ok: true, state: "loggedIn" } });
  await flush();
  // The real one.
  win.deliver({ source: win, origin: win.location.origin, data: { oia: 1, id, type: "result", ok: true, state: "noCard" } });
  assert.deepEqual(await p, { state: "noCard" });
});

test("on() delivers events and its return value unsubscribes", async () => {
  const { client, events } = simulated(() => ({ ok: true }));
  const seen: string[] = [];
  const off = client.on("ticketChanged", () => seen.push("changed"));
  client.on("cardRemoved", () => seen.push("removed"));
  events.emit({ kind: "oia.event", event: "ticketChanged", origin: "https://spine.example.nhs.uk" }, { id: "ext" });
  events.emit({ kind: "oia.event", event: "cardRemoved", origin: "https://spine.example.nhs.uk" }, { id: "ext" });
  await flush();
  off();
  events.emit({ kind: "oia.event", event: "ticketChanged", origin: "https://spine.example.nhs.uk" }, { id: "ext" });
  await flush();
  assert.deepEqual(seen, ["changed", "removed"]);
  assert.throws(() => client.on("pinRequired" as never, () => undefined), OIAError);
});

test("concurrent requests are told apart by id", async () => {
  let n = 0;
  const { client } = simulated(() => ({ ok: true, ticket: `T${++n}`, state: "loggedIn" }));
  const [a, b, c] = await Promise.all([client.getTicketNoAuth(), client.getTicketNoAuth(), client.getTicketNoAuth()]);
  assert.deepEqual(new Set([a.ticket, b.ticket, c.ticket]), new Set(["T1", "T2", "T3"]));
});
