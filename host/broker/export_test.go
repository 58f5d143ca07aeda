// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package broker

import "time"

// SetBackoffBase shortens the retry waits, so that retry tests run fast.
func SetBackoffBase(c *Client, d time.Duration) { c.backoffBase = d }
