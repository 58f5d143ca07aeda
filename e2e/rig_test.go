// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openidentityagent/oia/e2e/brokersim"
	"github.com/openidentityagent/oia/e2e/browser"
	e2erig "github.com/openidentityagent/oia/e2e/rig"
	"github.com/openidentityagent/oia/e2e/sampleapp"
	"github.com/openidentityagent/oia/e2e/testpki"
	"github.com/openidentityagent/oia/e2e/vcard"
)

// Jane's card and the simulator's users (brokersim.DefaultUsers).
const (
	janeUID  = "555000111222"
	janeName = "Jane Smith"
	janePIN  = "123456"
)

// repoRoot is the repository root: the tests run in e2e/.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// commands returns the directory holding oia-host and oia: $OIA_BIN when
// make built them, else the directory e2e/rig.Binary builds them into.
func commands(t *testing.T) string {
	t.Helper()
	host, err := e2erig.Binary("oia-host")
	if err != nil {
		t.Fatal(err)
	}
	oia, err := e2erig.Binary("oia")
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(host) != filepath.Dir(oia) {
		t.Fatalf("oia-host (%s) and oia (%s) are not side by side: set OIA_BIN to a folder holding both", host, oia)
	}
	return filepath.Dir(host)
}

// rig is what both browsers share: the test PKI, the broker simulator and
// the sample app.
type rig struct {
	pki *testpki.PKI
	sim *brokersim.Server
	app *sampleapp.Server
	// rootPEM is the test root, which the browsers trust for the app.
	rootPEM string
	bin     string
	jane    *testpki.User
	libPath string

	otherOnce sync.Once
	other     *sampleapp.Server
	otherErr  error
}

// otherApp is a second sample app, on another port and so another origin,
// that is not on the allow-list.
func (r *rig) otherApp(t *testing.T) *sampleapp.Server {
	t.Helper()
	r.otherOnce.Do(func() {
		r.other, r.otherErr = sampleapp.New(sampleapp.Options{PKI: r.pki, PageLibrary: r.libPath, BrokerURL: r.sim.URL(), BrokerCAFile: r.sim.CAFile(), TestPages: true})
		if r.otherErr == nil {
			r.otherErr = r.other.Start()
		}
	})
	if r.otherErr != nil {
		t.Fatal(r.otherErr)
	}
	return r.other
}

func newRig(t *testing.T) *rig {
	t.Helper()
	root := repoRoot(t)
	lib := filepath.Join(root, filepath.FromSlash(sampleapp.PageLibraryPath))
	if _, err := os.Stat(lib); err != nil {
		t.Skipf("the page library %s is not built: run make extension", lib)
	}
	r := &rig{bin: commands(t), libPath: lib}
	var err error
	if r.pki, err = testpki.New(); err != nil {
		t.Fatal(err)
	}
	if r.jane, err = r.pki.IssueUser(janeUID, janeName); err != nil {
		t.Fatal(err)
	}
	if r.sim, err = brokersim.New(brokersim.Options{PKI: r.pki, AdminAddr: "off"}); err != nil {
		t.Fatal(err)
	}
	if err := r.sim.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.sim.Close() })
	if r.app, err = sampleapp.New(sampleapp.Options{PKI: r.pki, PageLibrary: lib, BrokerURL: r.sim.URL(), BrokerCAFile: r.sim.CAFile(), TestPages: true}); err != nil {
		t.Fatal(err)
	}
	if err := r.app.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = r.app.Close()
		if r.other != nil {
			_ = r.other.Close()
		}
	})
	r.rootPEM = filepath.Join(t.TempDir(), "root.pem")
	if err := os.WriteFile(r.rootPEM, testpki.CertPEM(r.pki.Root.Cert), 0o644); err != nil {
		t.Fatal(err)
	}
	return r
}

// suite is one browser with its own card and host configuration, launched
// once for all its scenarios.
type suite struct {
	*rig
	name string // chromium or firefox
	b    browser.Browser
	card *vcard.Card // our module's card; nil on the OpenSC chain
	// slot is the reader the suite's card sits in, on either chain;
	// cardEnv is what the host needs to reach that chain.
	slot    cardSlot
	cardEnv []string
	hostLog string
	// agent is the endpoint of the agent the browser's hosts share.
	agent *e2erig.Agent
	// dir holds the browser's profile and the extension's snapshot;
	// cfgPath is the host configuration, sysPath the system one (a
	// missing file unless launchOptions.system wrote it).
	dir, cfgPath, sysPath string
}

