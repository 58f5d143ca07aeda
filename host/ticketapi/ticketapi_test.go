// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package ticketapi

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openidentityagent/oia/installer/pkg"
)

// The legacy codes the tests expect (ticket_api.h).
const (
	codeSuccess         = "0x00000000"
	codeInvalidParam    = "0x80100003"
	codeBufferTooSmall  = "0x80100004"
	codeInvalidInstance = "0x80100005"
	codeCommFailed      = "0x80100007"
	codeNotAvailable    = "0x80100009"
	codeVersionConflict = "0x80800001"
	codeNotInstalled    = "0x80800002"
	codeNoServer        = "0x80800003"
	codeAuthNotPossible = "0x80400003"
)

// ---- building the library and its test client ----

var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error
)

// repoRoot is the module root, two levels up from this package.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// runMake runs make at the repository root with args, the one place the
// library's compiler flags live (mk/ticketapi.mk).
func runMake(t *testing.T, args ...string) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "make", append([]string{"-s", "-C", repoRoot(t)}, args...)...)
	// Not a sub-make of a `make test` that runs this test: no inherited
	// flags or jobserver.
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); k != "MAKEFLAGS" && k != "MFLAGS" && k != "MAKELEVEL" {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("make %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

// sanitized returns the folder holding libTicketApi.so, ticketapi-test and
// ticketapi-json-test built with ASan and UBSan, once per test binary.
func sanitized(t *testing.T) string {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("the library tests run on Linux (the Unix socket transport); other systems are built only")
	}
	for _, tool := range []string{"make", "cc"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed (scripts/deps.sh installs it): cannot build the library", tool)
		}
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "oia-ticketapi-build")
		if err != nil {
			buildErr = err
			return
		}
		buildDir = dir
		buildErr = runMake(t, "BUILD="+dir, "TICKETAPI_SANITIZE=1", "ticketapi")
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return filepath.Join(buildDir, "lib")
}

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// ---- the fake agent ----

// errBody is an agent error object.
type errBody struct {
	Code       string `json:"code"`
	LegacyCode uint32 `json:"legacyCode,omitempty"`
	Message    string `json:"message"`
}

var (
	errNoTicket = &errBody{"TICKET_NOT_AVAILABLE", 0x80100009, "nobody is logged in with a smartcard"}
	errDisabled = &errBody{"TICKET_API_DISABLED", 0x80800002, "ticket api access is off in the system configuration"}
	errMismatch = &errBody{"AGENT_VERSION_MISMATCH", 0x80800001, "the agent speaks protocol 1.0 only"}
	errNoPrompt = &errBody{"PROMPT_UNAVAILABLE", 0, "no browser is connected to show the passcode prompt"}
)

// fakeAgent is a small agent endpoint speaking the spec's framed JSON over
// a Unix socket in a 0700 folder. It keeps one session; concurrent logins
// share one, as the real agent's do.
type fakeAgent struct {
	t    *testing.T
	dir  string
	sock string
	ln   net.Listener

	mu         sync.Mutex
	ticket     string        // the session's ticket; "" when nobody is logged in
	login      chan struct{} // closed when the login under way ends
	logins     int
	requests   map[string]int
	attaches   []map[string]any
	protocol   string        // the hello's protocol
	refuse     *errBody      // refuse every attach with this error
	loginErr   *errBody      // logins fail with this error
	oversize   bool          // answer attach with a frame over the client's bound
	loginDelay time.Duration // how long a login takes
	// replies, when set, replaces the answer to every request: these raw
	// frames, then the connection closes.
	replies [][]byte
}

func newFakeAgent(t *testing.T) *fakeAgent {
	t.Helper()
	// A short path: sun_path holds 108 bytes.
	dir, err := os.MkdirTemp("", "oia-ta")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	a := &fakeAgent{t: t, dir: dir, sock: filepath.Join(dir, "agent.sock"), requests: map[string]int{},
		protocol: "1.0", loginDelay: 100 * time.Millisecond}
	ln, err := net.Listen("unix", a.sock)
	if err != nil {
		t.Fatal(err)
	}
	a.ln = ln
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				a.serve(c)
			}()
		}
	}()
	return a
}

