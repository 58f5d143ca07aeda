// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

(() => {
  const seen = [];
  window.addEventListener("message", (ev) => {
    const d = ev.data;
    if (d && typeof d === "object" && d.dump === 1) {
      window.parent.postMessage({ recorded: { seen } }, "*");
      return;
    }
    if (d && typeof d === "object" && d.oia !== undefined) seen.push(d);
  });
})();
