// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package browser

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"
)

// firefox is a running Firefox ESR, driven over WebDriver BiDi.
type firefox struct {
	opts   Options
	cmd    *exec.Cmd
	exited chan struct{} // closed when the process has exited
	bidi   *bidi
	origin string
	addon  string // the add-on id webExtension.install returned

	mu       sync.Mutex
	contexts map[string]string // top-level browsing context id -> URL of its committed document
	claimed  map[string]bool
	changed  chan struct{}
}

var _ Browser = (*firefox)(nil)

var reBiDiURL = regexp.MustCompile(`WebDriver BiDi listening on (ws://\S+)`)

// LaunchFirefox starts Firefox ESR headless with a fresh profile
// (<Dir>/profile) and HOME (<Dir>/home), listening for WebDriver BiDi on a
// free loopback port, installs the unpacked extension as a temporary add-on
// (webExtension.install), and trusts the test root in the profile's NSS
// database. The add-on's moz-extension:// UUID is fixed in advance through
// the extensions.webextensions.uuids preference, so that its origin is known
// before it runs. The native-host manifest goes under
// $HOME/.mozilla/native-messaging-hosts, written by [Options].Setup.
func LaunchFirefox(ctx context.Context, o Options) (Browser, error) {
	if err := o.check(FirefoxPath); err != nil {
		return nil, err
	}
	addonID, err := GeckoID(o.Extension)
	if err != nil {
		return nil, err
	}
	profile := filepath.Join(o.Dir, "profile")
	home, err := o.prepare(ctx, profile, func(_, profile string) string { return profile })
	if err != nil {
		return nil, err
	}
	uuid, err := newUUID()
	if err != nil {
		return nil, err
	}
	if err := writeUserJS(profile, addonID, uuid); err != nil {
		return nil, err
	}
	f := &firefox{
		opts:     o,
		origin:   "moz-extension://" + uuid,
		exited:   make(chan struct{}),
		contexts: map[string]string{},
		claimed:  map[string]bool{},
		changed:  make(chan struct{}),
	}
	f.cmd = exec.Command(o.Exec, "--headless", "--no-remote", "--profile", profile,
		"--remote-debugging-port=0", "--remote-allow-hosts=127.0.0.1", "about:blank")
	f.cmd.Env = o.environ(home)
	f.cmd.Env = append(f.cmd.Env, "MOZ_CRASHREPORTER_DISABLE=1")
	stderr, err := f.cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	f.cmd.Stdout = nil
	if err := f.cmd.Start(); err != nil {
		return nil, fmt.Errorf("browser: start firefox: %w", err)
	}
	go func() {
		_ = f.cmd.Wait()
		close(f.exited)
	}()

	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			if m := reBiDiURL.FindStringSubmatch(line); m != nil {
				select {
				case urls <- m[1]:
				default:
				}
			}
			if o.Log != nil {
				o.Log(line)
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
	}()
	var wsURL string
	select {
	case wsURL = <-urls:
	case <-f.exited:
		err = fmt.Errorf("exited before listening: %v", f.cmd.ProcessState)
	case <-time.After(o.StartTimeout):
		err = fmt.Errorf("did not listen for WebDriver BiDi within %s", o.StartTimeout)
	case <-ctx.Done():
		err = ctx.Err()
	}
	if err == nil {
		err = f.connect(ctx, wsURL)
	}
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("browser: start firefox: %w", err)
	}
	return f, nil
}

// connect opens the BiDi session, follows browsing contexts and installs
// the extension.
func (f *firefox) connect(ctx context.Context, wsURL string) error {
	var err error
	if f.bidi, err = dialBiDi(ctx, wsURL+"/session", f.onEvent); err != nil {
		return err
	}
	if err := f.bidi.call(ctx, "session.new", map[string]any{"capabilities": map[string]any{}}, nil); err != nil {
		return err
	}
	events := []string{"browsingContext.contextCreated", "browsingContext.contextDestroyed", "browsingContext.navigationCommitted", "browsingContext.load"}
	if err := f.bidi.call(ctx, "session.subscribe", map[string]any{"events": events}, nil); err != nil {
		return err
	}
	var inst struct {
		Extension string `json:"extension"`
	}
	if err := f.bidi.call(ctx, "webExtension.install", map[string]any{
		"extensionData": map[string]any{"type": "path", "path": f.opts.Extension},
	}, &inst); err != nil {
		return fmt.Errorf("install the extension %s: %w", f.opts.Extension, err)
	}
	f.addon = inst.Extension
	return nil
}

