// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	e2erig "github.com/openidentityagent/oia/e2e/rig"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/openidentityagent/oia/e2e/browser"
	"github.com/openidentityagent/oia/e2e/load"
	"github.com/openidentityagent/oia/e2e/sampleapp"
	"github.com/openidentityagent/oia/e2e/testpki"
)

// pageTimings is the script the page runs: warm-up calls, then n timed
// getTicketNoAuth calls through the page library, each from the call to
// the ticket, in milliseconds (performance.now, in the page). The calls
// are paced at 60 ms, under the extension's per-page limit (20 a second,
// extension/src/content/bridge.ts); the pauses are not timed.
const pageTimings = `(async (n) => {
	const oia = await import("/oia.js");
	const pause = (ms) => new Promise((r) => setTimeout(r, ms));
	await pause(2000); // the page's rate-limit bucket refills
	for (let i = 0; i < 5; i++) { await oia.getTicketNoAuth(); await pause(60); }
	const out = [];
	for (let i = 0; i < n; i++) {
		const t0 = performance.now();
		const r = await oia.getTicketNoAuth();
		out.push(performance.now() - t0);
		if (!r.ticket) throw new Error("no ticket");
		await pause(60);
	}
	return out;
})(%d)`

// pageToTicket logs in through headless Chromium with the extension and
// hostBin (oia-host, or the in-process reference) registered for it, as a clinician does (the sample app's login
// button, the passcode typed into the extension's window), then times
// getTicketNoAuth from the page. It returns the reason when it cannot run.
func pageToTicket(ctx context.Context, o Options, rig *load.Rig, hostBin string) ([]time.Duration, error) {
	if o.Extension == "" || o.PageLibrary == "" || o.InstallerBinary == "" {
		return nil, errors.New("no extension, page library or oia command given (make bench passes build/chrome)")
	}
	for _, p := range []string{filepath.Join(o.Extension, "manifest.json"), o.PageLibrary, o.InstallerBinary} {
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("%s is missing: run make build", p)
		}
	}
	if err := browser.Available(browser.ChromiumPath); err != nil {
		return nil, err
	}
	pki, err := e2erig.SharedPKI()
	if err != nil {
		return nil, err
	}
	app, err := sampleapp.New(sampleapp.Options{PKI: pki, PageLibrary: o.PageLibrary, BrokerURL: rig.Sim.URL(), BrokerCAFile: rig.Sim.CAFile()})
	if err != nil {
		return nil, err
	}
	if err := app.Start(); err != nil {
		return nil, err
	}
	defer app.Close()
	dir, err := os.MkdirTemp(o.Dir, "chromium")
	if err != nil {
		return nil, err
	}
	rootPEM := filepath.Join(dir, "root.pem")
	if err := os.WriteFile(rootPEM, testpki.CertPEM(pki.Root.Cert), 0o644); err != nil {
		return nil, err
	}
	cfg := hostConfig(rig)
	cfg["allowedOrigins"] = []string{app.URL()}
	cfg["logFile"] = filepath.Join(dir, "host.log")
	cfgPath, err := load.WriteConfig(dir, cfg)
	if err != nil {
		return nil, err
	}
	// An agent of this run's own: one already running (the cold start's)
	// would keep the configuration it started with, not this allow-list.
	ag, err := e2erig.NewAgent()
	if err != nil {
		return nil, err
	}
	defer ag.Close()
	env := append([]string{"OIA_CONFIG=" + cfgPath, "OIA_SYSTEM_CONFIG=" + filepath.Join(dir, "none.json"), ag.Env()}, rig.Env()...)
	lctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	b, err := browser.LaunchChromium(lctx, browser.Options{
		Extension: o.Extension,
		Dir:       filepath.Join(dir, "browser"),
		RootCA:    rootPEM,
		Env:       env,
		Setup: func(home, profile string) error {
			cmd := exec.Command(o.InstallerBinary, "install", "--host", hostBin, "--browser", "chromium", "--force", "--chromium-user-data-dir", profile)
			cmd.Env = append(os.Environ(), append(env, "HOME="+home)...)
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Run(); err != nil {
				return fmt.Errorf("oia install: %v: %s", err, out.Bytes())
			}
			return nil
		},
	})
	if err != nil {
		return nil, err
	}
	defer b.Close()
	if _, err := b.WaitExtension(lctx); err != nil {
		return nil, err
	}
	page, err := b.NewPage(lctx, app.URL()+"/")
	if err != nil {
		return nil, err
	}
	// The extension answers on the app's origin once it has the host's
	// hello and its allow-list (docs/e2e.md, waitReady).
	if err := page.Eval(lctx, `(async () => {
		const oia = await import("/oia.js");
		while (!(await oia.isAvailable(250))) {}
		return true;
	})()`, nil); err != nil {
		return nil, fmt.Errorf("the extension never answered on %s: %w", app.URL(), err)
	}
	if err := page.Click(lctx, "#login"); err != nil {
		return nil, err
	}
	prompt, err := b.WaitPrompt(lctx)
	if err != nil {
		return nil, err
	}
	if err := prompt.WaitFor(lctx, browser.PasscodeReady); err != nil {
		return nil, err
	}
	if err := prompt.Type(lctx, "#passcode", rig.PIN); err != nil {
		return nil, err
	}
	if err := prompt.Click(lctx, "#submit"); err != nil {
		return nil, err
	}
	if err := b.WaitPromptClosed(lctx); err != nil {
		return nil, err
	}
	if err := page.WaitFor(lctx, `document.querySelector('#events li[data-event="ticketChanged"]') !== null`); err != nil {
		return nil, fmt.Errorf("the page never saw the login: %w", err)
	}
	var msList []float64
	if err := page.Eval(lctx, fmt.Sprintf(pageTimings, o.PageCalls), &msList); err != nil {
		return nil, err
	}
	ts := make([]time.Duration, len(msList))
	for i, v := range msList {
		ts[i] = time.Duration(v * float64(time.Millisecond))
	}
	return ts, nil
}
