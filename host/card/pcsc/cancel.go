// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package pcsc

import "time"

// CancelUntil ends a wait that another goroutine runs on c: it calls
// c.Cancel every every until done is closed (the waiting goroutine has
// returned), for at most within, and reports whether done was closed.
// One Cancel is not enough: pcsc-lite's SCardCancel ends only an
// SCardGetStatusChange already blocked (src/winscard_clnt.c) and returns
// at once otherwise, so a Cancel issued before the goroutine entered the
// call is lost. Release the context only after it returned true: releasing
// it under a call in progress frees what libpcsclite is still using.
func CancelUntil(c interface{ Cancel() error }, done <-chan struct{}, every, within time.Duration) bool {
	deadline := time.NewTimer(within)
	defer deadline.Stop()
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		_ = c.Cancel()
		select {
		case <-done:
			return true
		case <-deadline.C:
			return false
		case <-tick.C:
		}
	}
}
