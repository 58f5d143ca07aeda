// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors
//
// The extension's one build script.
//
//   node scripts/build.mjs build   bundle, write build/chrome, build/firefox,
//                                  their zips, and dist/page/oia.{js,d.ts}
//   node scripts/build.mjs test    compile test/*.test.ts and run node --test
//   node scripts/build.mjs lint    eslint, tsc --noEmit, web-ext lint
//
// Output is deterministic: no timestamps, zip entries sorted, every entry
// dated SOURCE_DATE_EPOCH (default 1980-01-01), so the zips are reproducible.

import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync, copyFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { deflateRawSync, crc32 } from "node:zlib";
import * as esbuild from "esbuild";

const EXT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const ROOT = resolve(EXT, "..");
const OUT = resolve(process.env.OIA_BUILD_DIR ?? join(ROOT, "build"));
const STATIC = join(EXT, "static");
const BIN = join(EXT, "node_modules", ".bin");

const CHROME_EXTENSION_KEY = readFileSync(join(STATIC, "dev-key.pub.b64"), "utf8").trim();
const FIREFOX_ID = "identity-agent@openidentityagent.org";
const VERSION = readFileSync(join(ROOT, "VERSION"), "utf8").trim();

function log(msg) {
  process.stderr.write(`extension: ${msg}\n`);
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: "inherit", cwd: EXT, ...opts });
  if (r.status !== 0) {
    throw new Error(`${cmd} ${args.join(" ")} failed (${r.status ?? r.signal})`);
  }
}

/** The manifest for one browser, from the one template. */
export function manifest(browser) {
  if (!/^\d+\.\d+\.\d+$/.test(VERSION)) throw new Error(`VERSION ${JSON.stringify(VERSION)} is not x.y.z`);
  const m = JSON.parse(readFileSync(join(STATIC, "manifest.template.json"), "utf8").replace("{{version}}", VERSION));
  if (browser === "chrome") {
    m.key = CHROME_EXTENSION_KEY;
    m.minimum_chrome_version = "121";
    m.background = { service_worker: "background.js" };
    m.storage = { managed_schema: "managed_schema.json" };
  } else {
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
  }
  return m;
}

const ENTRIES = {
  "background.js": "src/background/background.ts",
  "content.js": "src/content/content.ts",
  "prompt.js": "src/prompt/prompt.ts",
  "popup.js": "src/popup/popup.ts",
  "options.js": "src/options/options.ts",
};

const STATIC_FILES = ["prompt.html", "popup.html", "options.html", "style.css"];

async function bundle(dir) {
  for (const [out, src] of Object.entries(ENTRIES)) {
    await esbuild.build({
      entryPoints: [join(EXT, src)],
      outfile: join(dir, out),
      bundle: true,
      format: "iife",
      target: ["chrome121", "firefox128"],
      platform: "browser",
      charset: "utf8",
      legalComments: "none",
      logLevel: "warning",
    });
  }
}

function copyDir(src, dst) {
  mkdirSync(dst, { recursive: true });
  for (const name of readdirSync(src).sort()) {
    const s = join(src, name);
    const d = join(dst, name);
    if (statSync(s).isDirectory()) copyDir(s, d);
    else copyFileSync(s, d);
  }
}

// --- icons: drawn here, so no binary lives in the repository -------------

