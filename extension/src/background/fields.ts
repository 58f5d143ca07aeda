// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

/**
 * Bounded readers for the fields of the host's frames, which arrive as
 * untyped JSON: each gives the value only when it has the right type and
 * fits its bound.
 *
 * @module
 */

/** v when it is a string of at most max characters. */
export function str(v: unknown, max = 2048): string | undefined {
  return typeof v === "string" && v.length <= max ? v : undefined;
}

/** v when it is an integer in [min, max], else dflt. */
export function int(v: unknown, min: number, max: number, dflt: number): number {
  return typeof v === "number" && Number.isInteger(v) && v >= min && v <= max ? v : dflt;
}
