// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package wine

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if err := RemoveTemplate(); err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
	}
	os.Exit(code)
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), StartTimeout)
	t.Cleanup(cancel)
	return ctx
}

// TestPrefix makes a prefix, runs programs in it with arguments,
// environment and input, writes and reads the registry, maps paths both
// ways, and checks that Close leaves no process of the prefix behind.
func TestPrefix(t *testing.T) {
	if err := Available(); err != nil {
		t.Skip(err)
	}
	start := time.Now()
	p, err := Create(filepath.Join(t.TempDir(), "wine"))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("first prefix ready in %v (template %v)", time.Since(start).Round(time.Millisecond), TemplateCost().Round(time.Millisecond))
	ctx := ctxFor(t)

	r, err := p.Run(ctx, "cmd.exe", RunOptions{Args: []string{"/c", "echo %OIA_WINE_TEST%"}, Env: []string{"OIA_WINE_TEST=hello-wine"}})
	if err != nil || strings.TrimSpace(r.Stdout) != "hello-wine" || r.ExitCode != 0 {
		t.Errorf("cmd /c echo: %q %q exit %d, %v", r.Stdout, r.Stderr, r.ExitCode, err)
	}
	r, err = p.Run(ctx, "cmd.exe", RunOptions{Args: []string{"/c", "exit 7"}})
	if err != nil || r.ExitCode != 7 {
		t.Errorf("exit status: %d, %v", r.ExitCode, err)
	}
	r, err = p.Run(ctx, "cmd.exe", RunOptions{Args: []string{"/c", "more"}, Stdin: strings.NewReader("axb\r\nnope\r\n")})
	if err != nil || !strings.Contains(r.Stdout, "axb") || !strings.Contains(r.Stdout, "nope") {
		t.Errorf("stdin: %q, %v", r.Stdout, err)
	}

	key := `HKCU\Software\OIA-Wine-Test\Sub`
	if err := p.RegAdd(ctx, key, "", "REG_SZ", `C:\a b\c.json`); err != nil {
		t.Fatal(err)
	}
	if err := p.RegAdd(ctx, key, "n", "REG_DWORD", "5"); err != nil {
		t.Fatal(err)
	}
	k, err := p.RegQuery(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if v := k.Values[""]; v.Type != "REG_SZ" || v.Data != `C:\a b\c.json` {
		t.Errorf("default value = %+v", v)
	}
	if v := k.Values["n"]; v.Type != "REG_DWORD" || v.Data != "0x5" {
		t.Errorf("n = %+v", v)
	}
	parent, err := p.RegQuery(ctx, `HKCU\Software\OIA-Wine-Test`)
	if err != nil || len(parent.Subkeys) != 1 || !strings.EqualFold(parent.Subkeys[0], `HKEY_CURRENT_USER\Software\OIA-Wine-Test\Sub`) {
		t.Errorf("subkeys = %q, %v", parent.Subkeys, err)
	}
	if err := p.RegDelete(ctx, `HKCU\Software\OIA-Wine-Test`); err != nil {
		t.Fatal(err)
	}
	if _, err := p.RegQuery(ctx, key); !errors.Is(err, ErrNoKey) {
		t.Errorf("after delete: %v, want ErrNoKey", err)
	}

	// Paths: a file written on C: from here is seen by a Windows program.
	if err := os.WriteFile(p.MustPath(`C:\oia-wine\probe.txt`), []byte("probe-ok"), 0o644); err != nil {
		t.Fatal(err)
	}
	r, _ = p.Run(ctx, "cmd.exe", RunOptions{Args: []string{"/c", `type C:\oia-wine\probe.txt`}})
	if r.Stdout != "probe-ok" {
		t.Errorf("type C:\\oia-wine\\probe.txt = %q", r.Stdout)
	}
	if got := p.WinPath(p.MustPath(`C:\x\y`)); got != `C:\x\y` {
		t.Errorf("WinPath(Path(C:\\x\\y)) = %s", got)
	}
	if got := p.WinPath("/tmp/a"); got != `Z:\tmp\a` {
		t.Errorf("WinPath(/tmp/a) = %s", got)
	}

	start = time.Now()
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("closed in %v", time.Since(start).Round(time.Millisecond))
	if left := p.Processes(); len(left) > 0 {
		t.Errorf("still running after Close: %q", left)
	}
}

func TestParseRegQuery(t *testing.T) {
	out := "\r\nHKEY_CURRENT_USER\\Software\\X\r\n    (Default)    REG_SZ    C:\\a  b\r\n    v    REG_DWORD    0x1\r\n\r\nHKEY_CURRENT_USER\\Software\\X\\Y\r\n"
	k := parseRegQuery(`HKCU\Software\X`, out)
	if k.Values[""].Data != `C:\a  b` || k.Values["v"].Type != "REG_DWORD" {
		t.Errorf("values = %+v", k.Values)
	}
	if len(k.Subkeys) != 1 || k.Subkeys[0] != `HKEY_CURRENT_USER\Software\X\Y` {
		t.Errorf("subkeys = %q", k.Subkeys)
	}
}
