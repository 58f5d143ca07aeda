// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors
//
// The per-browser manifests, from static/manifest.template.json.

import { readFileSync } from "node:fs";
import { join } from "node:path";

/** The Firefox add-on id. */
export const FIREFOX_ID = "identity-agent@openidentityagent.org";

/**
 * The manifest for browser ("chrome" or "firefox"), from the template in
 * staticDir, with version (x.y.z) filled in.
 */
export function manifest(browser, staticDir, version) {
  if (!/^\d+\.\d+\.\d+$/.test(version)) throw new Error(`VERSION ${JSON.stringify(version)} is not x.y.z`);
  const m = JSON.parse(readFileSync(join(staticDir, "manifest.template.json"), "utf8").replace("{{version}}", version));
  if (browser === "chrome") {
    m.key = readFileSync(join(staticDir, "dev-key.pub.b64"), "utf8").trim();
    m.minimum_chrome_version = "121";
    m.background = { service_worker: "background.js" };
    m.storage = { managed_schema: "managed_schema.json" };
  } else if (browser === "firefox") {
    m.background = { scripts: ["background.js"] };
    m.browser_specific_settings = {
      gecko: {
        id: FIREFOX_ID,
        strict_min_version: "140.0",
        data_collection_permissions: { required: ["none"] },
      },
      // Android has no native messaging; this only keeps the lint clean.
      gecko_android: { strict_min_version: "142.0" },
    };
  } else {
    throw new Error(`unknown browser ${JSON.stringify(browser)}`);
  }
  return m;
}
