// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package browser

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
)

// chromium is a running Chromium, driven over the DevTools protocol.
type chromium struct {
	opts   Options
	origin string

	actx    context.Context // the allocator: owns the process
	acancel context.CancelFunc
	bctx    context.Context // the browser and its first tab
	bcancel context.CancelFunc
	logw    *io.PipeWriter

	mu      sync.Mutex
	targets map[target.ID]*target.Info
	claimed map[target.ID]bool
	changed chan struct{} // closed and replaced on every target change

	closeOnce sync.Once
	closeErr  error
}

var _ Browser = (*chromium)(nil)

// LaunchChromium starts Chromium headless (--headless=new) with a fresh
// --user-data-dir (<Dir>/profile) and HOME (<Dir>/home), the unpacked
// extension loaded with --load-extension, and the test root trusted in
// $HOME/.pki/nssdb. The native-host manifest must be written into the
// profile's NativeMessagingHosts directory by [Options].Setup (Chromium
// reads no other user-level location when --user-data-dir is given;
// docs/references.md, "Native messaging: user-data-dir").
func LaunchChromium(ctx context.Context, o Options) (Browser, error) {
	if err := o.check(ChromiumPath); err != nil {
		return nil, err
	}
	id, err := chromeExtensionID(o.Extension)
	if err != nil {
		return nil, err
	}
	profile := filepath.Join(o.Dir, "profile")
	home, err := o.prepare(ctx, profile, func(home, _ string) string { return filepath.Join(home, ".pki", "nssdb") })
	if err != nil {
		return nil, err
	}
	c := &chromium{
		opts:    o,
		origin:  "chrome-extension://" + id,
		targets: map[target.ID]*target.Info{},
		claimed: map[target.ID]bool{},
		changed: make(chan struct{}),
	}
	flags := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(o.Exec),
		chromedp.UserDataDir(profile),
		chromedp.Flag("headless", "new"),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-features", "Translate,MediaRouter,OptimizationHints"),
		chromedp.Flag("disable-extensions-except", o.Extension),
		chromedp.Flag("load-extension", o.Extension),
		chromedp.WindowSize(1024, 768),
		chromedp.NoInheritEnv,
		chromedp.Env(o.environ(home)...),
	}
	if os.Geteuid() == 0 {
		// Chromium refuses to run as root with its sandbox; CI runs as root.
		flags = append(flags, chromedp.NoSandbox)
	}
	pr, pw := io.Pipe()
	c.logw = pw
	go logLines(pr, o.Log)
	flags = append(flags, chromedp.CombinedOutput(pw))

	c.actx, c.acancel = chromedp.NewExecAllocator(context.Background(), flags...)
	c.bctx, c.bcancel = chromedp.NewContext(c.actx)
	started := make(chan error, 1)
	go func() {
		// The first Run starts the browser; it must not carry a deadline,
		// which would stop the browser when it passes.
		started <- chromedp.Do(c.bctx)
	}()
	select {
	case err = <-started:
	case <-time.After(o.StartTimeout):
		err = fmt.Errorf("did not start within %s", o.StartTimeout)
	case <-ctx.Done():
		err = ctx.Err()
	}
	if err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("browser: start chromium: %w", err)
	}
	if err := chromedp.ListenBrowser(c.bctx, c.onEvent); err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("browser: chromium target events: %w", err)
	}
	infos, err := chromedp.Targets(c.bctx)
	if err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("browser: chromium targets: %w", err)
	}
	for _, info := range infos {
		c.update(info)
	}
	return c, nil
}