func readFrame(r io.Reader, max uint32) ([]byte, error) {
	var n uint32
	if err := binary.Read(r, binary.LittleEndian, &n); err != nil {
		return nil, err
	}
	if n > max {
		return nil, fmt.Errorf("frame of %d bytes", n)
	}
	b := make([]byte, n)
	_, err := io.ReadFull(r, b)
	return b, err
}

func writeFrame(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	var hdr [4]byte
	binary.LittleEndian.PutUint32(hdr[:], uint32(len(b)))
	_, err = w.Write(append(hdr[:], b...))
	return err
}

func (a *fakeAgent) serve(c net.Conn) {
	c.SetDeadline(time.Now().Add(30 * time.Second))
	b, err := readFrame(c, 64<<10)
	if err != nil {
		return
	}
	var attach map[string]any
	if err := json.Unmarshal(b, &attach); err != nil {
		a.t.Errorf("attach is not json: %q", b)
		return
	}
	a.mu.Lock()
	a.attaches = append(a.attaches, attach)
	refuse, proto, oversize := a.refuse, a.protocol, a.oversize
	a.mu.Unlock()
	if oversize {
		// A header announcing 1 MiB (the agent's own bound), then a little
		// of it: the library must stop at its 64 KiB bound.
		var hdr [4]byte
		binary.LittleEndian.PutUint32(hdr[:], 1<<20)
		c.Write(append(hdr[:], bytes.Repeat([]byte(" "), 1000)...))
		time.Sleep(200 * time.Millisecond)
		return
	}
	if refuse != nil {
		writeFrame(c, map[string]any{"type": "event", "event": "error", "error": refuse})
		return
	}
	writeFrame(c, map[string]any{"type": "hello", "protocol": proto, "version": "0.1.0",
		"state": "loggedOut", "settings": map[string]any{"nested": []any{1, "x", nil}}, "agent": map[string]any{"pid": os.Getpid()}})
	for {
		b, err := readFrame(c, 64<<10)
		if err != nil {
			return
		}
		var req struct{ ID, Type string }
		if err := json.Unmarshal(b, &req); err != nil {
			a.t.Errorf("request is not json: %q", b)
			return
		}
		a.mu.Lock()
		a.requests[req.Type]++
		replies := a.replies
		a.mu.Unlock()
		if replies != nil {
			for _, r := range replies {
				var hdr [4]byte
				binary.LittleEndian.PutUint32(hdr[:], uint32(len(r)))
				c.Write(append(hdr[:], r...))
			}
			return
		}
		// An event first, which the library must skip.
		writeFrame(c, map[string]any{"type": "event", "event": "state", "state": "loggedIn"})
		res := map[string]any{"id": req.ID, "type": "result", "extra": map[string]any{"ignored": true}}
		ticket, e := a.handle(req.Type)
		if e != nil {
			res["ok"], res["error"] = false, e
		} else {
			res["ok"] = true
			if ticket != "" {
				res["ticket"] = ticket
				res["user"] = map[string]any{"uid": "555000000001", "name": "Test User"}
			}
		}
		writeFrame(c, res)
	}
}

// handle answers one request: the ticket (or "" for destroyTicket) or an
// error.
func (a *fakeAgent) handle(typ string) (string, *errBody) {
	switch typ {
	case "getTicketNoAuth":
		a.mu.Lock()
		defer a.mu.Unlock()
		if a.ticket == "" {
			return "", errNoTicket
		}
		return a.ticket, nil
	case "getTicket":
		return a.loginShared(false)
	case "getNewTicket":
		return a.loginShared(true)
	case "destroyTicket":
		a.mu.Lock()
		a.ticket = ""
		a.mu.Unlock()
		return "", nil
	}
	return "", &errBody{"BAD_REQUEST", 0x80100003, "unknown request " + typ}
}

