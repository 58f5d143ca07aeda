// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

// Collects what the framed probes report, and the OIA events this allowed
// top document itself hears (proof that events were sent at all).
(() => {
  const other = new URLSearchParams(location.search).get("other");
  window.__framed = { sandboxed: null, recorder: null, topEvents: [] };
  if (other) document.getElementById("recorder").src = other + "/test/recorder.html";
  window.addEventListener("message", (ev) => {
    const d = ev.data;
    if (!d || typeof d !== "object") return;
    if (d.probeResult) window.__framed.sandboxed = d.probeResult;
    if (d.recorded) window.__framed.recorder = d.recorded;
    if (d.oia !== undefined && typeof d.event === "string" && ev.source === window) window.__framed.topEvents.push(d.event);
  });
  // Asks the recorder for what it saw (the tests call it).
  window.__askRecorder = () => {
    window.__framed.recorder = null;
    document.getElementById("recorder").contentWindow.postMessage({ dump: 1 }, "*");
  };
})();
