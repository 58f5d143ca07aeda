// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

// The TypeScript mirror of the protocol must match host/protocol (Go): the
// same codes in the same order, the same legacy numbers, the same states.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { ERROR_CODES, errorBody, isErrorCode, normaliseError, STATES } from "../src/shared/protocol.js";
import { PIN_TIMEOUT_BOUNDS } from "../src/shared/state.js";
import { repoRoot } from "./helpers.js";

function goSource(name: string): string {
  return readFileSync(join(repoRoot(), "host", "protocol", name), "utf8");
}

/** The codes of host/protocol/codes.go, in the order of its Codes table, with legacy numbers. */
function goCodes(): [string, number][] {
  const src = goSource("codes.go");
  const names = new Map<string, string>();
  for (const m of src.matchAll(/^\s*(Code\w+)\s+Code\s*=\s*"(\w+)"/gm)) names.set(m[1]!, m[2]!);
  const groups = new Map<string, number>();
  for (const m of src.matchAll(/^\s*(legacy\w+)\s*=\s*(0x[0-9A-Fa-f]+)/gm)) groups.set(m[1]!, Number(m[2]));
  const table = src.slice(src.indexOf("var Codes = []CodeInfo{"));
  const out: [string, number][] = [];
  for (const m of table.matchAll(/^\s*\{(Code\w+),\s*([^,]+),\s*"/gm)) {
    const code = names.get(m[1]!);
    assert.ok(code !== undefined, `codes.go: no constant ${m[1]!}`);
    const expr = m[2]!.trim();
    let legacy: number;
    if (expr === "0") legacy = 0;
    else {
      const g = /^(legacy\w+)\s*\|\s*(0x[0-9A-Fa-f]+)$/.exec(expr);
      assert.ok(g !== null, `codes.go: cannot read legacy number ${expr}`);
      legacy = (groups.get(g[1]!)! | Number(g[2])) >>> 0;
    }
    out.push([code, legacy]);
  }
  return out;
}

test("error codes and legacy numbers match host/protocol/codes.go, in order", () => {
  const go = goCodes();
  assert.ok(go.length >= 31, `read only ${go.length} codes from codes.go`);
  assert.deepEqual(Object.entries(ERROR_CODES), go);
});

test("states match host/protocol/messages.go, in order", () => {
  const src = goSource("messages.go");
  const go = [...src.matchAll(/^\s*State\w+\s+State\s*=\s*"(\w+)"/gm)].map((m) => m[1]);
  assert.deepEqual([...STATES], go);
});

test("errorBody takes the legacy number from the table and bounds the message", () => {
  // The legacy number is the table's, present only when there is one.
  assert.deepEqual(errorBody("PIN_LOCKED", "x"), { code: "PIN_LOCKED", legacyCode: 0x80200004, message: "x" });
  assert.deepEqual(errorBody("PIN_INCORRECT", "y"), { code: "PIN_INCORRECT", message: "y" });
  // A default message stands in for none.
  assert.equal(errorBody("HOST_EXITED").message, "oia-host stopped during the request: try again");
  // A huge message is cut.
  assert.ok(errorBody("INTERNAL", "a".repeat(10_000)).message.length <= 512);
});

test("normaliseError turns anything unknown into INTERNAL", () => {
  const cases: [unknown, string, string][] = [
    // a known code keeps its code and message
    [{ code: "BUSY", message: "later", legacyCode: 1 }, "BUSY", "later"],
    // an unknown code does not reach a page
    [{ code: "SOMETHING_NEW", message: "secret path /home/x" }, "INTERNAL", "internal error in open identity agent: see the host log"],
    // not an object at all
    ["boom", "INTERNAL", "internal error in open identity agent: see the host log"],
    [null, "INTERNAL", "internal error in open identity agent: see the host log"],
  ];
  for (const [input, code, message] of cases) {
    const b = normaliseError(input);
    assert.equal(b.code, code);
    assert.equal(b.message, message);
  }
  // legacyCode always comes from the table, not the sender
  assert.equal(normaliseError({ code: "BUSY", legacyCode: 1 }).legacyCode, 0x80100006);
  assert.equal(isErrorCode("toString"), false);
});

test("the passcode timeout bounds match host/protocol, so the host never refuses a hello", () => {
  const src = goSource("messages.go");
  const min = /MinPINTimeoutSeconds\s*=\s*(\d+)/.exec(src);
  const max = /MaxPINTimeoutSeconds\s*=\s*(\d+)/.exec(src);
  assert.ok(min !== null && max !== null, "messages.go: no passcode timeout bounds");
  assert.deepEqual({ ...PIN_TIMEOUT_BOUNDS }, { min: Number(min[1]), max: Number(max[1]) });
});