// loginShared returns the session's ticket, logging in when there is none
// (or always, when fresh); callers during a login wait for that login.
func (a *fakeAgent) loginShared(fresh bool) (string, *errBody) {
	a.mu.Lock()
	if fresh && a.login == nil {
		a.ticket = ""
	}
	for a.ticket == "" {
		if a.loginErr != nil {
			e := a.loginErr
			a.mu.Unlock()
			return "", e
		}
		if a.login != nil {
			ch := a.login
			a.mu.Unlock()
			<-ch
			a.mu.Lock()
			continue
		}
		ch := make(chan struct{})
		a.login = ch
		a.mu.Unlock()
		time.Sleep(a.loginDelay)
		a.mu.Lock()
		a.logins++
		a.ticket = fmt.Sprintf("AQIC5wM2LY4Sfcz%04d=@AAJTSQACMDE=#", a.logins)
		a.login = nil
		close(ch)
	}
	t := a.ticket
	a.mu.Unlock()
	return t, nil
}

func (a *fakeAgent) set(f func(a *fakeAgent)) {
	a.mu.Lock()
	defer a.mu.Unlock()
	f(a)
}

// ---- running the C client ----

// result is the key=value output of one tatest run.
type result map[string]string

// client runs tatest from dir against endpoint and returns its output; it
// fails the test when the program's own checks, ASan or UBSan fail.
func client(t *testing.T, dir, endpoint string, args ...string) result {
	t.Helper()
	r, err := runClient(dir, endpoint, args...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// runClient is client for any goroutine.
func runClient(dir, endpoint string, args ...string) (result, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(dir, "ticketapi-test"), args...)
	cmd.Env = append(os.Environ(), "OIA_AGENT_ENDPOINT="+endpoint,
		"ASAN_OPTIONS=detect_leaks=1:exitcode=99",
		"UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:exitcode=98")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{}
	sc := bufio.NewScanner(&stdout)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			r[k] = v
		}
	}
	if err != nil || stderr.Len() > 0 {
		return r, fmt.Errorf("tatest %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	if f, ok := r["check_failed"]; ok {
		return r, fmt.Errorf("tatest %s: its check %q failed\n%s", strings.Join(args, " "), f, stdout.String())
	}
	return r, nil
}

// startTwo runs the test program with args in two processes at once; the
// function it returns waits for both and fails the test if either could
// not run.
func startTwo(dir, endpoint string, args ...string) func(t *testing.T) []result {
	var wg sync.WaitGroup
	results := make([]result, 2)
	errs := make([]error, 2)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = runClient(dir, endpoint, args...)
		}()
	}
	return func(t *testing.T) []result {
		t.Helper()
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		return results
	}
}

func (r result) want(t *testing.T, key, want string) {
	t.Helper()
	if got, ok := r[key]; !ok || got != want {
		t.Errorf("%s = %q, want %q (all: %v)", key, got, want, r)
	}
}

// ---- the tests ----

// TestNoAgent: without a (trustworthy) agent every call fails cleanly with
// TCK_API_ERR_NO_SERVERFOUND and changes nothing.
func TestNoAgent(t *testing.T) {
	lib := sanitized(t)
	base, err := os.MkdirTemp("", "oia-ta")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(base)
	empty := filepath.Join(base, "empty")
	open := filepath.Join(base, "open")
	link := filepath.Join(base, "link")
	for _, d := range []string{empty, open} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(open, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(empty, link); err != nil {
		t.Fatal(err)
	}
	// A live agent whose folder is then opened up must be refused too.
	opened := newFakeAgent(t)
	if err := os.Chmod(opened.dir, 0o711); err != nil {
		t.Fatal(err)
	}
	// A regular file where the socket should be.
	notSock := filepath.Join(empty, "file.sock")
	if err := os.WriteFile(notSock, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, endpoint, detail string
	}{
		{"no folder", filepath.Join(base, "missing", "agent.sock"), "no agent endpoint directory"},
		{"no socket", filepath.Join(empty, "agent.sock"), "no agent endpoint at"},
		{"not a socket", notSock, "is not a socket of this user"},
		{"folder open to others", filepath.Join(open, "agent.sock"), "mode 0700"},
		{"live agent in an opened folder", opened.sock, "mode 0700"},
		{"folder is a symlink", filepath.Join(link, "agent.sock"), "mode 0700"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, kind := range []string{"get", "noauth", "new"} {
				r := client(t, lib, tc.endpoint, "ticket", kind, "256")
				r.want(t, "rc", codeNoServer)
				r.want(t, "untouched", "1")
				r.want(t, "last", codeNoServer)
				if !strings.Contains(r["desc"], tc.detail) {
					t.Errorf("description %q does not say %q", r["desc"], tc.detail)
				}
			}
			client(t, lib, tc.endpoint, "destroy").want(t, "rc", codeNoServer)
			v := client(t, lib, tc.endpoint, "versions")
			v.want(t, "engine", "0x00000000")
			v.want(t, "last", codeNoServer)
		})
	}
	if got := opened.requests["getTicket"] + len(opened.attaches); got != 0 {
		t.Errorf("the agent in an opened folder was contacted %d times", got)
	}
}

