// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

/**
 * The background entry point (Chrome's service worker, Firefox's event
 * page): wires the browser's events to the host connection, the event
 * handlers and the dispatcher. Listeners are added synchronously at start,
 * as Manifest V3 requires for a worker that may be woken by them.
 *
 * @module
 */

import { browserApi, errorMessage, type MessageSender } from "../shared/browser.js";
import { errorBody, NATIVE_PROTOCOL } from "../shared/protocol.js";
import type { Policy } from "../shared/state.js";
import { CONFIG } from "./config.js";
import { Context } from "./context.js";
import { dispatch } from "./dispatch.js";
import { handleDown, handleEvent, handleReady, handleWindowRemoved } from "./events.js";
import { NativeHost, type HelloSettings } from "./services/NativeHost.js";

const api = browserApi();

let policy: Policy = {};

function helloSettings(): HelloSettings | undefined {
  const s: HelloSettings = {};
  if (policy.promptOnCardInsert !== undefined) s.promptOnCardInsert = policy.promptOnCardInsert;
  if (policy.pinTimeoutSeconds !== undefined) s.pinTimeoutSeconds = policy.pinTimeoutSeconds;
  return Object.keys(s).length > 0 ? s : undefined;
}

// Events are handled strictly in arrival order.
let chain: Promise<void> = Promise.resolve();
function serial(f: () => Promise<void>): void {
  chain = chain.then(f).catch((e: unknown) => {
    console.warn(`oia: ${errorMessage(e)}`);
  });
}

const host = new NativeHost({
  connect: (name) => api.runtime.connectNative(name),
  lastError: () => api.runtime.lastError?.message,
  extensionVersion: api.runtime.getManifest().version,
  helloSettings,
  onEvent: (f) => { serial(() => handleEvent(ctx, f)); },
  onReady: (h) => { serial(() => handleReady(ctx, h)); },
  onDown: (p, wasReady) => { serial(() => handleDown(ctx, p, wasReady)); },
});

const ctx = new Context(api, host);

api.runtime.onMessage.addListener((msg: unknown, sender: MessageSender, sendResponse: (r: unknown) => void) => {
  dispatch(ctx, { retry: () => { host.start(); } }, msg, sender).then(sendResponse, (e: unknown) => {
    console.warn(`oia: ${errorMessage(e)}`);
    sendResponse({ ok: false, error: errorBody("INTERNAL", "internal error in open identity agent") });
  });
  return true;
});

api.windows.onRemoved.addListener((windowId: number) => {
  serial(() => handleWindowRemoved(ctx, windowId));
});

api.storage.onChanged.addListener((_changes, area) => {
  if (area !== "managed") return;
  ctx.forgetPolicy();
  serial(async () => {
    policy = await ctx.policy();
    await ctx.syncContentScripts(await ctx.settings(false));
    const s = helloSettings();
    if (s !== undefined && host.state === "ready") {
      await host.request("hello", { protocol: NATIVE_PROTOCOL, extension: api.runtime.getManifest().version, settings: s }, CONFIG.STATUS_TIMEOUT_MS).catch(() => undefined);
    }
  });
});

// Start: read the policy (so the first hello carries it), register the
// content script from what is known, and connect.
serial(async () => {
  policy = await ctx.policy();
  await ctx.syncContentScripts(await ctx.settings(false));
  host.start();
});