// launch starts browserName with the extension, a fresh card in the reader,
// and oia-host registered for it in the fresh profile.
func (r *rig) launch(t *testing.T, browserName string) *suite {
	t.Helper()
	return r.launchWith(t, browserName, launchOptions{})
}

// launchOptions vary a launch for the scenarios that need a browser of
// their own.
type launchOptions struct {
	// config changes the host configuration before it is written.
	config func(cfg map[string]any)
	// noHost leaves oia-host unregistered in the profile (no oia install).
	noHost bool
	// readyURL is the allowed page the launch waits on; default the app.
	// "-" does not wait.
	readyURL string
	// agent is the agent endpoint to use, to share one agent (and so one
	// session) between browsers; default a private one for this browser.
	agent *e2erig.Agent
	// share launches another browser beside a running one, on its card,
	// configuration, log and agent: one desktop, two browsers.
	share *suite
	// again starts a closed browser again on its own profile, with its
	// card, configuration, log and agent (config and agent are ignored).
	again *suite
	// system is the system configuration (OIA_SYSTEM_CONFIG, which a
	// development build trusts); nil leaves it missing, so the machine's
	// /etc is never read.
	system map[string]any
	// openSC puts Jane's card behind the chain a trust's Linux desktop
	// has: OpenSC's module over a private pcscd, with the virtual PIV
	// card (e2e/pivcard) in its reader, instead of our module's card.
	openSC bool
}

// launchWith is launch with o.
func (r *rig) launchWith(t *testing.T, browserName string, o launchOptions) *suite {
	t.Helper()
	ext := filepath.Join(repoRoot(t), "build", map[string]string{"chromium": "chrome", "firefox": "firefox"}[browserName])
	if _, err := os.Stat(filepath.Join(ext, "manifest.json")); err != nil {
		t.Skipf("the extension %s is not built: run make extension", ext)
	}
	var s *suite
	var err error
	switch {
	case o.again != nil:
		s = &suite{rig: r, name: browserName, hostLog: o.again.hostLog, card: o.again.card, slot: o.again.slot, cardEnv: o.again.cardEnv,
			agent: o.again.agent, dir: o.again.dir, cfgPath: o.again.cfgPath, sysPath: o.again.sysPath}
		o.share = s // the card, configuration and agent are the old run's
	case o.share != nil:
		s = &suite{rig: r, name: browserName, hostLog: o.share.hostLog, card: o.share.card, slot: o.share.slot, cardEnv: o.share.cardEnv,
			agent: o.share.agent, dir: t.TempDir(), cfgPath: o.share.cfgPath, sysPath: o.share.sysPath}
	default:
		s = &suite{rig: r, name: browserName, dir: t.TempDir()}
		s.hostLog = filepath.Join(s.dir, "host.log")
	}
	dir := s.dir
	// A snapshot: a rebuild of build/ while the browser runs must not
	// change the extension under it.
	snap := filepath.Join(dir, "extension")
	if o.again == nil {
		if err := os.CopyFS(snap, os.DirFS(ext)); err != nil {
			t.Fatalf("copy the extension %s: %v", ext, err)
		}
	}
	ext = snap
	if o.share == nil {
		if err := s.writeConfig(t, o); err != nil {
			t.Fatal(err)
		}
	}
	if s.agent == nil {
		s.agent = o.agent
	}
	if s.agent == nil {
		if s.agent, err = e2erig.NewAgent(); err != nil {
			t.Fatal(err)
		}
		// Registered before the browser's close, so it runs after it.
		t.Cleanup(func() {
			if err := s.agent.Close(); err != nil {
				t.Errorf("stop the agent: %v", err)
			}
		})
	}
	cfgPath := s.cfgPath
	env := append([]string{
		"OIA_CONFIG=" + cfgPath,
		"OIA_SYSTEM_CONFIG=" + s.sysPath,
		s.agent.Env(),
	}, s.cardEnv...)
	opts := browser.Options{
		Extension: ext,
		Dir:       filepath.Join(dir, "browser"),
		RootCA:    r.rootPEM,
		Env:       env,
		Setup: func(home, profile string) error {
			if o.noHost {
				return nil
			}
			args := []string{"install", "--host", filepath.Join(r.bin, "oia-host"), "--browser", browserName, "--force"}
			if browserName == "chromium" {
				args = append(args, "--chromium-user-data-dir", profile)
			} else {
				args = append(args, "--home", home)
			}
			cmd := exec.Command(filepath.Join(r.bin, "oia"), args...)
			cmd.Env = append(os.Environ(), append(env, "HOME="+home)...)
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Run(); err != nil {
				return errors.New("oia " + strings.Join(args, " ") + ": " + err.Error() + ": " + out.String())
			}
			return nil
		},
		Log: func(line string) {
			// Chromium's stderr carries the host's stderr; keep it for a
			// failure, quietly.
			if testing.Verbose() {
				t.Logf("%s: %s", browserName, line)
			}
		},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if browserName == "chromium" {
		s.b, err = browser.LaunchChromium(ctx, opts)
	} else {
		s.b, err = browser.LaunchFirefox(ctx, opts)
	}
	if errors.Is(err, browser.ErrNotInstalled) {
		t.Skipf("%v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.b.Close(); err != nil {
			t.Errorf("close %s: %v", browserName, err)
		}
	})
	if _, err := s.b.WaitExtension(ctx); err != nil {
		t.Fatal(err)
	}
	switch o.readyURL {
	case "-":
	case "":
		s.waitReady(t, ctx, s.app.URL())
	default:
		s.waitReady(t, ctx, o.readyURL)
	}
	return s
}