// TestNoAgent_OtherUsersFolder: a folder of another user is refused (needs
// root to make one).
func TestNoAgent_OtherUsersFolder(t *testing.T) {
	lib := sanitized(t)
	if os.Geteuid() != 0 {
		t.Skip("needs root to give a folder to another user")
	}
	a := newFakeAgent(t)
	if err := os.Chown(a.dir, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	r := client(t, lib, a.sock, "ticket", "noauth", "256")
	r.want(t, "rc", codeNoServer)
	if !strings.Contains(r["desc"], "not a directory of this user") {
		t.Errorf("description %q does not name the ownership", r["desc"])
	}
	if len(a.attaches) != 0 {
		t.Errorf("the agent was contacted")
	}
}

// TestTicket covers the (buffer, size, &used) contract and the ticket
// calls against a session, or none.
func TestTicket(t *testing.T) {
	lib := sanitized(t)
	const ticket = "AQIC5wM2LY4Sfcz0001=@AAJTSQACMDE=#" // 34 bytes
	tests := []struct {
		name       string
		session    bool
		kind, size string
		rc, used   string
		why        string
	}{
		{"noauth without session", false, "noauth", "256", codeNotAvailable, "", "getTicketNoAuth never logs in"},
		{"noauth with session", true, "noauth", "256", codeSuccess, "34", "the ticket and its length without the NUL"},
		{"10-byte buffer", true, "noauth", "10", codeBufferTooSmall, "", "too small: nothing changes"},
		{"buffer one short", true, "noauth", "34", codeBufferTooSmall, "", "no room for the NUL"},
		{"exact buffer", true, "noauth", "35", codeSuccess, "34", "ticket plus NUL fit exactly"},
		{"zero buffer", true, "noauth", "0", codeBufferTooSmall, "", "size 0"},
		{"get logs in", false, "get", "256", codeSuccess, "34", "getTicket logs in when nobody is"},
		{"get, small buffer", false, "get", "10", codeBufferTooSmall, "", "the login happens; the buffer is untouched"},
		{"new", true, "new", "256", codeSuccess, "34", "getNewTicket logs in afresh"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := newFakeAgent(t)
			if tc.session {
				a.set(func(a *fakeAgent) { a.ticket = "stale"; a.logins = 0 })
				if tc.kind != "new" {
					a.set(func(a *fakeAgent) { a.ticket = ticket })
				}
			}
			r := client(t, lib, a.sock, "ticket", tc.kind, tc.size)
			r.want(t, "rc", tc.rc)
			r.want(t, "last", tc.rc)
			if tc.rc == codeSuccess {
				r.want(t, "used", tc.used)
				r.want(t, "ticket", ticket)
			} else {
				r.want(t, "untouched", "1")
			}
			if tc.rc == codeBufferTooSmall && !strings.Contains(r["desc"], "bytes are needed") &&
				!strings.Contains(r["desc"], "are needed") {
				t.Errorf("description %q does not say the size needed", r["desc"])
			}
			a.mu.Lock()
			defer a.mu.Unlock()
			if len(a.attaches) != 1 {
				t.Fatalf("%d attaches, want 1 (one connection per call)", len(a.attaches))
			}
			at := a.attaches[0]
			for k, v := range map[string]any{"type": "attach", "protocol": "1.0", "client": "ticketapi", "version": "0.1.0", "events": false} {
				if at[k] != v {
					t.Errorf("attach %s = %v, want %v (%v)", k, at[k], v, at)
				}
			}
		})
	}
}

