// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { RATE, startBridge, type BridgeRuntime } from "../src/content/bridge.js";
import { validatePageMessage } from "../src/content/validate.js";
import { PAGE_REQUEST_TYPES } from "../src/shared/protocol.js";
import { TokenBucket } from "../src/shared/ratelimit.js";
import { FakeEvent, FakeWindow, flush } from "./helpers.js";

test("validatePageMessage accepts exactly the requests of §2.1", () => {
  const cases: [string, unknown, boolean][] = [
    ["a valid request", { oia: 1, id: "a", type: "getTicket" }, true],
    ["unknown extra fields are not read, not refused", { oia: 1, id: "a", type: "status", extra: 1 }, true],
    ["64-character id", { oia: 1, id: "x".repeat(64), type: "status" }, true],
    ["65-character id", { oia: 1, id: "x".repeat(65), type: "status" }, false],
    ["empty id", { oia: 1, id: "", type: "status" }, false],
    ["numeric id", { oia: 1, id: 7, type: "status" }, false],
    ["oia 2", { oia: 2, id: "a", type: "status" }, false],
    ["oia as a string", { oia: "1", id: "a", type: "status" }, false],
    ["unknown type", { oia: 1, id: "a", type: "getPin" }, false],
    ["our own reply", { oia: 1, id: "a", type: "result", ok: true }, false],
    ["our own event", { oia: 1, type: "event", event: "cardInserted" }, false],
    ["prototype name as type", { oia: 1, id: "a", type: "toString" }, false],
    ["over 4 KiB", { oia: 1, id: "a", type: "status", pad: "x".repeat(4100) }, false],
    ["an array", [1, "a", "status"], false],
    ["a string", "getTicket", false],
    ["null", null, false],
  ];
  for (const [why, data, ok] of cases) {
    assert.equal(validatePageMessage(data) !== undefined, ok, why);
  }
  const cyclic: Record<string, unknown> = { oia: 1, id: "a", type: "status" };
  cyclic.self = cyclic;
  assert.equal(validatePageMessage(cyclic), undefined, "cyclic data is ignored, not a crash");
});

test("validatePageMessage never throws and passes only valid requests (fuzz)", () => {
  const valid = fc.record({
    oia: fc.constant(1),
    id: fc.string({ minLength: 1, maxLength: 64 }),
    type: fc.constantFrom(...PAGE_REQUEST_TYPES),
  });
  fc.assert(
    fc.property(fc.oneof(fc.anything(), valid, fc.record({ oia: fc.anything(), id: fc.anything(), type: fc.anything() })), (data) => {
      const r = validatePageMessage(data);
      if (r === undefined) return true;
      const d = data as Record<string, unknown>;
      return (
        d.oia === 1 &&
        typeof d.id === "string" &&
        d.id.length >= 1 &&
        d.id.length <= 64 &&
        (PAGE_REQUEST_TYPES as readonly unknown[]).includes(d.type) &&
        r.id === d.id &&
        r.type === d.type &&
        Object.keys(r).length === 2
      );
    }),
    { numRuns: 2000 },
  );
});

test("TokenBucket allows the burst, then the rate", () => {
  let now = 0;
  const b = new TokenBucket(20, 40, () => now);
  let n = 0;
  while (b.take()) n++;
  assert.equal(n, 40, "a full bucket holds the burst");
  now += 50; // 1 token at 20/s
  assert.equal(b.take(), true);
  assert.equal(b.take(), false);
  now += 10_000; // refills, but never over the burst
  n = 0;
  while (b.take()) n++;
  assert.equal(n, 40);
  now -= 5000; // a clock going backwards gives nothing
  assert.equal(b.take(), false);
});

interface Bg {
  runtime: BridgeRuntime & { onMessage: FakeEvent<[unknown, { id?: string }]> };
  received: unknown[];
}

function background(answer: (m: unknown) => unknown): Bg {
  const received: unknown[] = [];
  const onMessage = new FakeEvent<[unknown, { id?: string }]>();
  return {
    received,
    runtime: {
      id: "ext-id",
      sendMessage: (m: unknown) => {
        received.push(m);
        return Promise.resolve(answer(m));
      },
      onMessage,
    },
  };
}

test("the bridge relays a request and posts the reply to the exact origin", async () => {
  const win = new FakeWindow("https://spine.example.nhs.uk");
  const bg = background(() => ({ ok: true, ticket: "T", state: "loggedIn", user: { uid: "1" }, secret: "dropped" }));
  startBridge(win, bg.runtime);
  win.postMessage({ oia: 1, id: "r1", type: "getTicket", origin: "https://evil.example" }, win.location.origin);
  await flush();
  await flush();
  assert.deepEqual(bg.received, [{ kind: "page", type: "getTicket" }], "only kind and type reach the background; never an origin from the page");
  const reply = win.posted.at(-1);
  assert.equal(reply?.targetOrigin, "https://spine.example.nhs.uk");
  assert.deepEqual(reply.data, { oia: 1, id: "r1", type: "result", ok: true, ticket: "T", user: { uid: "1" }, state: "loggedIn" });
});

