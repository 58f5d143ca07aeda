// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

// Package logging gives the host its logger: logrus writing JSON lines to a
// per-user file, rotated by size, with every entry scrubbed of secrets
// before it is formatted.
//
// Standard output is the native-messaging channel, so nothing here ever
// writes to it. The log goes to the file from [DefaultPath] (or
// [Options.Path]); when that file cannot be opened or written, the logger
// says so once on standard error and continues there, because the browser
// keeps the host's standard error. A failing log never stops the host.
//
// # Redaction
//
// The first hook on every logger from [New] and [Discard] removes
// passcodes, SSO tickets, challenges, signatures and CMS blobs:
//
//   - a field whose name contains pin, passcode, password, ticket,
//     challenge, signature, response, cms or token (in any case, anywhere in
//     the name, so sso_ticket and userPIN too) becomes "[REDACTED]" whatever
//     its type. Name harmless fields without these words: "status", not
//     "response_status";
//   - every other string, error, fmt.Stringer and the message go through
//     [Redact]; maps and slices are copied and scrubbed to any depth, and
//     other values are scrubbed as their JSON form; []byte values are
//     dropped;
//   - strings are then cut to 16 KiB.
//
// [Redact] is the same text scrubbing, for anything printed elsewhere.
//
// # Rotation and concurrency
//
// A logger is safe for concurrent use. The file is opened with O_APPEND
// and each entry is one Write, so several host processes can append to the
// same file without mixing lines. Before a write that would take the file
// past [Options.MaxSize] (and at open when it already is), host.log is
// renamed host.log.1, host.log.1 becomes host.log.2, and so on up to
// [Options.Backups]; the oldest is dropped. Rotation happens under a lock
// on host.log.lock (flock, LockFileEx), and a process that finds the file
// rotated by another one only reopens it, so two host processes (Chrome and
// Firefox open, say) never rotate twice or lose a backup. A file may exceed
// the cap by a line when two processes write at the same instant.
package logging