// TestSkipsOtherFrames: results for other ids and events are skipped.
func TestSkipsOtherFrames(t *testing.T) {
	lib := sanitized(t)
	a := newFakeAgent(t)
	a.set(func(a *fakeAgent) {
		a.replies = [][]byte{
			[]byte(`{"type":"event","event":"ticketDestroyed"}`),
			[]byte(`{"id":"2","type":"result","ok":true,"ticket":"WRONG"}`),
			[]byte(`{"type":"status"}`),
			[]byte(`{"id":"1","type":"result","ok":true,"ticket":"AQIC\u0041=@#","future":[{"x":1}]}`),
		}
	})
	r := client(t, lib, a.sock, "ticket", "noauth", "64")
	r.want(t, "rc", codeSuccess)
	r.want(t, "ticket", "AQICA=@#")
}

// TestDestroy: destroyTicket ends the session.
func TestDestroy(t *testing.T) {
	lib := sanitized(t)
	a := newFakeAgent(t)
	a.set(func(a *fakeAgent) { a.ticket = "AQIC=@#" })
	client(t, lib, a.sock, "destroy").want(t, "rc", codeSuccess)
	client(t, lib, a.sock, "ticket", "noauth", "64").want(t, "rc", codeNotAvailable)
}

// TestAgentRefusals: the agent's refusals and errors reach the caller as
// their legacy codes, for every call.
func TestAgentRefusals(t *testing.T) {
	lib := sanitized(t)
	tests := []struct {
		name  string
		setup func(a *fakeAgent)
		rc    string
		calls []string // kinds of ticket call to try
		desc  string
	}{
		{"ticket api disabled", func(a *fakeAgent) { a.refuse = errDisabled }, codeNotInstalled,
			[]string{"get", "noauth", "new"}, "TICKET_API_DISABLED"},
		{"agent refuses the version", func(a *fakeAgent) { a.refuse = errMismatch }, codeVersionConflict,
			[]string{"get", "noauth"}, "AGENT_VERSION_MISMATCH"},
		{"agent of another major protocol", func(a *fakeAgent) { a.protocol = "2.0" }, codeVersionConflict,
			[]string{"get", "noauth"}, "protocol 2.0"},
		{"agent of no protocol", func(a *fakeAgent) { a.protocol = "" }, codeVersionConflict,
			[]string{"noauth"}, "protocol"},
		{"agent of protocol 10.0", func(a *fakeAgent) { a.protocol = "10.0" }, codeVersionConflict,
			[]string{"noauth"}, "protocol 10.0"},
		{"no prompt (mapped by code)", func(a *fakeAgent) { a.loginErr = errNoPrompt }, codeAuthNotPossible,
			[]string{"get", "new"}, "PROMPT_UNAVAILABLE"},
		{"oversize frame", func(a *fakeAgent) { a.oversize = true }, codeCommFailed,
			[]string{"get", "noauth"}, "frame of 1048576 bytes"},
		{"connection closed before the result", func(a *fakeAgent) { a.replies = [][]byte{} }, codeCommFailed,
			[]string{"get", "noauth"}, "closed the connection"},
		{"malformed result", func(a *fakeAgent) { a.replies = [][]byte{[]byte(`{"id":"1","type":"result","ok":tru}`)} },
			codeCommFailed, []string{"noauth"}, "not a json object"},
		{"ticket with a NUL", func(a *fakeAgent) {
			a.replies = [][]byte{[]byte(`{"id":"1","type":"result","ok":true,"ticket":"AQ\u0000IC"}`)}
		}, codeCommFailed, []string{"noauth"}, "not a valid string"},
		{"result without ok", func(a *fakeAgent) { a.replies = [][]byte{[]byte(`{"id":"1","type":"result"}`)} },
			codeCommFailed, []string{"noauth"}, "no ok field"},
		{"error event instead of a result", func(a *fakeAgent) {
			a.replies = [][]byte{[]byte(`{"type":"event","event":"error","error":{"code":"TICKET_API_DISABLED","legacyCode":2155872258,"message":"turned off\nnow"}}`)}
		}, codeNotInstalled, []string{"get", "noauth"}, "turned off?now"},
		{"unknown error code without legacy code", func(a *fakeAgent) {
			a.replies = [][]byte{[]byte(`{"id":"1","type":"result","ok":false,"error":{"code":"SOMETHING_NEW","message":"m"}}`)}
		}, "0x80100001", []string{"noauth"}, "SOMETHING_NEW: m"},
		{"zero frame", func(a *fakeAgent) { a.replies = [][]byte{{}} }, codeCommFailed,
			[]string{"noauth"}, "frame of 0 bytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := newFakeAgent(t)
			a.set(tc.setup)
			for _, kind := range tc.calls {
				start := time.Now()
				r := client(t, lib, a.sock, "ticket", kind, "256")
				r.want(t, "rc", tc.rc)
				r.want(t, "untouched", "1")
				if !strings.Contains(r["desc"], tc.desc) {
					t.Errorf("%s: description %q does not say %q", kind, r["desc"], tc.desc)
				}
				if d := time.Since(start); d > 10*time.Second {
					t.Errorf("%s: took %v", kind, d)
				}
			}
			if a.refuse != nil {
				client(t, lib, a.sock, "destroy").want(t, "rc", tc.rc)
				client(t, lib, a.sock, "versions").want(t, "last", tc.rc)
			}
		})
	}
}

