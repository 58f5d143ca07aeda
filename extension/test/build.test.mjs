// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors
//
// The build's pure parts: manifests per browser and reproducible zips.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { manifest } from "../scripts/lib/manifest.mjs";
import { icon, png } from "../scripts/lib/png.mjs";
import { zipDir } from "../scripts/lib/zip.mjs";

const STATIC = join(dirname(fileURLToPath(import.meta.url)), "..", "static");

test("the Chrome manifest: service worker, key, schema, the three permissions", () => {
  const m = manifest("chrome", STATIC, "1.2.3");
  assert.equal(m.manifest_version, 3);
  assert.equal(m.version, "1.2.3");
  assert.deepEqual(m.background, { service_worker: "background.js" });
  assert.equal(m.key, readFileSync(join(STATIC, "dev-key.pub.b64"), "utf8").trim());
  assert.deepEqual(m.storage, { managed_schema: "managed_schema.json" });
  assert.deepEqual(m.permissions, ["nativeMessaging", "storage", "scripting"]);
  assert.equal(m.browser_specific_settings, undefined);
});

test("the Firefox manifest: event page, gecko id, no Chrome-only keys", () => {
  const m = manifest("firefox", STATIC, "1.2.3");
  assert.deepEqual(m.background, { scripts: ["background.js"] });
  assert.equal(m.browser_specific_settings.gecko.id, "identity-agent@openidentityagent.org");
  assert.equal(m.key, undefined);
  assert.equal(m.storage, undefined);
});

test("a malformed VERSION is refused", () => {
  assert.throws(() => manifest("chrome", STATIC, "1.2"), /not x\.y\.z/);
  assert.throws(() => manifest("safari", STATIC, "1.2.3"), /unknown browser/);
});

test("the managed-storage schema follows Chrome's rules", () => {
  const s = JSON.parse(readFileSync(join(STATIC, "managed_schema.json"), "utf8"));
  assert.equal(s.type, "object");
  assert.equal(s.additionalProperties, undefined);
  assert.deepEqual(Object.keys(s.properties).sort(), ["allowFrames", "allowedOrigins", "pinTimeoutSeconds", "promptOnCardInsert"]);
  for (const [k, v] of Object.entries(s.properties)) assert.ok(typeof v.type === "string", `${k} has one type`);
});

test("the en and cy catalogues hold the same messages", () => {
  const en = JSON.parse(readFileSync(join(STATIC, "_locales/en/messages.json"), "utf8"));
  const cy = JSON.parse(readFileSync(join(STATIC, "_locales/cy/messages.json"), "utf8"));
  assert.deepEqual(Object.keys(cy).sort(), Object.keys(en).sort());
  for (const k of Object.keys(en)) assert.deepEqual(cy[k].placeholders, en[k].placeholders, k);
  // Every data-i18n name in the pages exists.
  for (const page of ["prompt.html", "popup.html", "options.html"]) {
    for (const [, name] of readFileSync(join(STATIC, page), "utf8").matchAll(/data-i18n="(\w+)"/g)) {
      assert.ok(name in en, `${page}: ${name}`);
    }
  }
});

test("zips are reproducible: same bytes whatever the files' dates, sorted, valid", () => {
  const dir = mkdtempSync(join(tmpdir(), "oia-zip-"));
  const src = join(dir, "src");
  mkdirSync(join(src, "b"), { recursive: true });
  writeFileSync(join(src, "z.txt"), "zzz\n".repeat(100));
  writeFileSync(join(src, "b", "a.json"), "{}");
  writeFileSync(join(src, "a.bin"), Buffer.from([1, 2, 3]));
  zipDir(src, join(dir, "one.zip"), "1700000000");
  utimesSync(join(src, "z.txt"), new Date(0), new Date(0));
  zipDir(src, join(dir, "two.zip"), "1700000000");
  assert.deepEqual(readFileSync(join(dir, "one.zip")), readFileSync(join(dir, "two.zip")));
  zipDir(src, join(dir, "three.zip"), "1800000000");
  assert.notDeepEqual(readFileSync(join(dir, "one.zip")), readFileSync(join(dir, "three.zip")), "SOURCE_DATE_EPOCH is honoured");
  const listing = execFileSync("unzip", ["-Z1", join(dir, "one.zip")], { encoding: "utf8" }).trim().split("\n");
  assert.deepEqual(listing, ["a.bin", "b/a.json", "z.txt"]);
  execFileSync("unzip", ["-tq", join(dir, "one.zip")]);
  assert.equal(execFileSync("unzip", ["-p", join(dir, "one.zip"), "z.txt"], { encoding: "utf8" }), "zzz\n".repeat(100));
});

test("icons are valid PNGs of the asked size", () => {
  const p = png(16, icon);
  assert.deepEqual([...p.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  assert.equal(p.readUInt32BE(16), 16);
  assert.equal(p.readUInt32BE(20), 16);
});
