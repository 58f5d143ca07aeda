// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package windows

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openidentityagent/oia/e2e/wine"
)

// loadlibOutput reads ticketapi-loadlib's key=value lines.
func loadlibOutput(out string) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(strings.ReplaceAll(out, "\r\n", "\n"), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			m[k] = v
		}
	}
	return m
}

// TestTicketAPI_LoadLibrary: the legacy-style client
// (host/ticketapi/src/test/loadlib.c) loads TicketApiDll.dll by name and
// looks every function up with GetProcAddress; all 21 names resolve. Then
// getTicketNoAuth gets the agent's real answers over the named pipe, at
// the default pipe name the DLL derives itself: with no agent
// NO_SERVERFOUND; with the Ticket API enabled in the system configuration
// TICKET_NOT_AVAILABLE (no card module on Windows, so no session), and
// the agent logs the caller's executable from the pipe's peer, while a
// pipe named by OIA_AGENT_ENDPOINT where nobody listens gives
// NO_SERVERFOUND; with the key off NOT_INSTALLED.
func TestTicketAPI_LoadLibrary(t *testing.T) {
	for _, arch := range []string{"x64", "x86"} {
		t.Run(arch, func(t *testing.T) {
			x86 := arch == "x86"
			if x86 {
				if err := wine.Available32(); err != nil {
					t.Skip(err)
				}
			}
			b := windowsBuild(t)
			p := newPrefix(t)
			dir := `C:\App\` + arch
			for _, f := range []string{"TicketApiDll.dll", "ticketapi-loadlib.exe"} {
				copyInto(t, filepath.Join(b, "windows", arch, f), p.MustPath(dir+`\`+f))
			}
			client := dir + `\ticketapi-loadlib.exe`
			loadlib := func(want string, env ...string) map[string]string {
				t.Helper()
				r := run(t, p, client, wine.RunOptions{X86: x86, Env: env})
				m := loadlibOutput(r.Stdout)
				if r.ExitCode != 0 || m["found"] != "21 of 21" {
					t.Fatalf("exit %d, found=%s, want 21 of 21:\n%s%s", r.ExitCode, m["found"], r.Stdout, r.Stderr)
				}
				if m["noauth_rc"] != want {
					t.Errorf("getTicketNoAuth = %s (%s), want %s", m["noauth_rc"], m["desc"], want)
				}
				return m
			}

			loadlib("0x80800003") // no agent: TCK_API_ERR_NO_SERVERFOUND

			// The system file names ticketApiEnabled. Wine cannot make a
			// file owned by Administrators, so the file is named through
			// OIA_SYSTEM_CONFIG, which a debug build trusts from its user.
			sys := p.ProgramData() + `\OIA\config.json`
			env := []string{"OIA_SYSTEM_CONFIG=" + sys}
			writeWin(t, p, sys, map[string]any{"ticketApiEnabled": true})
			startAgent(t, p, env...)
			loadlib("0x80100009") // TCK_API_ERR_TICKET_NOT_AVAILABLE: no session
			log, err := os.ReadFile(p.MustPath(p.LocalAppData() + `\OIA\host.log`))
			if err != nil {
				t.Fatal(err)
			}
			if want := strings.ReplaceAll(client, `\`, `\\`); !strings.Contains(string(log), `"peer_exe":"`+want+`"`) {
				t.Errorf("the agent's log does not name the caller %s from the pipe's peer:\n%s", client, log)
			}
			// %OIA_AGENT_ENDPOINT% names another pipe: nobody there.
			other := `\\.\pipe\oia-wine-nobody`
			if m := loadlib("0x80800003", "OIA_AGENT_ENDPOINT="+other); !strings.Contains(m["desc"], other) {
				t.Errorf("with OIA_AGENT_ENDPOINT=%s the description does not name it: %s", other, m["desc"])
			}
			stopAgent(t, p, env...)

			writeWin(t, p, sys, map[string]any{"ticketApiEnabled": false})
			startAgent(t, p, env...)
			loadlib("0x80800002") // TCK_API_ERR_NOT_INSTALLED: the key is off
		})
	}
}
