// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

import assert from "node:assert/strict";
import { test } from "node:test";
import { HostError, isNotFoundMessage, NativeHost, type ConnectionProblem, type HostHello } from "../src/background/services/NativeHost.js";
import { FakePort, FakeTimers, flush, hostHello } from "./helpers.js";

interface Rig {
  host: NativeHost;
  timers: FakeTimers;
  ports: FakePort[];
  port(): FakePort;
  ready: HostHello[];
  downs: [ConnectionProblem, boolean][];
  events: Record<string, unknown>[];
  /** Completes the handshake on the current port. */
  handshake(): Promise<void>;
}

function rig(opts: { helloSettings?: () => { promptOnCardInsert?: boolean; pinTimeoutSeconds?: number } | undefined } = {}): Rig {
  const timers = new FakeTimers();
  const ports: FakePort[] = [];
  const ready: HostHello[] = [];
  const downs: [ConnectionProblem, boolean][] = [];
  const events: Record<string, unknown>[] = [];
  const host = new NativeHost({
    connect: () => {
      const p = new FakePort();
      ports.push(p);
      return p;
    },
    lastError: () => undefined,
    extensionVersion: "0.1.0",
    helloSettings: opts.helloSettings,
    onReady: (h) => ready.push(h),
    onDown: (p, w) => downs.push([p, w]),
    onEvent: (f) => events.push(f),
    timers,
    log: () => undefined,
  });
  const r: Rig = {
    host,
    timers,
    ports,
    port: () => {
      const p = ports[ports.length - 1];
      if (p === undefined) throw new Error("no port");
      return p;
    },
    ready,
    downs,
    events,
    handshake: async () => {
      const p = r.port();
      p.hostSends(hostHello());
      const hello = p.last();
      assert.equal(hello.type, "hello");
      p.hostSends({ id: hello.id, type: "result", ok: true, protocol: "1.0", version: "0.1.0", state: "noCard" });
      await flush();
    },
  };
  return r;
}

async function rejection(p: Promise<unknown>): Promise<HostError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof HostError, `not a HostError: ${String(e)}`);
    return e;
  }
  assert.fail("the promise resolved");
}

test("handshake: reads the host's hello, sends its own, then serves queued requests", async () => {
  const r = rig({ helloSettings: () => ({ pinTimeoutSeconds: 60 }) });
  const pending = r.host.request("status", {}, 1000);
  assert.equal(r.host.state, "connecting");
  assert.equal(r.port().sent.length, 0, "nothing is sent before the host's hello");
  r.port().hostSends(hostHello());
  const hello = r.port().last();
  assert.deepEqual({ ...hello, id: undefined }, { id: undefined, type: "hello", protocol: "1.0", extension: "0.1.0", settings: { pinTimeoutSeconds: 60 } });
  assert.equal(r.port().sent.length, 1, "requests wait for the hello result");
  r.port().hostSends({ id: hello.id, type: "result", ok: true, protocol: "1.0", version: "0.1.0", state: "noCard" });
  await flush();
  assert.equal(r.host.state, "ready");
  assert.equal(r.ready.length, 1);
  assert.deepEqual(r.ready[0]?.settings?.allowedOrigins, ["https://*.nhs.uk"]);
  const status = r.port().last();
  assert.equal(status.type, "status");
  r.port().hostSends({ id: status.id, type: "result", ok: true, state: "noCard" });
  assert.equal((await pending).state, "noCard");
});

test("the hello request carries no settings when the policy sets none", () => {
  const r = rig();
  r.host.start();
  r.port().hostSends(hostHello());
  assert.equal("settings" in r.port().last(), false);
});

test("results are matched by id, in any order; errors keep their code", async () => {
  const r = rig();
  r.host.start();
  await r.handshake();
  const a = r.host.request("getTicketNoAuth", { origin: "https://a.nhs.uk" }, 1000);
  const b = r.host.request("status", {}, 1000);
  const [fa, fb] = r.port().sent.slice(-2);
  assert.notEqual(fa?.id, fb?.id);
  r.port().hostSends({ id: fb?.id, type: "result", ok: true, state: "cardPresent" });
  r.port().hostSends({ id: fa?.id, type: "result", ok: false, error: { code: "TICKET_NOT_AVAILABLE", message: "nobody is logged in" } });
  assert.equal((await b).state, "cardPresent");
  const e = await rejection(a);
  assert.equal(e.code, "TICKET_NOT_AVAILABLE");
  assert.equal(e.body.legacyCode, 0x80100009);
  // A result for an unknown id is ignored.
  r.port().hostSends({ id: "nobody", type: "result", ok: true });
});

