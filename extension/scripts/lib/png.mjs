// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors
//
// The toolbar icons, drawn here so that no binary lives in the repository.

import { crc32, deflateRawSync } from "node:zlib";

export function png(size, pixel) {
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

export function icon(x, y) {
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