// TestVersions: API and DLL versions come from VERSION, the engine's from
// the agent's hello.
func TestVersions(t *testing.T) {
	lib := sanitized(t)
	a := newFakeAgent(t)
	r := client(t, lib, a.sock, "versions")
	v, err := os.ReadFile(filepath.Join(repoRoot(t), "VERSION"))
	if err != nil {
		t.Fatal(err)
	}
	var maj, min, patch uint32
	if _, err := fmt.Sscanf(strings.TrimSpace(string(v)), "%d.%d.%d", &maj, &min, &patch); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("0x%08X", maj<<24|min<<16|patch)
	r.want(t, "api", want)
	r.want(t, "dll", want)
	r.want(t, "engine", "0x00010000") // the fake says 0.1.0
	r.want(t, "last", codeSuccess)
	r.want(t, "remote", "0")
}

// TestInvalidUse: bad handles and parameters give their codes and change
// nothing.
func TestInvalidUse(t *testing.T) {
	lib := sanitized(t)
	a := newFakeAgent(t)
	a.set(func(a *fakeAgent) { a.ticket = "AQIC=@#" })
	r := client(t, lib, a.sock, "invalid")
	r.want(t, "zero_rc", codeInvalidInstance)
	r.want(t, "zero_last", codeInvalidInstance)
	r.want(t, "stale_rc", codeInvalidInstance)
	r.want(t, "stale_last", codeInvalidInstance)
	r.want(t, "stale_destroy", codeInvalidInstance)
	r.want(t, "null_rc", codeInvalidParam)
	r.want(t, "bad_component", "0")
	r.want(t, "bad_component_last", codeInvalidParam)
	r.want(t, "distinct_handles", "1")
	if n := len(a.attaches); n != 0 {
		t.Errorf("invalid calls contacted the agent %d times", n)
	}
}

// TestErrorDescription: the description follows the buffer contract too.
func TestErrorDescription(t *testing.T) {
	lib := sanitized(t)
	r := client(t, lib, "/nonexistent/agent.sock", "describe", "0x80100009", "256")
	r.want(t, "rc", codeSuccess)
	r.want(t, "desc", "nobody is logged in with a smartcard")
	r.want(t, "used", fmt.Sprint(len("nobody is logged in with a smartcard")))
	r = client(t, lib, "/nonexistent/agent.sock", "describe", "0x80100009", "10")
	r.want(t, "rc", codeBufferTooSmall)
	r.want(t, "untouched", "1")
	r = client(t, lib, "/nonexistent/agent.sock", "describe", "0x12345678", "256")
	r.want(t, "desc", "unknown error 0x12345678")
}

// TestExportNames: both spellings are exported from the shared library and
// the legacy function types work through dlsym.
func TestExportNames(t *testing.T) {
	lib := sanitized(t)
	r := client(t, lib, "/nonexistent/agent.sock", "names")
	r.want(t, "found", "21 of 21")
	r.want(t, "via_underscore", "1")
}