test("events go to onEvent; frames that are not objects are ignored", async () => {
  const r = rig();
  r.host.start();
  await r.handshake();
  r.port().hostSends({ type: "event", event: "cardInserted", card: { present: true } });
  r.port().hostSends("garbage");
  r.port().hostSends([1, 2]);
  r.port().hostSends(null);
  assert.deepEqual(r.events, [{ type: "event", event: "cardInserted", card: { present: true } }]);
});

test("a major version mismatch fails every request with HOST_VERSION_MISMATCH", async () => {
  const r = rig();
  const pending = r.host.request("status", {}, 10_000);
  r.port().hostSends(hostHello("2.0"));
  assert.equal((await rejection(pending)).code, "HOST_VERSION_MISMATCH");
  assert.equal(r.port().disconnected, true, "the port to a mismatched host is closed");
  assert.equal(r.downs[0]?.[0].code, "HOST_VERSION_MISMATCH");
  // Later requests fail at once, without waiting for a reconnect.
  assert.equal((await rejection(r.host.request("status", {}, 10_000))).code, "HOST_VERSION_MISMATCH");
});

test("a minor version difference is fine", async () => {
  const r = rig();
  r.host.start();
  r.port().hostSends(hostHello("1.7"));
  const hello = r.port().last();
  r.port().hostSends({ id: hello.id, type: "result", ok: true, protocol: "1.7", version: "0.2.0", state: "noCard" });
  await flush();
  assert.equal(r.host.state, "ready");
});

test("host not found: each browser's message becomes HOST_NOT_FOUND", async () => {
  const messages = [
    "Specified native messaging host not found.", // Chrome: no manifest
    "Access to the specified native messaging host is forbidden.", // Chrome: other extension id
    "No such native application org.openidentityagent.host", // Firefox
    "An unexpected error occurred", // Firefox: path does not exist (before any hello)
  ];
  for (const msg of messages) {
    const r = rig();
    const pending = r.host.request("getTicket", { origin: "https://a.nhs.uk" }, 10_000);
    r.port().hostExits(msg);
    const e = await rejection(pending);
    assert.equal(e.code, "HOST_NOT_FOUND", msg);
    assert.equal(e.body.legacyCode, 0x80800002);
    assert.equal(r.host.problem?.code, "HOST_NOT_FOUND");
  }
  assert.equal(isNotFoundMessage("Native host has exited."), false);
});

test("the host exiting mid-request fails it with HOST_EXITED and reports wasReady", async () => {
  const r = rig();
  r.host.start();
  await r.handshake();
  const pending = r.host.request("getTicket", { origin: "https://a.nhs.uk" }, 60_000);
  r.port().hostExits("Native host has exited.");
  const e = await rejection(pending);
  assert.equal(e.code, "HOST_EXITED");
  assert.equal(e.message, "oia-host stopped during the request: try again");
  assert.deepEqual(r.downs.map(([p, w]) => [p.code, w]), [["HOST_EXITED", true]]);
});

test("a relay that cannot serve says why before it exits: the problem is the agent's code", async () => {
  const cases: { code: "AGENT_UNAVAILABLE" | "AGENT_VERSION_MISMATCH"; afterHello: boolean; why: string }[] = [
    { code: "AGENT_UNAVAILABLE", afterHello: false, why: "the relay could not start or reach the agent" },
    { code: "AGENT_VERSION_MISMATCH", afterHello: false, why: "the running agent is of another major version" },
    { code: "AGENT_UNAVAILABLE", afterHello: true, why: "the agent went away while the relay served" },
  ];
  for (const c of cases) {
    const r = rig();
    r.host.start();
    if (c.afterHello) await r.handshake();
    const pending = r.host.request("getTicket", { origin: "https://a.nhs.uk" }, 60_000);
    r.port().hostSends({ type: "event", event: "error", error: { code: c.code, legacyCode: 0x80800003, message: "run 'oia doctor'" } });
    r.port().hostExits("Native host has exited.");
    const e = await rejection(pending);
    assert.equal(e.code, c.code, c.why);
    assert.deepEqual(r.host.problem, { code: c.code, detail: "run 'oia doctor'" }, c.why);
    assert.deepEqual(r.downs.map(([p, w]) => [p.code, w]), [[c.code, c.afterHello]], c.why);
  }
});