// chromeExtensionID is the id Chromium gives an unpacked extension whose
// manifest has a "key": the first 128 bits of the SHA-256 of the key,
// written with the letters a–p.
func chromeExtensionID(dir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		return "", fmt.Errorf("browser: extension manifest: %w", err)
	}
	var m struct {
		Key string `json:"key"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return "", fmt.Errorf("browser: extension manifest %s: %w", dir, err)
	}
	if m.Key == "" {
		return "", fmt.Errorf("browser: %s/manifest.json has no key, so its id is not fixed: build it with make extension", dir)
	}
	der, err := base64.StdEncoding.DecodeString(m.Key)
	if err != nil {
		return "", fmt.Errorf("browser: extension key is not base64: %w", err)
	}
	sum := sha256.Sum256(der)
	h := hex.EncodeToString(sum[:16])
	id := make([]byte, len(h))
	for i := range len(h) {
		d := h[i]
		if d <= '9' {
			id[i] = 'a' + d - '0'
		} else {
			id[i] = 'a' + 10 + d - 'a'
		}
	}
	return string(id), nil
}

// logLines passes each line read from r to log (or drops it).
func logLines(r io.Reader, log func(string)) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if log != nil {
			log(sc.Text())
		}
	}
	_, _ = io.Copy(io.Discard, r)
}

// onEvent runs on chromedp's event goroutine: it must not block.
func (c *chromium) onEvent(ev any) {
	switch ev := ev.(type) {
	case *target.EventTargetCreated:
		c.update(ev.TargetInfo)
	case *target.EventTargetInfoChanged:
		c.update(ev.TargetInfo)
	case *target.EventTargetDestroyed:
		c.mu.Lock()
		delete(c.targets, ev.TargetID)
		c.notifyLocked()
		c.mu.Unlock()
	}
}

func (c *chromium) update(info *target.Info) {
	c.mu.Lock()
	c.targets[info.TargetID] = info
	c.notifyLocked()
	c.mu.Unlock()
}

func (c *chromium) notifyLocked() {
	close(c.changed)
	c.changed = make(chan struct{})
}

// waitTarget waits until match accepts a known target that is not claimed,
// claims it and returns it.
func (c *chromium) waitTarget(ctx context.Context, match func(*target.Info) bool) (*target.Info, error) {
	for {
		c.mu.Lock()
		for id, info := range c.targets {
			if !c.claimed[id] && match(info) {
				c.claimed[id] = true
				c.mu.Unlock()
				return info, nil
			}
		}
		changed := c.changed
		c.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-c.bctx.Done():
			return nil, errors.New("browser: chromium has stopped")
		}
	}
}

func (c *chromium) Name() string            { return "chromium" }
func (c *chromium) ExtensionOrigin() string { return c.origin }

func (c *chromium) WaitExtension(ctx context.Context) (string, error) {
	info, err := c.waitTarget(ctx, func(i *target.Info) bool {
		return (i.Type == "service_worker" || i.Type == "background_page") && strings.HasPrefix(i.URL, c.origin+"/")
	})
	if err != nil {
		return "", fmt.Errorf("browser: the extension's background did not start: %w", err)
	}
	c.mu.Lock()
	delete(c.claimed, info.TargetID) // it may be waited for again
	c.mu.Unlock()
	return info.URL, nil
}

// StopServiceWorker stops the extension's service worker as Chromium does
// when it is idle or updated (Target.closeTarget on its target, what
// Puppeteer's WebWorker.close sends), and waits until its target is gone.
// The next event to the extension starts a new one.
func (c *chromium) StopServiceWorker(ctx context.Context) error {
	var id target.ID
	c.mu.Lock()
	for tid, i := range c.targets {
		if i.Type == "service_worker" && strings.HasPrefix(i.URL, c.origin+"/") {
			id = tid
		}
	}
	c.mu.Unlock()
	if id == "" {
		return errors.New("browser: the extension's service worker is not running")
	}
	cctx, cancel := context.WithCancel(c.bctx)
	defer cancel()
	stop := context.AfterFunc(ctx, cancel)
	defer stop()
	if _, err := chromedp.CallBrowser(cctx, target.CloseTarget, target.CloseTargetParams{TargetID: id}); err != nil {
		return fmt.Errorf("browser: stop the service worker: %w", err)
	}
	for {
		c.mu.Lock()
		_, alive := c.targets[id]
		changed := c.changed
		c.mu.Unlock()
		if !alive {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("browser: the service worker did not stop: %w", ctx.Err())
		}
	}
}

func (c *chromium) NewPage(ctx context.Context, url string) (Page, error) {
	tctx, cancel := chromedp.NewContext(c.bctx)
	// The first Run opens the tab; like the browser's, it carries no
	// deadline, which would close the tab when it passed.
	if err := chromedp.Do(tctx); err != nil {
		cancel()
		return nil, fmt.Errorf("browser: open a tab: %w", err)
	}
	p := &chromiumPage{ctx: tctx, cancel: cancel, url: url}
	if err := p.do(ctx, chromedp.Navigate(url)); err != nil {
		cancel()
		return nil, fmt.Errorf("browser: open %s: %w", url, err)
	}
	return p, nil
}

func (c *chromium) WaitPrompt(ctx context.Context) (Page, error) {
	prefix := c.origin + "/prompt.html"
	info, err := c.waitTarget(ctx, func(i *target.Info) bool {
		return i.Type == "page" && strings.HasPrefix(i.URL, prefix)
	})
	if err != nil {
		return nil, fmt.Errorf("browser: the passcode window did not open: %w", err)
	}
	tctx, cancel := chromedp.NewContext(c.bctx, chromedp.WithTargetID(info.TargetID))
	if err := chromedp.Do(tctx); err != nil {
		cancel()
		return nil, fmt.Errorf("browser: attach to the passcode window: %w", err)
	}
	p := &chromiumPage{ctx: tctx, cancel: cancel, url: info.URL}
	js, _ := json.Marshal(prefix)
	if err := p.WaitFor(ctx, `location.href.startsWith(`+string(js)+`) && document.readyState === "complete"`); err != nil {
		cancel()
		return nil, err
	}
	return p, nil
}

func (c *chromium) PromptOpen() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.promptOpenLocked()
}

func (c *chromium) WaitPromptClosed(ctx context.Context) error {
	for {
		c.mu.Lock()
		open, changed := c.promptOpenLocked(), c.changed
		c.mu.Unlock()
		if !open {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("browser: the passcode window is still open: %w", ctx.Err())
		}
	}
}

func (c *chromium) promptOpenLocked() bool {
	prefix := c.origin + "/prompt.html"
	for _, i := range c.targets {
		if i.Type == "page" && strings.HasPrefix(i.URL, prefix) {
			return true
		}
	}
	return false
}

func (c *chromium) Close() error {
	c.closeOnce.Do(func() { c.closeErr = c.close() })
	return c.closeErr
}

// close stops the browser once; Close may be called again.
func (c *chromium) close() error {
	var err error
	if c.bctx != nil {
		ctx, cancel := context.WithTimeout(c.bctx, 10*time.Second)
		err = chromedp.Cancel(ctx)
		cancel()
		c.bcancel()
	}
	c.acancel() // kills the process if it is still there, and waits for it
	_ = c.logw.Close()
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		err = nil
	}
	return err
}

// chromiumPage is one target (tab or extension window).
type chromiumPage struct {
	ctx    context.Context // the chromedp context of the target
	cancel context.CancelFunc
	url    string
}

var _ Page = (*chromiumPage)(nil)

// run runs a on the page's target with a context that ends when either the
// page's or the caller's does.
func run[T any](ctx, pctx context.Context, a chromedp.Action[T]) (T, error) {
	rctx, cancel := context.WithCancel(pctx)
	defer cancel()
	stop := context.AfterFunc(ctx, cancel)
	defer stop()
	v, err := chromedp.Run(rctx, a)
	if err != nil && ctx.Err() != nil {
		err = fmt.Errorf("%w (%v)", ctx.Err(), err)
	}
	return v, err
}

func (p *chromiumPage) do(ctx context.Context, steps ...chromedp.Action[chromedp.Void]) error {
	_, err := run(ctx, p.ctx, chromedp.Steps(steps...))
	return err
}

func (p *chromiumPage) URL() string { return p.url }

func (p *chromiumPage) Eval(ctx context.Context, expr string, out any) error {
	s, err := run(ctx, p.ctx, chromedp.Evaluate[string](jsonExpr(expr), chromedp.EvalAwaitPromise))
	if err != nil {
		return fmt.Errorf("browser: evaluate %s: %w", short(expr), err)
	}
	return decodeJSON(s, out)
}

func (p *chromiumPage) WaitFor(ctx context.Context, expr string) error {
	_, err := run(ctx, p.ctx, chromedp.Poll[bool]("!!("+expr+")", chromedp.WithPollingInterval(50*time.Millisecond)))
	if err != nil {
		return fmt.Errorf("browser: wait for %s: %w", short(expr), err)
	}
	return nil
}

func (p *chromiumPage) Click(ctx context.Context, selector string) error {
	if err := p.do(ctx, chromedp.Click(chromedp.CSS(selector))); err != nil {
		return fmt.Errorf("browser: click %s: %w", selector, err)
	}
	return nil
}

func (p *chromiumPage) Type(ctx context.Context, selector, text string) error {
	// SendKeys focuses the element and sends a keyDown, char and keyUp
	// event per character through Input.dispatchKeyEvent.
	if err := p.do(ctx, chromedp.SendKeys(chromedp.CSS(selector), text)); err != nil {
		return fmt.Errorf("browser: type into %s: %w", selector, err)
	}
	return nil
}

func (p *chromiumPage) Text(ctx context.Context, selector string) (string, error) {
	return textOf(ctx, p, selector)
}

func (p *chromiumPage) Screenshot(ctx context.Context, path string) error {
	png, err := run(ctx, p.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		return fmt.Errorf("browser: screenshot: %w", err)
	}
	return writeFile(path, png)
}

func (p *chromiumPage) Close(ctx context.Context) error {
	p.cancel()
	return nil
}
