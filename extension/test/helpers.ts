// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

// Test helpers: the repository root, fake timers, and fakes of the browser
// API pieces the code under test uses.

import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";

/** The repository root (the build script defines it; else found from cwd). */
export function repoRoot(): string {
  const defined = process.env.OIA_REPO_ROOT;
  if (defined !== undefined && defined !== "") return defined;
  let d = process.cwd();
  while (!existsSync(join(d, "VERSION")) || !existsSync(join(d, "host"))) {
    const up = dirname(d);
    if (up === d) throw new Error("cannot find the repository root");
    d = up;
  }
  return resolve(d);
}

interface Timer {
  at: number;
  f: () => void;
  id: number;
}

/** Fake timers: time moves only when the test says so. */
export class FakeTimers {
  now = 0;
  private timers: Timer[] = [];
  private next = 0;

  readonly setTimeout = (f: () => void, ms: number): unknown => {
    const t = { at: this.now + ms, f, id: ++this.next };
    this.timers.push(t);
    return t.id;
  };

  readonly clearTimeout = (h: unknown): void => {
    this.timers = this.timers.filter((t) => t.id !== h);
  };

  /** The delays of pending timers from now, sorted. */
  pending(): number[] {
    return this.timers.map((t) => t.at - this.now).sort((a, b) => a - b);
  }

  /** Moves time forward by ms, firing due timers in order. */
  advance(ms: number): void {
    const end = this.now + ms;
    for (;;) {
      const due = this.timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (due === undefined) break;
      this.timers = this.timers.filter((t) => t !== due);
      this.now = due.at;
      due.f();
    }
    this.now = end;
  }
}

/** Lets queued promise callbacks run. */
export async function flush(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
  await new Promise((r) => setImmediate(r));
}

type Listener<A extends unknown[]> = (...args: A) => void;

/** A fake listener registry. */
export class FakeEvent<A extends unknown[]> {
  listeners: Listener<A>[] = [];
  addListener(f: Listener<A>): void {
    this.listeners.push(f);
  }
  removeListener(f: Listener<A>): void {
    this.listeners = this.listeners.filter((x) => x !== f);
  }
  emit(...args: A): void {
    for (const f of [...this.listeners]) f(...args);
  }
}

/**
 * A fake native port: the test plays the host. sent records every frame the
 * extension posted.
 */
export class FakePort {
  readonly name = "org.openidentityagent.host";
  error: { message?: string } | null = null;
  sent: Record<string, unknown>[] = [];
  disconnected = false;
  readonly onMessage = new FakeEvent<[unknown, FakePort]>();
  readonly onDisconnect = new FakeEvent<[FakePort]>();

  postMessage(m: unknown): void {
    if (this.disconnected) throw new Error("Attempting to use a disconnected port object");
    this.sent.push(JSON.parse(JSON.stringify(m)) as Record<string, unknown>);
  }
  disconnect(): void {
    this.disconnected = true;
  }
  /** The host sends a frame. */
  hostSends(m: unknown): void {
    this.onMessage.emit(m, this);
  }
  /** The host exits, or the browser fails to start it, with message. */
  hostExits(message?: string): void {
    if (message !== undefined) this.error = { message };
    this.disconnected = true;
    this.onDisconnect.emit(this);
  }
  /** The last frame the extension sent. */
  last(): Record<string, unknown> {
    const m = this.sent[this.sent.length - 1];
    if (m === undefined) throw new Error("nothing was sent");
    return m;
  }
}

/** The host's standard hello frame. */
export function hostHello(protocol = "1.0"): Record<string, unknown> {
  return {
    type: "hello",
    protocol,
    version: "0.1.0",
    state: "noCard",
    settings: { allowedOrigins: ["https://*.nhs.uk"], allowFrames: false, promptOnCardInsert: true, pinTimeoutSeconds: 120 },
  };
}

/** A message as FakeWindow delivers it. */
export interface FakeMessageEvent {
  source: unknown;
  origin: string;
  data: unknown;
}

/**
 * A fake window shared by a page and a content script, as in a browser: a
 * postMessage reaches every listener, asynchronously, with source set to
 * the window and the sender's origin. posted records every message with its
 * target origin.
 */
export class FakeWindow {
  readonly location: { origin: string };
  /** self.origin: the location's unless the document is sandboxed. */
  origin: string;
  posted: { data: unknown; targetOrigin: string }[] = [];
  private listeners: ((ev: FakeMessageEvent) => void)[] = [];

  constructor(origin = "https://spine.example.nhs.uk") {
    this.location = { origin };
    this.origin = origin;
  }
  addEventListener(_type: "message", f: (ev: FakeMessageEvent) => void): void {
    this.listeners.push(f);
  }
  removeEventListener(_type: "message", f: (ev: FakeMessageEvent) => void): void {
    this.listeners = this.listeners.filter((x) => x !== f);
  }
  listenerCount(): number {
    return this.listeners.length;
  }
  postMessage(data: unknown, targetOrigin: string): void {
    if (targetOrigin !== "*" && targetOrigin !== this.location.origin) return;
    const cloned = structuredClone(data);
    this.posted.push({ data: cloned, targetOrigin });
    this.deliver({ source: this, origin: this.location.origin, data: cloned });
  }
  /** Delivers an event as if from elsewhere (another frame, say). */
  deliver(ev: FakeMessageEvent): void {
    setImmediate(() => {
      for (const f of [...this.listeners]) f(ev);
    });
  }
}

/**
 * A fake of the browser API surface the background uses. Every storage
 * write and every message to a tab is recorded, so tests can assert what
 * never got there (the passcode, the ticket).
 */
