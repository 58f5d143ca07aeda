// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors
// Counts trusted key events, so a test can tell typing from setting .value.
let keys = 0;
document.getElementById("passcode").addEventListener("keydown", (ev) => {
  if (ev.isTrusted) document.getElementById("keys").textContent = String(++keys);
});
document.getElementById("submit").addEventListener("click", (ev) => {
  document.getElementById("result").textContent =
    `${ev.isTrusted ? "trusted" : "untrusted"}:${document.getElementById("passcode").value}`;
});