// GeckoID reads an unpacked extension's Firefox add-on id
// (browser_specific_settings.gecko.id) from its manifest.
func GeckoID(dir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		return "", fmt.Errorf("browser: extension manifest: %w", err)
	}
	var m struct {
		BSS struct {
			Gecko struct {
				ID string `json:"id"`
			} `json:"gecko"`
		} `json:"browser_specific_settings"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return "", fmt.Errorf("browser: extension manifest %s: %w", dir, err)
	}
	if m.BSS.Gecko.ID == "" {
		return "", fmt.Errorf("browser: %s/manifest.json has no browser_specific_settings.gecko.id: build the Firefox extension with make extension", dir)
	}
	return m.BSS.Gecko.ID, nil
}

func newUUID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]), nil
}

// writeUserJS sets the profile's preferences: the add-on's fixed UUID, and
// quiet, offline-friendly defaults for a test profile.
func writeUserJS(profile, addonID, uuid string) error {
	uuids, _ := json.Marshal(map[string]string{addonID: uuid})
	quoted, _ := json.Marshal(string(uuids))
	prefs := []string{
		`user_pref("extensions.webextensions.uuids", ` + string(quoted) + `);`,
		`user_pref("datareporting.policy.dataSubmissionEnabled", false);`,
		`user_pref("toolkit.telemetry.reportingpolicy.firstRun", false);`,
		`user_pref("browser.shell.checkDefaultBrowser", false);`,
		`user_pref("app.update.enabled", false);`,
		`user_pref("extensions.update.enabled", false);`,
		// Extension windows open as real windows, as for a user.
		`user_pref("browser.link.open_newwindow", 2);`,
	}
	return os.WriteFile(filepath.Join(profile, "user.js"), []byte(strings.Join(prefs, "\n")+"\n"), 0o600)
}

// onEvent runs on the BiDi read goroutine.
func (f *firefox) onEvent(method string, params json.RawMessage) {
	var p struct {
		Context string  `json:"context"`
		URL     string  `json:"url"`
		Parent  *string `json:"parent"`
	}
	if json.Unmarshal(params, &p) != nil || p.Context == "" {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	switch method {
	case "browsingContext.contextCreated":
		if p.Parent != nil {
			return // a frame, not a tab or window
		}
		f.contexts[p.Context] = p.URL
	case "browsingContext.navigationCommitted", "browsingContext.load":
		// A committed document counts, not a started navigation: a window
		// opened on a URL starts on about:blank, and evaluating before the
		// commit would run in the document being replaced. (Firefox sends
		// no load event for moz-extension:// documents.)
		if _, ok := f.contexts[p.Context]; ok && p.URL != "" {
			f.contexts[p.Context] = p.URL
		}
	case "browsingContext.contextDestroyed":
		delete(f.contexts, p.Context)
	}
	close(f.changed)
	f.changed = make(chan struct{})
}

func (f *firefox) Name() string            { return "firefox" }
func (f *firefox) ExtensionOrigin() string { return f.origin }

// WaitExtension reports the add-on installed. WebDriver BiDi does not show
// a Firefox add-on's background page, so the evidence that the background
// runs is what it does (the content script, the passcode window).
func (f *firefox) WaitExtension(ctx context.Context) (string, error) {
	if f.addon == "" {
		return "", errors.New("browser: the extension is not installed")
	}
	return f.origin + "/", nil
}

func (f *firefox) NewPage(ctx context.Context, url string) (Page, error) {
	var created struct {
		Context string `json:"context"`
	}
	if err := f.bidi.call(ctx, "browsingContext.create", map[string]any{"type": "tab"}, &created); err != nil {
		return nil, err
	}
	f.claim(created.Context)
	p := &firefoxPage{f: f, context: created.Context, url: url}
	if err := f.bidi.call(ctx, "browsingContext.navigate", map[string]any{"context": p.context, "url": url, "wait": "complete"}, nil); err != nil {
		_ = p.Close(ctx)
		return nil, fmt.Errorf("browser: open %s: %w", url, err)
	}
	return p, nil
}

func (f *firefox) claim(id string) {
	f.mu.Lock()
	f.claimed[id] = true
	f.mu.Unlock()
}

func (f *firefox) WaitPrompt(ctx context.Context) (Page, error) {
	prefix := f.origin + "/prompt.html"
	for {
		f.mu.Lock()
		for id, u := range f.contexts {
			if !f.claimed[id] && strings.HasPrefix(u, prefix) {
				f.claimed[id] = true
				f.mu.Unlock()
				p := &firefoxPage{f: f, context: id, url: u}
				js, _ := json.Marshal(prefix)
				if err := p.WaitFor(ctx, `location.href.startsWith(`+string(js)+`) && document.readyState === "complete"`); err != nil {
					return nil, err
				}
				return p, nil
			}
		}
		changed := f.changed
		f.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return nil, fmt.Errorf("browser: the passcode window did not open: %w", ctx.Err())
		case <-f.exited:
			return nil, errors.New("browser: firefox has exited")
		}
	}
}

func (f *firefox) PromptOpen() bool {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = f.refresh(ctx)
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.promptOpenLocked()
}

// closedPoll is how often WaitPromptClosed asks for the tree of contexts:
// Firefox sends no contextDestroyed event when a moz-extension:// window
// closes itself (window.close or windows.remove), so there is no event to
// await for that case.
const closedPoll = 100 * time.Millisecond

func (f *firefox) WaitPromptClosed(ctx context.Context) error {
	tick := time.NewTicker(closedPoll)
	defer tick.Stop()
	for {
		if err := f.refresh(ctx); err != nil {
			return err
		}
		f.mu.Lock()
		open, changed := f.promptOpenLocked(), f.changed
		f.mu.Unlock()
		if !open {
			return nil
		}
		select {
		case <-changed:
		case <-tick.C:
		case <-ctx.Done():
			return fmt.Errorf("browser: the passcode window is still open: %w", ctx.Err())
		}
	}
}

// refresh drops the contexts that browsingContext.getTree no longer lists.
func (f *firefox) refresh(ctx context.Context) error {
	var tree struct {
		Contexts []struct {
			Context string `json:"context"`
		} `json:"contexts"`
	}
	if err := f.bidi.call(ctx, "browsingContext.getTree", map[string]any{"maxDepth": 0}, &tree); err != nil {
		return err
	}
	live := map[string]bool{}
	for _, c := range tree.Contexts {
		live[c.Context] = true
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for id := range f.contexts {
		if !live[id] {
			delete(f.contexts, id)
		}
	}
	return nil
}

func (f *firefox) promptOpenLocked() bool {
	prefix := f.origin + "/prompt.html"
	for _, u := range f.contexts {
		if strings.HasPrefix(u, prefix) {
			return true
		}
	}
	return false
}

func (f *firefox) Close() error {
	var err error
	if f.bidi != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = f.bidi.call(ctx, "browser.close", nil, nil)
		cancel()
		_ = f.bidi.close()
	}
	if f.cmd.Process != nil {
		select {
		case <-f.exited:
		case <-time.After(10 * time.Second):
			_ = f.cmd.Process.Kill()
			<-f.exited
			err = errors.New("browser: firefox did not exit within 10 s of browser.close and was killed")
		}
	}
	return err
}

// firefoxPage is one top-level browsing context.
type firefoxPage struct {
	f       *firefox
	context string
	url     string
}

var _ Page = (*firefoxPage)(nil)

func (p *firefoxPage) URL() string { return p.url }

// evaluate runs script.evaluate and returns the remote value.
func (p *firefoxPage) evaluate(ctx context.Context, expr, ownership string) (json.RawMessage, error) {
	var r struct {
		Type             string          `json:"type"`
		Result           json.RawMessage `json:"result"`
		ExceptionDetails *struct {
			Text string `json:"text"`
		} `json:"exceptionDetails"`
	}
	if err := p.f.bidi.call(ctx, "script.evaluate", map[string]any{
		"expression":      expr,
		"target":          map[string]any{"context": p.context},
		"awaitPromise":    true,
		"resultOwnership": ownership,
	}, &r); err != nil {
		return nil, err
	}
	if r.Type == "exception" {
		text := ""
		if r.ExceptionDetails != nil {
			text = r.ExceptionDetails.Text
		}
		return nil, fmt.Errorf("browser: evaluate %s: %s", short(expr), text)
	}
	return r.Result, nil
}

func (p *firefoxPage) Eval(ctx context.Context, expr string, out any) error {
	raw, err := p.evaluate(ctx, jsonExpr(expr), "none")
	if err != nil {
		return err
	}
	var v struct {
		Type  string `json:"type"`
		Value string `json:"value"`
	}
	if err := json.Unmarshal(raw, &v); err != nil || v.Type != "string" {
		return fmt.Errorf("browser: evaluate %s: unexpected result %s", short(expr), short(string(raw)))
	}
	return decodeJSON(v.Value, out)
}

func (p *firefoxPage) WaitFor(ctx context.Context, expr string) error {
	// The page waits for the condition itself (checking every 50 ms) and
	// gives up at the caller's deadline, so nothing keeps running after.
	limit := 10 * time.Minute
	if d, ok := ctx.Deadline(); ok {
		limit = time.Until(d)
	}
	js := fmt.Sprintf(`new Promise((resolve) => {
  const end = Date.now() + %d;
  const check = () => {
    let ok = false;
    try { ok = !!(%s); } catch (e) { ok = false; }
    if (ok) resolve(true); else if (Date.now() > end) resolve(false); else setTimeout(check, 50);
  };
  check();
})`, limit.Milliseconds(), expr)
	var ok bool
	if err := p.Eval(ctx, js, &ok); err != nil {
		return fmt.Errorf("browser: wait for %s: %w", short(expr), err)
	}
	if !ok {
		return fmt.Errorf("browser: wait for %s: %w", short(expr), context.DeadlineExceeded)
	}
	return nil
}

// element returns the BiDi shared reference of the element selector
// matches.
func (p *firefoxPage) element(ctx context.Context, selector string) (map[string]any, error) {
	sel, _ := json.Marshal(selector)
	raw, err := p.evaluate(ctx, "document.querySelector("+string(sel)+")", "root")
	if err != nil {
		return nil, err
	}
	var v struct {
		Type     string `json:"type"`
		SharedID string `json:"sharedId"`
	}
	if err := json.Unmarshal(raw, &v); err != nil || v.Type != "node" || v.SharedID == "" {
		return nil, fmt.Errorf("browser: no element matches %s", selector)
	}
	return map[string]any{"sharedId": v.SharedID}, nil
}

func (p *firefoxPage) Click(ctx context.Context, selector string) error {
	el, err := p.element(ctx, selector)
	if err != nil {
		return err
	}
	// A mouse moved to the element's centre, pressed and released:
	// trusted events, as from a person.
	if err := p.f.bidi.call(ctx, "input.performActions", map[string]any{
		"context": p.context,
		"actions": []any{map[string]any{
			"type": "pointer", "id": "mouse", "parameters": map[string]any{"pointerType": "mouse"},
			"actions": []any{
				map[string]any{"type": "pointerMove", "x": 0, "y": 0, "origin": map[string]any{"type": "element", "element": el}},
				map[string]any{"type": "pointerDown", "button": 0},
				map[string]any{"type": "pointerUp", "button": 0},
			},
		}},
	}, nil); err != nil {
		return fmt.Errorf("browser: click %s: %w", selector, err)
	}
	return nil
}

func (p *firefoxPage) Type(ctx context.Context, selector, text string) error {
	if err := p.Click(ctx, selector); err != nil {
		return err
	}
	keys := make([]any, 0, 2*len(text))
	for _, r := range text {
		keys = append(keys, map[string]any{"type": "keyDown", "value": string(r)}, map[string]any{"type": "keyUp", "value": string(r)})
	}
	if err := p.f.bidi.call(ctx, "input.performActions", map[string]any{
		"context": p.context,
		"actions": []any{map[string]any{"type": "key", "id": "keyboard", "actions": keys}},
	}, nil); err != nil {
		return fmt.Errorf("browser: type into %s: %w", selector, err)
	}
	return nil
}

func (p *firefoxPage) Text(ctx context.Context, selector string) (string, error) {
	return textOf(ctx, p, selector)
}

func (p *firefoxPage) Screenshot(ctx context.Context, path string) error {
	var r struct {
		Data string `json:"data"`
	}
	if err := p.f.bidi.call(ctx, "browsingContext.captureScreenshot", map[string]any{"context": p.context}, &r); err != nil {
		return fmt.Errorf("browser: screenshot: %w", err)
	}
	png, err := base64.StdEncoding.DecodeString(r.Data)
	if err != nil {
		return fmt.Errorf("browser: screenshot: %w", err)
	}
	return writeFile(path, png)
}

func (p *firefoxPage) Close(ctx context.Context) error {
	err := p.f.bidi.call(ctx, "browsingContext.close", map[string]any{"context": p.context}, nil)
	var be *BiDiError
	if errors.As(err, &be) && be.Code == "no such frame" {
		return nil // already gone (a prompt window closes itself)
	}
	return err
}