// TestThreads: eight threads at once, each with its own instance and all
// sharing one, get the same ticket from one login.
func TestThreads(t *testing.T) {
	lib := sanitized(t)
	for _, mode := range []string{"threads", "shared"} {
		t.Run(mode, func(t *testing.T) {
			a := newFakeAgent(t)
			a.set(func(a *fakeAgent) { a.loginDelay = 300 * time.Millisecond })
			r := client(t, lib, a.sock, mode, "8", "get")
			r.want(t, "ok", "8")
			r.want(t, "distinct", "1")
			a.mu.Lock()
			defer a.mu.Unlock()
			if a.logins != 1 {
				t.Errorf("%d logins, want 1", a.logins)
			}
			if a.requests["getTicket"] != 8 {
				t.Errorf("%d getTicket requests, want 8", a.requests["getTicket"])
			}
		})
	}
}

// TestTwoProcesses: two processes of eight threads each at once: one
// login, one ticket.
func TestTwoProcesses(t *testing.T) {
	lib := sanitized(t)
	a := newFakeAgent(t)
	a.set(func(a *fakeAgent) { a.loginDelay = 500 * time.Millisecond })
	results := startTwo(lib, a.sock, "threads", "8", "get")(t)
	tickets := map[string]bool{}
	for _, r := range results {
		r.want(t, "ok", "8")
		r.want(t, "distinct", "1")
		tickets[r["thread0_ticket"]] = true
	}
	if len(tickets) != 1 {
		t.Errorf("the processes got different tickets: %v", tickets)
	}
	if a.logins != 1 {
		t.Errorf("%d logins, want 1", a.logins)
	}
}

// TestJSONReader runs the C unit and mutation tests of the JSON reader
// under ASan and UBSan.
func TestJSONReader(t *testing.T) {
	lib := sanitized(t)
	rounds := "200000"
	if testing.Short() {
		rounds = "20000"
	}
	out, err := exec.Command(filepath.Join(lib, "ticketapi-json-test"), rounds).CombinedOutput()
	if err != nil {
		t.Fatalf("json test: %v\n%s", err, out)
	}
	t.Logf("%s", bytes.TrimSpace(out))
}

// TestReleaseBuild runs a few scenarios against the library `make` built
// (not sanitized), when OIA_LIB names its folder.
func TestReleaseBuild(t *testing.T) {
	dir := os.Getenv("OIA_LIB")
	if dir == "" {
		t.Skip("OIA_LIB is not set: run through make test to check the release build")
	}
	if _, err := os.Stat(filepath.Join(dir, "ticketapi-test")); err != nil {
		t.Skipf("%s has no ticketapi-test: run make ticketapi", dir)
	}
	a := newFakeAgent(t)
	client(t, dir, a.sock, "ticket", "noauth", "256").want(t, "rc", codeNotAvailable)
	r := client(t, dir, a.sock, "ticket", "get", "256")
	r.want(t, "rc", codeSuccess)
	r.want(t, "ticket", "AQIC5wM2LY4Sfcz0001=@AAJTSQACMDE=#")
	client(t, dir, a.sock, "ticket", "noauth", "10").want(t, "untouched", "1")
	client(t, dir, a.sock, "names").want(t, "found", "21 of 21")
	client(t, dir, a.sock, "threads", "8", "noauth").want(t, "ok", "8")
}