test("the bridge ignores messages from other windows and its own replies", async () => {
  const win = new FakeWindow();
  const bg = background(() => ({ ok: true, state: "noCard" }));
  startBridge(win, bg.runtime);
  win.deliver({ source: {}, origin: win.location.origin, data: { oia: 1, id: "x", type: "status" } });
  await flush();
  assert.equal(bg.received.length, 0, "a message from another frame is ignored");
  win.postMessage({ oia: 1, id: "y", type: "status" }, win.location.origin);
  await flush();
  await flush();
  await flush();
  assert.equal(bg.received.length, 1, "the reply it posted is not taken for a request");
});

test("the bridge answers RATE_LIMITED over the limit", async () => {
  const win = new FakeWindow();
  const bg = background(() => ({ ok: true, state: "noCard" }));
  const now = 0;
  startBridge(win, bg.runtime, () => now);
  const total = RATE.burst + 5;
  for (let i = 0; i < total; i++) win.postMessage({ oia: 1, id: `r${i}`, type: "getTicketNoAuth" }, win.location.origin);
  await flush();
  await flush();
  await flush();
  assert.equal(bg.received.length, RATE.burst);
  const limited = win.posted.filter((p) => (p.data as { error?: { code?: string } }).error?.code === "RATE_LIMITED");
  assert.equal(limited.length, 5);
  assert.equal((limited[0]?.data as { error: { legacyCode: number } }).error.legacyCode, 0x80100006);
});

test("the bridge turns a dead background into INTERNAL with a hint", async () => {
  const win = new FakeWindow();
  const onMessage = new FakeEvent<[unknown, { id?: string }]>();
  startBridge(win, { id: "ext", sendMessage: () => Promise.reject(new Error("Extension context invalidated.")), onMessage });
  win.postMessage({ oia: 1, id: "r", type: "status" }, win.location.origin);
  await flush();
  await flush();
  const r = win.posted.at(-1)?.data as { ok: boolean; error: { code: string; message: string } };
  assert.equal(r.ok, false);
  assert.equal(r.error.code, "INTERNAL");
  assert.match(r.error.message, /reload the page/);
});

test("the bridge posts known events from its own extension only, for the document the background checked", () => {
  const win = new FakeWindow();
  const bg = background(() => ({ ok: true }));
  startBridge(win, bg.runtime);
  const origin = win.location.origin;
  bg.runtime.onMessage.emit({ kind: "oia.event", event: "ticketChanged", origin }, { id: "ext-id" });
  bg.runtime.onMessage.emit({ kind: "oia.event", event: "ticketChanged", origin }, { id: "another-extension" });
  bg.runtime.onMessage.emit({ kind: "oia.event", event: "pinRequired", origin }, { id: "ext-id" });
  // Checked for another document: this frame navigated since.
  bg.runtime.onMessage.emit({ kind: "oia.event", event: "ticketDestroyed", origin: "https://other.nhs.uk" }, { id: "ext-id" });
  bg.runtime.onMessage.emit({ kind: "oia.event", event: "ticketDestroyed" }, { id: "ext-id" });
  assert.deepEqual(
    win.posted.map((p) => p.data),
    [{ oia: 1, type: "event", event: "ticketChanged" }],
  );
  assert.equal(win.posted[0]?.targetOrigin, win.location.origin);
});

test("an opaque origin gets no bridge at all", async () => {
  const win = new FakeWindow("null");
  const bg = background(() => ({ ok: true }));
  startBridge(win, bg.runtime);
  assert.equal(win.listenerCount(), 0);
  await flush();
});

test("a sandboxed document (self.origin \"null\") on an allowed site gets no bridge", async () => {
  for (const why of ["an iframe with sandbox=allow-scripts", "a page served with CSP: sandbox"]) {
    const win = new FakeWindow("https://spine.example.nhs.uk");
    win.origin = "null"; // location still shows the site that served it
    const sent: unknown[] = [];
    const onMessage = new FakeEvent<[unknown, { id?: string }]>();
    startBridge(win, { id: "ext", sendMessage: (m) => { sent.push(m); return Promise.resolve({ ok: true }); }, onMessage });
    assert.equal(win.listenerCount(), 0, `${why}: no listener on the page`);
    assert.equal(onMessage.listeners.length, 0, `${why}: no listener for events`);
    win.postMessage({ oia: 1, id: "r", type: "destroyTicket" }, win.location.origin);
    await flush();
    assert.deepEqual(sent, [], `${why}: nothing reached the background`);
  }
});
