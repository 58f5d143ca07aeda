// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

/**
 * The options page: the effective settings and where each came from
 * (browser policy, oia-host's configuration, or the default). Nothing can be
 * changed here: policy values are the administrator's.
 *
 * @module
 */

import { browserApi } from "../shared/browser.js";
import { localise, t } from "../shared/i18n.js";
import type { EffectiveSettings, SessionStore, SettingSource } from "../shared/state.js";

const api = browserApi();

function el(id: string): HTMLElement {
  const e = document.getElementById(id);
  if (e === null) throw new Error(`options.html has no #${id}`);
  return e;
}

const SOURCE: Record<SettingSource, string> = { policy: "sourcePolicy", host: "sourceHost", default: "sourceDefault" };

async function load(): Promise<void> {
  const r = (await api.runtime.sendMessage({ kind: "overview" })) as {
    ok: boolean;
    settings?: EffectiveSettings;
    store?: SessionStore;
  };
  if (!r.ok || r.settings === undefined) return;
  const s = r.settings;
  const rows: [string, string, SettingSource][] = [
    ["allowedOrigins", s.allowedOrigins.join("\n"), s.sources.allowedOrigins],
    ["allowFrames", t(api, s.allowFrames ? "yes" : "no"), s.sources.allowFrames],
    ["promptOnCardInsert", t(api, s.promptOnCardInsert ? "yes" : "no"), s.sources.promptOnCardInsert],
    ["pinTimeoutSeconds", String(s.pinTimeoutSeconds), s.sources.pinTimeoutSeconds],
  ];
  const body = el("settings");
  body.replaceChildren(
    ...rows.map(([name, value, source]) => {
      const tr = document.createElement("tr");
      const th = document.createElement("th");
      th.scope = "row";
      const code = document.createElement("code");
      code.textContent = name;
      th.append(code);
      const v = document.createElement("td");
      v.style.whiteSpace = "pre-line";
      v.textContent = value;
      const src = document.createElement("td");
      src.textContent = t(api, SOURCE[source]);
      tr.append(th, v, src);
      return tr;
    }),
  );
  el("invalid-section").hidden = s.invalid.length === 0;
  el("invalid").replaceChildren(
    ...s.invalid.map((i) => {
      const li = document.createElement("li");
      li.textContent = `${i.entry}: ${i.reason}`;
      return li;
    }),
  );
  el("host-version").textContent = r.store?.hostInfo?.version ?? "—";
}

localise(api, document);
void load();
