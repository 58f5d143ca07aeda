// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

/**
 * The background's tunables, each with the reason for its value.
 *
 * @module
 */

/** Background configuration. */
export const CONFIG = Object.freeze({
  /**
   * How long a request that may prompt (getTicket, getNewTicket, login) may
   * wait for the host. The host times the passcode and role prompts out
   * itself (pinTimeoutSeconds) and then fails the request with TIMEOUT; this
   * bound only catches a host that never answers.
   */
  INTERACTIVE_TIMEOUT_MS: 15 * 60 * 1000,
  /** Requests that only read state or talk to the broker once. */
  REQUEST_TIMEOUT_MS: 30 * 1000,
  /** status: the host answers from memory. */
  STATUS_TIMEOUT_MS: 10 * 1000,
  /** How long a page request waits for the host's first hello to learn the allow-list. */
  SETTINGS_WAIT_MS: 5 * 1000,
  /** The id of the content script registration. */
  CONTENT_SCRIPT_ID: "oia-page-bridge",
  /** The prompt window's size. */
  PROMPT_WIDTH: 460,
  PROMPT_HEIGHT: 620,
});
