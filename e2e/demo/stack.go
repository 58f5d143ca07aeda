// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/openidentityagent/oia/e2e/brokersim"
	"github.com/openidentityagent/oia/e2e/rig"
	"github.com/openidentityagent/oia/e2e/sampleapp"
	"github.com/openidentityagent/oia/e2e/testpki"
	"github.com/openidentityagent/oia/e2e/vcard"
)

// The demo card: the simulator's first built-in user, who has three roles.
const (
	cardUID  = rig.UID
	cardName = rig.Name
	passcode = rig.PIN
)

// reporter prints the demo's steps, each with the time since the start.
type reporter struct {
	w     io.Writer
	start time.Time
	mu    sync.Mutex
}

func newReporter(w io.Writer) *reporter { return &reporter{w: w, start: time.Now()} }

// say prints one step.
func (r *reporter) say(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	fmt.Fprintf(r.w, "[%5.1fs] %s\n", time.Since(r.start).Seconds(), fmt.Sprintf(format, args...))
}

// plain prints lines as they are (instructions for a person).
func (r *reporter) plain(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	fmt.Fprintln(r.w, s)
}

// stack is everything the demo starts besides the browser: the broker
// simulator, the virtual card, the sample app and the host configuration,
// in a temporary working directory that Close removes. Only cfg.Out (the
// screenshots and logs) survives.
type stack struct {
	cfg     Config
	work    string // temporary; removed by Close
	rig     *rig.Rig
	pki     *testpki.PKI
	sim     *brokersim.Server
	app     *sampleapp.Server
	card    *vcard.Card
	rootPEM string   // the test root, trusted by the browser profile
	env     []string // the host's environment: OIA_CONFIG, OIA_SYSTEM_CONFIG, OIA_VCARD_DIR
	hostLog string   // in cfg.Out
	ext     string   // snapshot of the built extension (unpacked)
	closers []func()
}

// startStack checks that what the demo needs is built, then starts the
// simulator and the sample app, makes the card and writes the host
// configuration. On error it has stopped whatever it started.
func startStack(ctx context.Context, cfg Config, r *reporter) (s *stack, err error) {
	if err := checkBuilt(cfg); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.Out, 0o755); err != nil {
		return nil, fmt.Errorf("make the output folder: %w", err)
	}
	s = &stack{cfg: cfg, hostLog: filepath.Join(cfg.Out, "host.log")}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	if s.work, err = os.MkdirTemp("", "oia-demo-"); err != nil {
		return s, err
	}
	s.closers = append(s.closers, func() { _ = os.RemoveAll(s.work) })
	r.say("working directory %s (removed at the end); screenshots and logs go to %s", s.work, cfg.Out)

	rg, err := rig.Start(rig.Options{Dir: s.work, ModulePath: cfg.Module})
	if err != nil {
		return s, fmt.Errorf("start the broker simulator and make the virtual card: %w", err)
	}
	s.closers = append(s.closers, func() { _ = rg.Close() })
	s.rig, s.sim, s.card = rg, rg.Sim, rg.Card
	if s.pki, err = rig.SharedPKI(); err != nil {
		return s, err
	}
	r.say("started the broker simulator at %s (its TLS certificate is from the test root %s)", s.sim.URL(), s.sim.CAFile())
	r.say("virtual card %s (%s) inserted, passcode %s", cardUID, cardName, passcode)
	r.say("  to pull the card from another terminal: %s=%s %s remove", vcard.EnvDir, s.card.Dir(), filepath.Join(cfg.Bin, "oia-vcard"))

	s.app, err = sampleapp.New(sampleapp.Options{
		PKI:          s.pki,
		PageLibrary:  filepath.Join(cfg.Root, filepath.FromSlash(sampleapp.PageLibraryPath)),
		BrokerURL:    s.sim.URL(),
		BrokerCAFile: s.sim.CAFile(),
	})
	if err != nil {
		return s, err
	}
	if err := s.app.Start(); err != nil {
		return s, fmt.Errorf("start the sample app: %w", err)
	}
	s.closers = append(s.closers, func() { _ = s.app.Close() })
	r.say("started the sample NHS app at %s", s.app.URL())

	s.rootPEM = filepath.Join(s.work, "root.pem")
	if err := os.WriteFile(s.rootPEM, testpki.CertPEM(s.pki.Root.Cert), 0o644); err != nil {
		return s, err
	}
	if err := s.writeHostConfig(); err != nil {
		return s, err
	}
	r.say("wrote the host configuration: allowedOrigins [%s], the simulator's URL and CA, the module %s; host log %s", s.app.URL(), cfg.Module, s.hostLog)

	// A snapshot: a rebuild of build/ during the demo must not change the
	// extension under the browser.
	src := filepath.Join(cfg.Root, "build", extDir(cfg.Browser))
	s.ext = filepath.Join(s.work, "extension")
	if err := os.CopyFS(s.ext, os.DirFS(src)); err != nil {
		return s, fmt.Errorf("copy the extension %s: %w", src, err)
	}
	return s, ctx.Err()
}

// writeHostConfig writes the host's configuration and sets s.env. The
// system configuration is pointed at a file that does not exist, so that
// the machine's own /etc/oia stays out of the demo.
func (s *stack) writeHostConfig() (err error) {
	c := s.rig.Config
	c["allowedOrigins"] = []string{s.app.URL()}
	c["promptOnCardInsert"] = false // the login starts from the page's button
	c["cardPollMilliseconds"] = 250
	c["logFile"] = s.hostLog
	if s.env, err = s.rig.Env(); err != nil {
		return fmt.Errorf("write the host configuration: %w", err)
	}
	return nil
}

// install registers the built oia-host for the browser with the built
// `oia install`, in the fresh profile (Chromium) or HOME (Firefox).
func (s *stack) install(ctx context.Context, home, profile string) error {
	args := []string{"install", "--host", filepath.Join(s.cfg.Bin, "oia-host"), "--browser", s.cfg.Browser, "--force"}
	if s.cfg.Browser == chromium {
		args = append(args, "--chromium-user-data-dir", profile)
	} else {
		args = append(args, "--home", home)
	}
	cmd := exec.CommandContext(ctx, filepath.Join(s.cfg.Bin, "oia"), args...)
	cmd.Env = append(os.Environ(), append(s.env, "HOME="+home)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("oia %s: %v: %s", strings.Join(args, " "), err, bytes.TrimSpace(out.Bytes()))
	}
	return nil
}

// Close stops the servers and removes the working directory, last started
// first. It may be called on a partly started stack.
func (s *stack) Close() {
	for i := len(s.closers) - 1; i >= 0; i-- {
		s.closers[i]()
	}
	s.closers = nil
}

// extDir is the built extension's folder under build/.
func extDir(browserName string) string {
	if browserName == firefox {
		return "firefox"
	}
	return "chrome"
}

// checkBuilt fails with the make target to run when a built part is
// missing.
func checkBuilt(cfg Config) error {
	var missing []string
	for _, p := range []string{
		filepath.Join(cfg.Bin, "oia-host"),
		filepath.Join(cfg.Bin, "oia"),
		cfg.Module,
		filepath.Join(cfg.Root, "build", extDir(cfg.Browser), "manifest.json"),
		filepath.Join(cfg.Root, filepath.FromSlash(sampleapp.PageLibraryPath)),
	} {
		if _, err := os.Stat(p); err != nil {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		return errors.New("not built: " + strings.Join(missing, ", ") + ": run make build (make demo does)")
	}
	return nil
}