test("the agent's own refusal is the cause, not the relay's AGENT_UNAVAILABLE that follows it", () => {
  const r = rig();
  r.host.start();
  r.port().hostSends({ type: "event", event: "error", error: { code: "AGENT_VERSION_MISMATCH", message: "the relay speaks 1.0 and the agent 2.0" } });
  r.port().hostSends({ type: "event", event: "error", error: { code: "AGENT_UNAVAILABLE", message: "the agent stopped" } });
  r.port().hostExits("Native host has exited.");
  assert.deepEqual(r.downs.map(([p]) => [p.code, p.detail]), [["AGENT_VERSION_MISMATCH", "the relay speaks 1.0 and the agent 2.0"]]);
});

test("after a good connection, a later exit is HOST_EXITED again, not the old agent problem", async () => {
  const r = rig();
  r.host.start();
  r.port().hostSends({ type: "event", event: "error", error: { code: "AGENT_UNAVAILABLE", message: "x" } });
  r.port().hostExits("Native host has exited.");
  r.timers.advance(r.timers.pending()[0]!);
  await r.handshake();
  r.port().hostExits("Native host has exited.");
  assert.deepEqual(r.downs.map(([p]) => p.code), ["AGENT_UNAVAILABLE", "HOST_EXITED"]);
});

test("reconnects with exponential backoff, bounded, and resets after a good connection", async () => {
  const r = rig();
  r.host.start();
  const delays: number[] = [];
  for (let i = 0; i < 9; i++) {
    r.port().hostExits("No such native application org.openidentityagent.host");
    const d = r.timers.pending();
    assert.equal(d.length, 1, "one reconnect timer");
    delays.push(d[0]!);
    const before = r.ports.length;
    r.timers.advance(d[0]!);
    assert.equal(r.ports.length, before + 1, "reconnected when the timer fired");
  }
  assert.deepEqual(delays, [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
  // The handshake timer is the only one left while connecting.
  await r.handshake();
  assert.equal(r.host.state, "ready");
  r.port().hostExits("Native host has exited.");
  assert.deepEqual(r.timers.pending(), [500], "backoff starts again after a good connection");
});

test("while the host is restarting, requests wait for the reconnect", async () => {
  const r = rig();
  r.host.start();
  await r.handshake();
  r.port().hostExits("Native host has exited.");
  const pending = r.host.request("status", {}, 10_000);
  assert.equal(r.ports.length, 1, "a request does not bypass the backoff");
  r.timers.advance(500);
  assert.equal(r.ports.length, 2);
  await r.handshake();
  const f = r.port().last();
  assert.equal(f.type, "status");
  r.port().hostSends({ id: f.id, type: "result", ok: true, state: "noCard" });
  assert.equal((await pending).state, "noCard");
});

test("a request times out with TIMEOUT and a late answer is ignored", async () => {
  const r = rig();
  r.host.start();
  await r.handshake();
  const pending = r.host.request("status", {}, 2000);
  const f = r.port().last();
  r.timers.advance(1999);
  r.timers.advance(1);
  assert.equal((await rejection(pending)).code, "TIMEOUT");
  r.port().hostSends({ id: f.id, type: "result", ok: true, state: "noCard" });
});

test("a host that never says hello is given up on after the handshake timeout", async () => {
  const r = rig();
  const pending = r.host.request("status", {}, 60_000);
  r.timers.advance(5000);
  assert.equal((await rejection(pending)).code, "HOST_NOT_FOUND");
  assert.equal(r.ports[0]?.disconnected, true);
});

test("frames over 64 KiB are refused before they reach the host", async () => {
  const r = rig();
  r.host.start();
  await r.handshake();
  const n = r.port().sent.length;
  const e = await rejection(r.host.request("getTicket", { origin: "x".repeat(70_000) }, 1000));
  assert.equal(e.code, "BAD_REQUEST");
  assert.equal(r.port().sent.length, n);
});

test("settled resolves when ready, when down, or after its bound", async () => {
  const r = rig();
  let done = false;
  const s = r.host.settled(3000).then(() => (done = true));
  await flush();
  assert.equal(done, false);
  await r.handshake();
  await s;
  assert.equal(done, true);
  const r2 = rig();
  const s2 = r2.host.settled(3000);
  r2.timers.advance(3000);
  await s2;
});
