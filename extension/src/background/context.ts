// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

/**
 * Context gathers what the actions need: the browser API, the host
 * connection, storage, the effective settings and allow-list, the content
 * script registration, page events and the prompt window. Actions take a
 * Context, so unit tests can build one from fakes.
 *
 * @module
 */

import type { BrowserApi } from "../shared/browser.js";
import { errorMessage } from "../shared/browser.js";
import { AllowList } from "../shared/origin.js";
import type { HostSettings, PageEvent } from "../shared/protocol.js";
import {
  effectiveSettings,
  parsePolicy,
  type ContentEventMessage,
  type EffectiveSettings,
  type Policy,
  type PromptRecord,
} from "../shared/state.js";
import { CONFIG } from "./config.js";
import type { HostFrame } from "./services/NativeHost.js";
import { Store } from "./store.js";

/** The part of NativeHost the actions use. */
export interface HostPort {
  request(type: string, fields: Record<string, unknown>, timeoutMs: number): Promise<HostFrame>;
  /** Resolves when the host is ready or known to be unavailable, or after ms. */
  settled(ms: number): Promise<void>;
}

/** Effective settings with the parsed allow-list. */
export interface Settings extends EffectiveSettings {
  allow: AllowList;
  /**
   * The host's own list, when a policy's list replaced it: a page must be
   * on both (the host checks its list again, for everything it says about
   * the user), so a request the host would refuse is refused here first.
   */
  hostAllow?: AllowList;
}

/** The background's shared services. */
export class Context {
  readonly api: BrowserApi;
  readonly host: HostPort;
  readonly store: Store;
  /** The extension's own origin, e.g. chrome-extension://<id>. */
  readonly extensionOrigin: string;
  private registering: Promise<void> = Promise.resolve();
  private policyRead: Promise<Policy> | undefined;

  /** Builds a context. */
  constructor(api: BrowserApi, host: HostPort) {
    this.api = api;
    this.host = host;
    this.store = new Store(api.storage.session);
    this.extensionOrigin = new URL(api.runtime.getURL("/")).origin;
  }

  /**
   * Reads the browser policy (storage.managed); {} when there is none. The
   * value is kept until forgetPolicy (storage.onChanged for "managed"), so
   * that a page request does not pay a policy read each time.
   */
  policy(): Promise<Policy> {
    this.policyRead ??= this.api.storage.managed.get(null).then(parsePolicy, () => {
      // Firefox rejects when no policy exists; Chrome without a schema too.
      return {};
    });
    return this.policyRead;
  }

  /** Forgets the policy read, after the browser reported a change. */
  forgetPolicy(): void {
    this.policyRead = undefined;
  }

  /**
   * The effective settings. When neither the policy nor a host hello has
   * given an allow-list yet, it waits (bounded) for the host first, so that
   * a page is not judged by the default list.
   */
  async settings(waitForHost = true): Promise<Settings> {
    const policy = await this.policy();
    let hostSettings = await this.store.get("hostSettings");
    if (waitForHost && policy.allowedOrigins === undefined && (hostSettings === undefined || hostSettings === null)) {
      await this.host.settled(CONFIG.SETTINGS_WAIT_MS);
      hostSettings = await this.store.get("hostSettings");
    }
    return withAllowList(policy, hostSettings);
  }

  /**
   * Registers the content script for exactly the allow-listed origins (or
   * unregisters it when the list is empty). Calls are serialised.
   */
  syncContentScripts(s: Settings): Promise<void> {
    const next = this.registering.then(() => this.doSync(s)).catch((e: unknown) => {
      console.warn(`oia: cannot register the content script: ${errorMessage(e)}`);
    });
    this.registering = next;
    return next;
  }

  private async doSync(s: Settings): Promise<void> {
    const id = CONFIG.CONTENT_SCRIPT_ID;
    const { matches, excludeMatches } = s.allow.matchPatterns();
    const existing = await this.api.scripting.getRegisteredContentScripts({ ids: [id] });
    // Until the policy or a host hello gives the list, keep what was
    // registered before (it persists across browser restarts); register the
    // defaults only when nothing is.
    if (s.sources.allowedOrigins === "default" && existing.length > 0) return;
    if (matches.length === 0) {
      if (existing.length > 0) await this.api.scripting.unregisterContentScripts({ ids: [id] });
      return;
    }
    const script = {
      id,
      matches,
      excludeMatches,
      js: ["content.js"],
      runAt: "document_start" as const,
      allFrames: s.allowFrames,
      persistAcrossSessions: true,
    };
    const cur = existing[0];
    if (cur !== undefined) {
      const same =
        JSON.stringify([...(cur.matches ?? [])].sort()) === JSON.stringify(matches) &&
        JSON.stringify([...(cur.excludeMatches ?? [])].sort()) === JSON.stringify(excludeMatches) &&
        (cur.allFrames ?? false) === s.allowFrames;
      if (same) return;
      await this.api.scripting.unregisterContentScripts({ ids: [id] });
    }
    await this.api.scripting.registerContentScripts([script]);
    await this.injectIntoOpenTabs(s);
  }