function png(size, pixel) {
  const raw = Buffer.alloc((size * 4 + 1) * size);
  for (let y = 0; y < size; y++) {
    raw[y * (size * 4 + 1)] = 0;
    for (let x = 0; x < size; x++) {
      const [r, g, b, a] = pixel(x / size, y / size);
      const o = y * (size * 4 + 1) + 1 + x * 4;
      raw[o] = r; raw[o + 1] = g; raw[o + 2] = b; raw[o + 3] = a;
    }
  }
  const chunk = (type, data) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, "ascii"), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(td) >>> 0);
    return Buffer.concat([len, td, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr[8] = 8; ihdr[9] = 6; ihdr[10] = 0; ihdr[11] = 0; ihdr[12] = 0;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", deflateRawSyncZlib(raw)),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

function deflateRawSyncZlib(buf) {
  // PNG wants a zlib stream: header, raw deflate, Adler-32.
  const body = deflateRawSync(buf, { level: 9 });
  let a = 1, b = 0;
  for (const x of buf) { a = (a + x) % 65521; b = (b + a) % 65521; }
  const adler = Buffer.alloc(4);
  adler.writeUInt32BE(((b << 16) | a) >>> 0);
  return Buffer.concat([Buffer.from([0x78, 0xda]), body, adler]);
}

function icon(x, y) {
  // An NHS-blue rounded square with a white smartcard and its gold chip.
  const blue = [0, 94, 184, 255];
  const r = 0.18;
  const cx = Math.min(Math.max(x, r), 1 - r), cy = Math.min(Math.max(y, r), 1 - r);
  if ((x - cx) ** 2 + (y - cy) ** 2 > r * r) return [0, 0, 0, 0];
  if (x > 0.16 && x < 0.84 && y > 0.27 && y < 0.73) {
    if (x > 0.24 && x < 0.44 && y > 0.38 && y < 0.56) return [255, 184, 28, 255];
    return [255, 255, 255, 255];
  }
  return blue;
}

// --- zip -------------------------------------------------------------------

function dosTime(epochSeconds) {
  const d = new Date(Math.max(epochSeconds, 315532800) * 1000);
  const time = (d.getUTCHours() << 11) | (d.getUTCMinutes() << 5) | Math.floor(d.getUTCSeconds() / 2);
  const date = ((d.getUTCFullYear() - 1980) << 9) | ((d.getUTCMonth() + 1) << 5) | d.getUTCDate();
  return { time, date };
}

function listFiles(dir, base = dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...listFiles(p, base));
    else out.push(relative(base, p).split("\\").join("/"));
  }
  return out.sort();
}

