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
import * as esbuild from "esbuild";
import { manifest } from "./lib/manifest.mjs";
import { icon, png } from "./lib/png.mjs";
import { zipDir } from "./lib/zip.mjs";

const EXT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const ROOT = resolve(EXT, "..");
const OUT = resolve(process.env.OIA_BUILD_DIR ?? join(ROOT, "build"));
const STATIC = join(EXT, "static");
const BIN = join(EXT, "node_modules", ".bin");

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
    writeFileSync(join(dir, "manifest.json"), JSON.stringify(manifest(browser, STATIC, VERSION), null, 2) + "\n");
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
  // Tests of the build scripts are plain JavaScript and run as they are.
  files.push(...readdirSync(join(EXT, "test")).filter((f) => f.endsWith(".test.mjs")).sort().map((f) => join(EXT, "test", f)));
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