// TestWindowsDLLs cross-builds TicketApiDll.dll for x86 and x64 and the
// LoadLibrary client through make, and checks the export table names
// every legacy function under both spellings.
func TestWindowsDLLs(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("cross-built on Linux only")
	}
	tools := map[string]string{"x86": "i686-w64-mingw32", "x64": "x86_64-w64-mingw32"}
	for _, prefix := range tools {
		for _, tool := range []string{prefix + "-gcc", prefix + "-objdump"} {
			if _, err := exec.LookPath(tool); err != nil {
				t.Skipf("%s is not installed (scripts/deps.sh installs it)", tool)
			}
		}
	}
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make is not installed")
	}
	dir := t.TempDir()
	if err := runMake(t, "BUILD="+dir, "ticketapi-windows"); err != nil {
		t.Fatal(err)
	}
	want := []string{"GetDllVersion"}
	for _, f := range []string{"Initialize", "Finalize", "GetGAVersion", "getTicket", "getTicketNoAuth",
		"getNewTicket", "destroyTicket", "getLastError", "getErrorDescription", "isTerminalServiceSession"} {
		want = append(want, "TcktApi_"+f, "_TcktApi_"+f)
	}
	for arch, prefix := range tools {
		t.Run(arch, func(t *testing.T) {
			dll := filepath.Join(dir, "windows", arch, "TicketApiDll.dll")
			out, err := exec.Command(prefix+"-objdump", "-p", dll).CombinedOutput()
			if err != nil {
				t.Fatalf("objdump: %v\n%s", err, out)
			}
			text := string(out)
			magic := map[string]string{"x86": "PE32\n", "x64": "PE32+\n"}[arch]
			if !strings.Contains(text, "Magic") || !strings.Contains(text, magic[:len(magic)-1]) {
				t.Errorf("%s is not %s", dll, magic)
			}
			exports := exportNames(text)
			for _, name := range want {
				if !exports[name] {
					t.Errorf("%s does not export %s", arch, name)
				}
			}
			if len(exports) != len(want) {
				t.Errorf("%s exports %d names, want %d: %v", arch, len(exports), len(want), exports)
			}
			// Only system DLLs: nothing from the toolchain to ship beside it.
			for _, line := range strings.Split(text, "\n") {
				if name, ok := strings.CutPrefix(strings.TrimSpace(line), "DLL Name: "); ok {
					switch strings.ToLower(name) {
					case "kernel32.dll", "advapi32.dll", "msvcrt.dll":
					default:
						t.Errorf("%s imports %s", arch, name)
					}
				}
			}
			exe := filepath.Join(dir, "windows", arch, "ticketapi-loadlib.exe")
			if _, err := os.Stat(exe); err != nil {
				t.Errorf("the LoadLibrary client was not built: %v", err)
			}
			// The version resource (Explorer's Details tab).
			b, err := os.ReadFile(dll)
			if err != nil {
				t.Fatal(err)
			}
			v, _ := os.ReadFile(filepath.Join(repoRoot(t), "VERSION"))
			for _, s := range []string{"OriginalFilename", "TicketApiDll.dll", strings.TrimSpace(string(v))} {
				if !bytes.Contains(b, utf16le(s)) {
					t.Errorf("%s: no %q in the version resource", arch, s)
				}
			}
			signDLL(t, dll)
		})
	}
}

// signDLL Authenticode-signs dll with throw-away keys, as make package does
// with the real ones (installer/tools/mkpkg), and verifies the signature.
func signDLL(t *testing.T, dll string) {
	t.Helper()
	for _, tool := range []string{"osslsigncode", "openssl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Logf("not signing: %s is not installed", tool)
			return
		}
	}
	keys := filepath.Join(t.TempDir(), "keys")
	if b, err := exec.Command(filepath.Join(repoRoot(t), "installer", "scripts", "throwaway-keys.sh"), keys).CombinedOutput(); err != nil {
		t.Fatalf("throwaway-keys.sh: %v\n%s", err, b)
	}
	ctx := context.Background()
	signed := dll + ".signed"
	o := pkg.SignOptions{Cert: filepath.Join(keys, "win-sign.pem"), Key: filepath.Join(keys, "win-sign.key")}
	if err := pkg.SignExe(ctx, o, dll, signed); err != nil {
		t.Fatal(err)
	}
	if err := pkg.VerifyExe(ctx, signed, filepath.Join(keys, "win-ca.pem")); err != nil {
		t.Fatal(err)
	}
}

// utf16le encodes ASCII s as UTF-16LE, as resources store strings.
func utf16le(s string) []byte {
	b := make([]byte, 0, 2*len(s))
	for i := 0; i < len(s); i++ {
		b = append(b, s[i], 0)
	}
	return b
}

// exportNames reads the names of objdump -p's "[Ordinal/Name Pointer] Table".
func exportNames(objdump string) map[string]bool {
	names := map[string]bool{}
	_, table, ok := strings.Cut(objdump, "[Ordinal/Name Pointer] Table")
	if !ok {
		return names
	}
	for _, line := range strings.Split(table, "\n")[1:] {
		line = strings.TrimSpace(line)
		if line == "" {
			break
		}
		if _, name, ok := strings.Cut(line, "] "); ok {
			names[strings.TrimSpace(name)] = true
		}
	}
	return names
}