export class FakeBrowser {
  sessionData: Record<string, unknown> = {};
  sessionWrites: unknown[] = [];
  managedData: Record<string, unknown> | Error = new Error("Managed storage manifest not found");
  registered: Record<string, unknown>[] = [];
  injected: number[] = [];
  /** The frames each injection of the content script targeted. */
  injectedFrames: { tabId: number; frameIds?: number[] }[] = [];
  /** Frames besides the top one, by tab, with their self.origin. */
  frames: Record<number, { frameId: number; origin: string }[]> = {};
  refuseFocus = false;
  badge = "";
  title = "";
  tabs: { id: number; url: string }[] = [];
  tabMessages: { tabId: number; message: unknown; frameId?: number }[] = [];
  windowsOpen = new Set<number>();
  windowsCreated: Record<string, unknown>[] = [];
  private nextWindow = 100;
  readonly storageChanged = new FakeEvent<[Record<string, { newValue?: unknown }>, string]>();
  readonly windowRemoved = new FakeEvent<[number]>();
  readonly messageEvent = new FakeEvent<[unknown, unknown, (r: unknown) => void]>();

  readonly api = {
    runtime: {
      id: "ext-id",
      lastError: undefined,
      connectNative: (): never => {
        throw new Error("not in this fake");
      },
      sendMessage: () => Promise.resolve(undefined),
      getURL: (p: string) => "chrome-extension://ext-id/" + p.replace(/^\//, ""),
      getManifest: () => ({ version: "0.1.0" }),
      onMessage: this.messageEvent,
    },
    storage: {
      session: {
        get: (keys?: string | string[] | null) => {
          const all = structuredClone(this.sessionData);
          if (keys === null || keys === undefined) return Promise.resolve(all);
          const ks = typeof keys === "string" ? [keys] : keys;
          return Promise.resolve(Object.fromEntries(ks.filter((k) => k in all).map((k) => [k, all[k]])));
        },
        set: (items: Record<string, unknown>) => {
          this.sessionWrites.push(structuredClone(items));
          Object.assign(this.sessionData, structuredClone(items));
          return Promise.resolve();
        },
        remove: (keys: string | string[]) => {
          for (const k of typeof keys === "string" ? [keys] : keys) Reflect.deleteProperty(this.sessionData, k);
          return Promise.resolve();
        },
      },
      managed: {
        get: () => (this.managedData instanceof Error ? Promise.reject(this.managedData) : Promise.resolve(structuredClone(this.managedData))),
      },
      onChanged: this.storageChanged,
    },
    scripting: {
      registerContentScripts: (s: Record<string, unknown>[]) => {
        this.registered.push(...structuredClone(s));
        return Promise.resolve();
      },
      updateContentScripts: () => Promise.resolve(),
      executeScript: (i: { target: { tabId: number; allFrames?: boolean; frameIds?: number[] }; func?: () => unknown }) => {
        const tab = this.tabs.find((t) => t.id === i.target.tabId);
        if (i.func !== undefined) {
          // Each frame answers self.origin; the top one its URL's.
          const all = [{ frameId: 0, origin: tab === undefined ? "null" : new URL(tab.url).origin }, ...(this.frames[i.target.tabId] ?? [])];
          const picked = all.filter((f) => i.target.allFrames === true || (i.target.frameIds ?? []).includes(f.frameId));
          return Promise.resolve(picked.map((f) => ({ frameId: f.frameId, result: f.origin })));
        }
        this.injected.push(i.target.tabId);
        this.injectedFrames.push({ tabId: i.target.tabId, frameIds: i.target.frameIds });
        return Promise.resolve([]);
      },
      unregisterContentScripts: (f?: { ids?: string[] }) => {
        this.registered = this.registered.filter((s) => !(f?.ids ?? [s.id]).includes(s.id as string));
        return Promise.resolve();
      },
      getRegisteredContentScripts: (f?: { ids?: string[] }) =>
        Promise.resolve(structuredClone(this.registered.filter((s) => f?.ids === undefined || f.ids.includes(s.id as string)))),
    },
    tabs: {
      query: () => Promise.resolve(structuredClone(this.tabs)),
      sendMessage: (tabId: number, message: unknown, options?: { frameId?: number }) => {
        this.tabMessages.push({ tabId, message: structuredClone(message), frameId: options?.frameId });
        return Promise.resolve();
      },
    },
    windows: {
      create: (d: Record<string, unknown>) => {
        this.windowsCreated.push(d);
        const id = ++this.nextWindow;
        this.windowsOpen.add(id);
        return Promise.resolve({ id });
      },
      update: () => (this.refuseFocus ? Promise.reject(new Error("cannot focus")) : Promise.resolve({})),
      remove: (id: number) => {
        this.windowsOpen.delete(id);
        return Promise.resolve();
      },
      get: (id: number) => (this.windowsOpen.has(id) ? Promise.resolve({ id }) : Promise.reject(new Error("No window with id"))),
      onRemoved: this.windowRemoved,
    },
    i18n: { getMessage: (n: string) => n, getUILanguage: () => "en" },
    action: {
      setBadgeText: (d: { text: string }) => {
        this.badge = d.text;
        return Promise.resolve();
      },
      setTitle: (d: { title: string }) => {
        this.title = d.title;
        return Promise.resolve();
      },
    },
  };

  /** Everything that ever went into storage or to a tab, as text. */
  everythingStoredOrSent(): string {
    return JSON.stringify([this.sessionWrites, this.sessionData, this.tabMessages]);
  }
}
