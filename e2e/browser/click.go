// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package browser

import (
	"context"
	"strings"
)

// ClickClosing clicks an element of the extension's window whose click
// closes that window (Cancel, Continue on the role list), then waits until
// the window has closed. The extension may close it at once, and Chromium
// may drop the target while the click's own mouse-up is still being
// answered ("target detached"): that error is the click closing its window,
// as long as the window does close.
func ClickClosing(ctx context.Context, b Browser, prompt Page, selector string) error {
	if err := prompt.Click(ctx, selector); err != nil && !strings.Contains(err.Error(), "target detached") {
		return err
	}
	return b.WaitPromptClosed(ctx)
}
