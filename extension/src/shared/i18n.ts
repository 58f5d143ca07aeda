// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

/**
 * Localised text for the extension's pages (_locales/en, _locales/cy),
 * through the browser's i18n API.
 *
 * @module
 */

import type { BrowserApi } from "./browser.js";

/** Returns the message name in the UI language, with substitutions. */
export function t(api: BrowserApi, name: string, ...subs: (string | number)[]): string {
  const m = api.i18n.getMessage(name, subs.map(String));
  return m !== "" ? m : name;
}

/**
 * Fills every element with a data-i18n attribute with its message, and sets
 * the document's language to the UI language.
 */
export function localise(api: BrowserApi, doc: Document): void {
  const lang = api.i18n.getUILanguage();
  doc.documentElement.lang = lang.toLowerCase().startsWith("cy") ? "cy" : "en";
  for (const el of doc.querySelectorAll<HTMLElement>("[data-i18n]")) {
    const name = el.dataset.i18n;
    if (name !== undefined) el.textContent = t(api, name);
  }
}
