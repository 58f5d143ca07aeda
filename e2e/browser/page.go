// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package browser

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// jsonExpr wraps a JavaScript expression so that the browser returns its
// awaited value as a JSON string: the same decoding for both protocols.
func jsonExpr(expr string) string {
	return "(async () => JSON.stringify((await (" + expr + ")) ?? null))()"
}

func decodeJSON(s string, out any) error {
	if out == nil {
		return nil
	}
	if err := json.Unmarshal([]byte(s), out); err != nil {
		return fmt.Errorf("browser: decode %s: %w", short(s), err)
	}
	return nil
}

// textOf returns the textContent of the element that selector matches.
func textOf(ctx context.Context, p Page, selector string) (string, error) {
	var s *string
	sel, _ := json.Marshal(selector)
	if err := p.Eval(ctx, "document.querySelector("+string(sel)+")?.textContent", &s); err != nil {
		return "", err
	}
	if s == nil {
		return "", fmt.Errorf("browser: no element matches %s", selector)
	}
	return *s, nil
}

func writeFile(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// short bounds a string for an error message.
func short(s string) string {
	if len(s) > 80 {
		return s[:77] + "…"
	}
	return s
}
