// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

/**
 * The subset of the WebExtension API that OIA uses, typed by hand (as Web eID
 * does) so that the same code runs on `browser` (Firefox) and `chrome`
 * (Chrome, Edge), both promise-based in Manifest V3, and so that unit tests
 * can pass fakes that implement exactly this surface.
 *
 * @module
 */

/** A listener registry, like `chrome.events.Event`. */
export interface EventSource<F extends (...args: never[]) => unknown> {
  addListener(f: F): void;
  removeListener(f: F): void;
}

/** A native-messaging or runtime port. */
export interface Port {
  readonly name: string;
  /** Firefox sets this on a port that closed with an error. */
  readonly error?: { message?: string } | null;
  postMessage(message: unknown): void;
  disconnect(): void;
  readonly onMessage: EventSource<(message: unknown, port: Port) => void>;
  readonly onDisconnect: EventSource<(port: Port) => void>;
}

/** Who sent a runtime message. */
export interface MessageSender {
  id?: string;
  url?: string;
  origin?: string;
  frameId?: number;
  documentId?: string;
  tab?: { id?: number; url?: string; windowId?: number };
}

/** A browser tab, as tabs.query returns it. */
export interface Tab {
  id?: number;
  url?: string;
  windowId?: number;
}

/** A registered content script. */
export interface RegisteredContentScript {
  id: string;
  matches?: string[];
  excludeMatches?: string[];
  js?: string[];
  allFrames?: boolean;
  runAt?: "document_start" | "document_end" | "document_idle";
  persistAcrossSessions?: boolean;
}

/** A storage area. */
export interface StorageArea {
  get(keys?: string | string[] | null): Promise<Record<string, unknown>>;
  set?(items: Record<string, unknown>): Promise<void>;
  remove?(keys: string | string[]): Promise<void>;
}

/** A change in a storage area. */
export type StorageChanges = Partial<Record<string, { oldValue?: unknown; newValue?: unknown }>>;

/** The API surface OIA uses. */
export interface BrowserApi {
  runtime: {
    readonly id: string;
    readonly lastError?: { message?: string } | undefined;
    connectNative(application: string): Port;
    sendMessage(message: unknown): Promise<unknown>;
    getURL(path: string): string;
    getManifest(): { version: string };
    openOptionsPage?(): Promise<void>;
    readonly onMessage: EventSource<
      (message: unknown, sender: MessageSender, sendResponse: (response: unknown) => void) => boolean | undefined | Promise<unknown>
    >;
    readonly onStartup?: EventSource<() => void>;
    readonly onInstalled?: EventSource<() => void>;
  };
  storage: {
    readonly session: StorageArea & Required<Pick<StorageArea, "set" | "remove">>;
    readonly managed: StorageArea;
    readonly onChanged: EventSource<(changes: StorageChanges, areaName: string) => void>;
  };
  scripting: {
    registerContentScripts(scripts: RegisteredContentScript[]): Promise<unknown>;
    updateContentScripts(scripts: RegisteredContentScript[]): Promise<unknown>;
    unregisterContentScripts(filter?: { ids?: string[] }): Promise<unknown>;
    getRegisteredContentScripts(filter?: { ids?: string[] }): Promise<RegisteredContentScript[]>;
    executeScript(injection: {
      target: { tabId: number; allFrames?: boolean; frameIds?: number[] };
      files?: string[];
      func?: () => unknown;
    }): Promise<{ frameId?: number; result?: unknown }[]>;
  };
  tabs: {
    query(info: Record<string, unknown>): Promise<Tab[]>;
    sendMessage(tabId: number, message: unknown, options?: { frameId?: number }): Promise<unknown>;
  };
  windows: {
    create(data: Record<string, unknown>): Promise<{ id?: number }>;
    update(windowId: number, data: Record<string, unknown>): Promise<unknown>;
    remove(windowId: number): Promise<void>;
    get(windowId: number): Promise<{ id?: number }>;
    readonly onRemoved: EventSource<(windowId: number) => void>;
  };
  i18n: {
    getMessage(name: string, substitutions?: string | string[]): string;
    getUILanguage(): string;
  };
  action?: {
    setBadgeText(details: { text: string }): Promise<void>;
    setBadgeBackgroundColor?(details: { color: string }): Promise<void>;
    setTitle?(details: { title: string }): Promise<void>;
  };
}

/**
 * Returns the browser's extension API: `browser` where it exists (Firefox,
 * and Chrome from the version that adds it), else `chrome`.
 */
export function browserApi(): BrowserApi {
  const g = globalThis as unknown as { browser?: BrowserApi; chrome?: BrowserApi };
  const api = g.browser ?? g.chrome;
  if (api === undefined) throw new Error("no webextension api in this context");
  return api;
}

/** Returns the message of an error of any kind, for logs. */
export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message;
  if (typeof e === "object" && e !== null && typeof (e as { message?: unknown }).message === "string") {
    return (e as { message: string }).message;
  }
  return String(e);
}
