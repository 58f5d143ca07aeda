// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors
// The probe extension's content script: relays {probe:"open"} from the page.
const api = globalThis.browser ?? globalThis.chrome;
window.addEventListener("message", (ev) => {
  if (ev.source !== window || ev.data?.probe !== "open") return;
  api.runtime.sendMessage({ probe: "open" }).then(
    (r) => window.postMessage({ probeReply: r }, location.origin),
    (e) => window.postMessage({ probeReply: { ok: false, error: String(e) } }, location.origin));
});
document.documentElement.dataset.probe = "1";
