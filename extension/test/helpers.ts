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
