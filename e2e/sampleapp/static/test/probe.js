// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

// Posts every page request of the OIA page protocol to this window, as a
// page would (targetOrigin "*": an opaque origin matches no other), and
// records every OIA message that comes back for 2 s. A top-level document
// keeps the result in window.__probe; a frame also posts it to its parent.
(() => {
  const got = [];
  window.addEventListener("message", (ev) => {
    // Only what OIA would send back: results and events (the probe's own
    // requests come through this listener too).
    const d = ev.data;
    if (d && typeof d === "object" && d.oia !== undefined && (d.type === "result" || d.type === "event")) got.push(d);
  });
  const types = ["status", "getTicketNoAuth", "getTicket", "getNewTicket", "destroyTicket"];
  types.forEach((type, i) => window.postMessage({ oia: 1, id: "probe-" + i, type }, "*"));
  setTimeout(() => {
    window.__probe = { sent: types.length, got, origin: self.origin };
    const p = document.getElementById("probe");
    if (p) p.textContent = "done";
    if (window.parent !== window) window.parent.postMessage({ probeResult: window.__probe }, "*");
  }, 2000);
})();
