// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors
// The probe extension's background: opens its window as the OIA extension
// opens the passcode window.
const api = globalThis.browser ?? globalThis.chrome;
api.runtime.onMessage.addListener((msg, sender, sendResponse) => {
  if (msg?.probe !== "open") return;
  api.windows.create({ type: "popup", url: api.runtime.getURL("prompt.html"), width: 420, height: 360 }).then(
    () => sendResponse({ ok: true, origin: new URL(sender.url).origin }),
    (e) => sendResponse({ ok: false, error: String(e) }));
  return true;
});
