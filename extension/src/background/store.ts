// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

/**
 * Store is a typed view of storage.session, where the background keeps
 * everything that must survive a service-worker restart (docs/extension.md
 * "State"). It refuses, by type and by a run-time check, to store a field
 * named like a secret.
 *
 * @module
 */

import type { StorageArea } from "../shared/browser.js";
import type { SessionStore } from "../shared/state.js";

const FORBIDDEN = /^(pin|passcode|password|ticket)$/i;

/** Throws when v holds a key that names a secret, at any depth. */
export function assertNoSecrets(v: unknown, depth = 0): void {
  if (depth > 8 || typeof v !== "object" || v === null) return;
  for (const [k, x] of Object.entries(v)) {
    if (FORBIDDEN.test(k)) throw new Error(`refusing to store the secret field ${JSON.stringify(k)}`);
    assertNoSecrets(x, depth + 1);
  }
}

/** A typed storage.session. */
export class Store {
  private readonly area: StorageArea & Required<Pick<StorageArea, "set" | "remove">>;

  /** Wraps a storage area (storage.session, or a fake in tests). */
  constructor(area: StorageArea & Required<Pick<StorageArea, "set" | "remove">>) {
    this.area = area;
  }

  /** Reads every key. */
  async all(): Promise<SessionStore> {
    return (await this.area.get(null));
  }

  /** Reads one key. */
  async get<K extends keyof SessionStore>(key: K): Promise<SessionStore[K]> {
    const r = await this.area.get(key);
    return r[key] as SessionStore[K];
  }

  /** Writes keys; undefined or null values are removed. */
  async set(items: SessionStore): Promise<void> {
    assertNoSecrets(items);
    const put: Record<string, unknown> = {};
    const del: string[] = [];
    for (const [k, v] of Object.entries(items)) {
      if (v === undefined || v === null) del.push(k);
      else put[k] = v;
    }
    if (Object.keys(put).length > 0) await this.area.set(put);
    if (del.length > 0) await this.area.remove(del);
  }
}