/** Writes a reproducible zip of dir: sorted entries, fixed dates and modes. */
export function zipDir(dir, outFile) {
  const epoch = Number.parseInt(process.env.SOURCE_DATE_EPOCH ?? "315532800", 10);
  const { time, date } = dosTime(Number.isFinite(epoch) ? epoch : 315532800);
  const locals = [];
  const centrals = [];
  let offset = 0;
  for (const name of listFiles(dir)) {
    const data = readFileSync(join(dir, name));
    const comp = deflateRawSync(data, { level: 9 });
    const useDeflate = comp.length < data.length;
    const body = useDeflate ? comp : data;
    const crc = crc32(data) >>> 0;
    const fname = Buffer.from(name, "utf8");
    const lh = Buffer.alloc(30);
    lh.writeUInt32LE(0x04034b50, 0);
    lh.writeUInt16LE(20, 4);
    lh.writeUInt16LE(0x0800, 6); // UTF-8 names
    lh.writeUInt16LE(useDeflate ? 8 : 0, 8);
    lh.writeUInt16LE(time, 10);
    lh.writeUInt16LE(date, 12);
    lh.writeUInt32LE(crc, 14);
    lh.writeUInt32LE(body.length, 18);
    lh.writeUInt32LE(data.length, 22);
    lh.writeUInt16LE(fname.length, 26);
    lh.writeUInt16LE(0, 28);
    locals.push(lh, fname, body);
    const ch = Buffer.alloc(46);
    ch.writeUInt32LE(0x02014b50, 0);
    ch.writeUInt16LE((3 << 8) | 20, 4); // made by Unix, so the mode below counts
    ch.writeUInt16LE(20, 6);
    ch.writeUInt16LE(0x0800, 8);
    ch.writeUInt16LE(useDeflate ? 8 : 0, 10);
    ch.writeUInt16LE(time, 12);
    ch.writeUInt16LE(date, 14);
    ch.writeUInt32LE(crc, 16);
    ch.writeUInt32LE(body.length, 20);
    ch.writeUInt32LE(data.length, 24);
    ch.writeUInt16LE(fname.length, 28);
    ch.writeUInt32LE((0o100644 << 16) >>> 0, 38);
    ch.writeUInt32LE(offset, 42);
    centrals.push(ch, fname);
    offset += 30 + fname.length + body.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  const count = centrals.length / 2;
  end.writeUInt16LE(count, 8);
  end.writeUInt16LE(count, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  writeFileSync(outFile, Buffer.concat([...locals, cd, end]));
}

// --- targets ---------------------------------------------------------------

async function build() {
  const icons = new Map([16, 32, 48, 128].map((s) => [s, png(s, icon)]));
  for (const browser of ["chrome", "firefox"]) {
    const dir = join(OUT, browser);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(join(dir, "icons"), { recursive: true });
    await bundle(dir);
    for (const f of STATIC_FILES) copyFileSync(join(STATIC, f), join(dir, f));
    copyDir(join(STATIC, "_locales"), join(dir, "_locales"));
    if (browser === "chrome") copyFileSync(join(STATIC, "managed_schema.json"), join(dir, "managed_schema.json"));
    for (const [s, data] of icons) writeFileSync(join(dir, "icons", `${s}.png`), data);
    writeFileSync(join(dir, "manifest.json"), JSON.stringify(manifest(browser), null, 2) + "\n");
    const zip = join(OUT, browser === "chrome" ? "oia-chrome.zip" : "oia-firefox.xpi");
    zipDir(dir, zip);
    log(`wrote ${relative(ROOT, dir)}/ and ${relative(ROOT, zip)}`);
  }
  // The page library: an ES module and its declarations.
  const page = join(EXT, "dist", "page");
  rmSync(page, { recursive: true, force: true });
  await esbuild.build({
    entryPoints: [join(EXT, "src/page/oia.ts")],
    outfile: join(page, "oia.js"),
    bundle: true,
    format: "esm",
    target: ["es2020"],
    platform: "browser",
    legalComments: "inline",
    logLevel: "warning",
  });
  run(join(BIN, "tsc"), [
    "--declaration", "--emitDeclarationOnly", "--noEmit", "false", "--skipLibCheck",
    "--target", "ES2022", "--module", "ES2022", "--moduleResolution", "bundler", "--lib", "ES2023,DOM",
    "--strict", "--outDir", page, join(EXT, "src/page/oia.ts"),
  ]);
  log(`wrote ${relative(ROOT, page)}/oia.js and oia.d.ts`);
}

async function test() {
  const out = join(OUT, "extension-test");
  rmSync(out, { recursive: true, force: true });
  const tests = readdirSync(join(EXT, "test")).filter((f) => f.endsWith(".test.ts")).sort();
  await esbuild.build({
    entryPoints: tests.map((f) => join(EXT, "test", f)),
    outdir: out,
    outExtension: { ".js": ".mjs" },
    bundle: true,
    format: "esm",
    platform: "node",
    target: ["node20"],
    sourcemap: "inline",
    logLevel: "warning",
    define: { "process.env.OIA_REPO_ROOT": JSON.stringify(ROOT) },
  });
  const files = tests.map((f) => join(out, f.replace(/\.ts$/, ".mjs")));
  run(process.execPath, ["--test", "--test-reporter=spec", ...files]);
}

function lint() {
  run(join(BIN, "eslint"), ["--max-warnings=0", "."]);
  run(join(BIN, "tsc"), ["--noEmit", "-p", "tsconfig.json"]);
  run(join(BIN, "web-ext"), ["lint", "--source-dir", join(OUT, "firefox"), "--warnings-as-errors", "--no-config-discovery"]);
}

const target = process.argv[2] ?? "build";
try {
  if (target === "build") await build();
  else if (target === "test") await test();
  else if (target === "lint") lint();
  else throw new Error(`unknown target ${JSON.stringify(target)}: use build, test or lint`);
} catch (e) {
  log(e instanceof Error ? e.message : String(e));
  process.exit(1);
}