  /**
   * The frames of a tab whose own origin is allowed: the top document
   * (frame 0) and, when policy allows frames, any other. Each frame's origin
   * is read inside it (self.origin, which is "null" in a sandboxed
   * document), never inferred from the tab's URL, so a third-party frame
   * in an allowed tab, or a tab that navigated away, is left out.
   */
  private async allowedFrames(tabId: number, tabUrl: string | undefined, s: Settings): Promise<{ frameId: number; origin: string }[]> {
    if (!allows(s, tabUrl)) return [];
    let results;
    try {
      results = await this.api.scripting.executeScript({
        target: s.allowFrames ? { tabId, allFrames: true } : { tabId, frameIds: [0] },
        func: () => self.origin,
      });
    } catch {
      return []; // a tab that is loading or closing, or one we may not touch
    }
    const frames: { frameId: number; origin: string }[] = [];
    for (const r of Array.isArray(results) ? results : []) {
      const o = r.result;
      if (typeof r.frameId !== "number" || typeof o !== "string" || o === "null") continue;
      if (r.frameId !== 0 && !s.allowFrames) continue;
      if (allows(s, o)) frames.push({ frameId: r.frameId, origin: o });
    }
    return frames;
  }

  /**
   * Injects the content script into tabs that were already open on an
   * allow-listed origin when the list changed (at install, on a new host
   * hello or policy), so their pages need no reload: into each frame whose
   * own origin is allowed, never into every frame of the tab. The script
   * starts only once per document.
   */
  private async injectIntoOpenTabs(s: Settings): Promise<void> {
    let tabs;
    try {
      tabs = await this.api.tabs.query({});
    } catch {
      return;
    }
    await Promise.all(
      tabs.map(async (t) => {
        if (t.id === undefined) return;
        const frameIds = (await this.allowedFrames(t.id, t.url, s)).map((f) => f.frameId);
        if (frameIds.length === 0) return;
        try {
          await this.api.scripting.executeScript({ target: { tabId: t.id, frameIds }, files: ["content.js"] });
        } catch {
          // a tab that is loading or closing; its next load gets the script
        }
      }),
    );
  }

  /**
   * Pushes a page event to each frame whose own origin is allowed, in
   * tabs whose top document is on the allow-list: frame 0, and other
   * frames only when policy allows frames. Frames without the content
   * script refuse; that is fine.
   */
  async broadcast(event: PageEvent): Promise<void> {
    const s = await this.settings(false);
    let tabs;
    try {
      tabs = await this.api.tabs.query({});
    } catch {
      return;
    }
    await Promise.all(
      tabs.map(async (t) => {
        if (t.id === undefined) return;
        const tabId = t.id;
        for (const { frameId, origin } of await this.allowedFrames(tabId, t.url, s)) {
          const msg: ContentEventMessage = { kind: "oia.event", event, origin };
          try {
            await this.api.tabs.sendMessage(tabId, msg, { frameId });
          } catch {
            // no content script in that frame (yet)
          }
        }
      }),
    );
  }

  /**
   * Shows the login state on the toolbar button: a tick while logged in, a
   * "!" while the host is unavailable, and the state in the tooltip.
   */
  async showState(state: string | undefined, hostDown = false): Promise<void> {
    const action = this.api.action;
    if (action === undefined) return;
    const name = state === undefined ? "stateUnknown" : "state" + state.charAt(0).toUpperCase() + state.slice(1);
    const title = `${this.api.i18n.getMessage("extName")}: ${this.api.i18n.getMessage(name)}`;
    try {
      await action.setBadgeText({ text: hostDown ? "!" : state === "loggedIn" ? "✓" : "" });
      await action.setBadgeBackgroundColor?.({ color: hostDown ? "#d5281b" : "#007f3b" });
      await action.setTitle?.({ title });
    } catch {
      // the toolbar button is decoration
    }
  }

  /** Stores the prompt and opens the prompt window, or focuses it. */
  async showPrompt(p: PromptRecord): Promise<void> {
    await this.store.set({ prompt: p });
    const id = await this.store.get("promptWindow");
    if (typeof id === "number") {
      let open = true;
      try {
        await this.api.windows.get(id);
      } catch {
        open = false; // it was closed behind our back
      }
      if (open) {
        try {
          await this.api.windows.update(id, { focused: true });
        } catch {
          // focusing is best effort (a headless or tiling window manager may refuse)
        }
        return;
      }
    }
    const w = await this.api.windows.create({
      url: this.api.runtime.getURL("prompt.html"),
      type: "popup",
      width: CONFIG.PROMPT_WIDTH,
      height: CONFIG.PROMPT_HEIGHT,
      focused: true,
    });
    if (typeof w.id === "number") await this.store.set({ promptWindow: w.id });
  }

  /**
   * Forgets the prompt and closes its window. The window id is forgotten
   * first, so that closing it is not taken for the user's cancel.
   */
  async closePrompt(): Promise<void> {
    const id = await this.store.get("promptWindow");
    await this.store.set({ prompt: null, promptWindow: null });
    if (typeof id === "number") {
      try {
        await this.api.windows.remove(id);
      } catch {
        // already closed
      }
    }
  }
}

/**
 * Whether a page at origin (or URL) may be served and told events: on the
 * effective list and, when a policy's list replaced the host's, on the
 * host's too.
 */
export function allows(s: Settings, origin: string | undefined): boolean {
  return s.allow.match(origin) !== undefined && (s.hostAllow === undefined || s.hostAllow.match(origin) !== undefined);
}

/** Combines policy and host settings and parses the allow-list. */
export function withAllowList(policy: Policy, host: HostSettings | null | undefined): Settings {
  const e = effectiveSettings(policy, host);
  const allow = new AllowList(e.allowedOrigins);
  const out: Settings = { ...e, allow, invalid: [...allow.invalid] };
  if (e.sources.allowedOrigins === "policy" && host !== null && host !== undefined) {
    out.hostAllow = new AllowList(host.allowedOrigins);
  }
  return out;
}