// writeConfig makes the suite's own card (Jane's) and writes its host
// configuration, changed by o.config.
func (s *suite) writeConfig(t *testing.T, o launchOptions) error {
	t.Helper()
	module, err := s.insertCard(t, o.openSC)
	if err != nil {
		return err
	}
	r := s.rig
	cfg := map[string]any{
		"pkcs11Modules":        []string{module},
		"brokerURL":            r.sim.URL(),
		"caBundle":             r.sim.CAFile(),
		"allowedOrigins":       []string{r.app.URL()},
		"promptOnCardInsert":   false,
		"cardPollMilliseconds": 100,
		"logFile":              s.hostLog,
		"logLevel":             "debug",
	}

	if o.config != nil {
		o.config(cfg)
	}
	b, _ := json.Marshal(cfg)
	s.cfgPath = filepath.Join(s.dir, "oia.json")
	if err := os.WriteFile(s.cfgPath, b, 0o600); err != nil {
		return err
	}
	s.sysPath = filepath.Join(s.dir, "no-system-config.json")
	if o.system == nil {
		return nil
	}
	s.sysPath = filepath.Join(s.dir, "system.json")
	b, _ = json.Marshal(o.system)
	return os.WriteFile(s.sysPath, b, 0o644)
}

// waitReady waits until the extension answers on the app's origin: until
// it has heard the host's hello and registered its content script there, as
// it long has in a clinician's running browser. Before that a page on the
// app gets no content script (by design an unlisted site learns nothing)
// and a scenario would see NO_EXTENSION. The page asks with the page
// library's isAvailable, the public detection of docs/protocol.md §2.4;
// the content script comes into the open page when the list arrives.
func (s *suite) waitReady(t *testing.T, ctx context.Context, origin string) {
	t.Helper()
	start := time.Now()
	page, err := s.b.NewPage(ctx, origin+"/")
	must(t, err)
	defer page.Close(ctx)
	if err := page.Eval(ctx, `(async () => {
		const oia = await import("/oia.js");
		while (!(await oia.isAvailable(250))) { /* each try waits 250 ms for an answer */ }
		return true;
	})()`, nil); err != nil {
		t.Fatalf("the extension never answered on %s: %v", origin, err)
	}
	t.Logf("%s: the extension answered %s after launch", s.name, time.Since(start).Round(time.Millisecond))
}

// dumpHostLog shows the end of the host's log when a scenario failed.
func (s *suite) dumpHostLog(t *testing.T) {
	t.Helper()
	if !t.Failed() {
		return
	}
	b, err := os.ReadFile(s.hostLog)
	if err != nil {
		t.Logf("host log: %v", err)
		return
	}
	if len(b) > 8<<10 {
		b = b[len(b)-8<<10:]
	}
	t.Logf("end of the host log %s:\n%s", s.hostLog, b)
}
