// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

/**
 * The content script, registered only for allow-listed origins: it relays
 * page requests to the background and replies and events back to the page.
 * It never sees the passcode.
 *
 * @module
 */

import { browserApi } from "../shared/browser.js";
import { startBridge } from "./bridge.js";

function start(): void {
  const api = browserApi();
  startBridge(window, {
    id: api.runtime.id,
    sendMessage: (m) => api.runtime.sendMessage(m),
    onMessage: {
      addListener: (f) => {
        api.runtime.onMessage.addListener((m, sender) => {
          f(m, sender);
          return undefined;
        });
      },
    },
  });
}

// The script is registered for allow-listed pages and also injected into
// tabs already open when the list changes: start the bridge once only.
const g = globalThis as { __oiaBridge?: boolean };
if (g.__oiaBridge !== true) {
  g.__oiaBridge = true;
  start();
}
