// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package main

import (
	"archive/zip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/openidentityagent/oia/e2e/browser"
)

// stopGrace is how long the browser gets to exit on SIGTERM before it is
// killed.
const stopGrace = 5 * time.Second

// runHeaded opens the browser on screen, on the sample app, for a person to
// log in, and waits for Ctrl-C or the browser to close. The browser is an
// ordinary process in its own process group (with oia-host, which it
// starts), stopped as a group at the end. It is not driven, so no
// remote-debugging port is opened.
func runHeaded(ctx context.Context, s *stack, r *reporter) error {
	dir := filepath.Join(s.work, "browser")
	home, profile := filepath.Join(dir, "home"), filepath.Join(dir, "profile")
	for _, d := range []string{home, profile} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return err
		}
	}
	nssDB := filepath.Join(home, ".pki", "nssdb") // Chromium on Linux
	if s.cfg.Browser == firefox {
		nssDB = profile // Firefox keeps its NSS database in the profile
	}
	if err := browser.TrustRoot(ctx, nssDB, s.rootPEM); err != nil {
		return fmt.Errorf("trust the test root in the profile: %w", err)
	}
	if err := s.install(ctx, home, profile); err != nil {
		return err
	}
	r.say("registered oia-host for %s with oia install in the fresh profile, and trusted the test root there", s.cfg.Browser)

	wp, err := startWaitingPage(s.pki, s.app.URL())
	if err != nil {
		return fmt.Errorf("start the waiting page: %w", err)
	}
	defer wp.Close()
	var cmd *exec.Cmd
	if s.cfg.Browser == firefox {
		cmd, err = firefoxHeaded(s, profile, wp.URL())
	} else {
		cmd, err = chromiumHeaded(s, profile, wp.URL())
	}
	if err != nil {
		return err
	}
	cmd.Env = browserEnv(home, s.env)
	logFile, err := os.Create(filepath.Join(s.cfg.Out, "browser.log"))
	if err != nil {
		return err
	}
	defer logFile.Close()
	cmd.Stdout, cmd.Stderr = logFile, logFile
	ownGroup(cmd)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", cmd.Path, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	r.say("started %s (pid %d) on a waiting page; its extension starts oia-host", s.cfg.Browser, cmd.Process.Pid)
	if err := openWhenReady(ctx, s, wp, exited); err != nil {
		stopGroup(cmd, exited, stopGrace)
		return err
	}
	r.say("oia-host is running; the browser moved on to the sample app %s", s.app.URL())
	r.plain(instructions(s))

	select {
	case err := <-exited:
		r.say("the browser closed; stopping")
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			return fmt.Errorf("%s: %w", s.cfg.Browser, err)
		}
		// The browser has gone; oia-host sees its stdin close and goes
		// too, but stop anything left in the group.
		stopGroup(cmd, nil, 0)
		return nil
	case <-ctx.Done():
		r.say("stopping the browser and oia-host")
		stopGroup(cmd, exited, stopGrace)
		return nil
	}
}

// hostStartTimeout bounds the wait for the extension to start oia-host.
const hostStartTimeout = 30 * time.Second

// openWhenReady lets the waiting page move on to the sample app once the
// extension has started oia-host (the host's log file appears), and waits
// until the page has done so.
func openWhenReady(ctx context.Context, s *stack, wp *waitingPage, exited <-chan error) error {
	ctx, cancel := context.WithTimeout(ctx, hostStartTimeout)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		if st, err := os.Stat(s.hostLog); err == nil && st.Size() > 0 {
			break
		}
		select {
		case err := <-exited:
			return fmt.Errorf("%s exited before its extension started oia-host (%v): see %s", s.cfg.Browser, err, filepath.Join(s.cfg.Out, "browser.log"))
		case <-ctx.Done():
			return fmt.Errorf("the extension did not start oia-host within %s: see %s and %s", hostStartTimeout, filepath.Join(s.cfg.Out, "browser.log"), s.hostLog)
		case <-tick.C:
		}
	}
	wp.Ready()
	select {
	case <-wp.Reached():
		return nil
	case err := <-exited:
		return fmt.Errorf("%s exited (%v): see %s", s.cfg.Browser, err, filepath.Join(s.cfg.Out, "browser.log"))
	case <-ctx.Done():
		return fmt.Errorf("the browser did not load the waiting page %s within %s: see %s", wp.URL(), hostStartTimeout, filepath.Join(s.cfg.Out, "browser.log"))
	}
}

// instructions tell the person what to do.
func instructions(s *stack) string {
	vc := fmt.Sprintf("OIA_VCARD_DIR=%s %s", s.card.Dir(), filepath.Join(s.cfg.Bin, "oia-vcard"))
	return strings.Join([]string{
		"",
		"The browser is open on the sample NHS app, " + s.app.URL() + ". To log in:",
		`  1. Click "Log in with smartcard".`,
		"  2. In the Open Identity Agent window that opens, type the passcode " + passcode + " and press Log in.",
		"  3. Pick a role and press Continue: the page shows the user, role and organisation,",
		"     and the app's server confirms the ticket at the broker simulator.",
		"Pull the card (the page logs you out):   " + vc + " remove",
		"Put it back:                             " + vc + " insert",
		"Card state:                              " + vc + " status",
		"The host log is " + s.hostLog + ".",
		"Press Ctrl-C here, or close the browser, to stop.",
		"",
	}, "\n")
}

// chromiumHeaded is Chromium on screen with the extension loaded and the
// fresh profile, whose NativeMessagingHosts folder oia install wrote.
func chromiumHeaded(s *stack, profile, startURL string) (*exec.Cmd, error) {
	if err := browser.Available(browser.ChromiumPath); err != nil {
		return nil, err
	}
	args := []string{
		"--user-data-dir=" + profile,
		"--no-first-run", "--no-default-browser-check",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-extensions-except=" + s.ext,
		"--load-extension=" + s.ext,
	}
	if os.Geteuid() == 0 {
		// Chromium refuses to run as root with its sandbox.
		args = append(args, "--no-sandbox")
	}
	return exec.Command(browser.ChromiumPath, append(args, startURL)...), nil
}

// firefoxHeaded is Firefox ESR on screen with the extension installed in
// the profile. Without a driver there is no temporary install, so the
// unpacked extension is zipped into <profile>/extensions/<gecko id>.xpi;
// ESR honours xpinstall.signatures.required=false for this unsigned build,
// and extensions.autoDisableScopes=0 enables it without asking.
func firefoxHeaded(s *stack, profile, startURL string) (*exec.Cmd, error) {
	if err := browser.Available(browser.FirefoxPath); err != nil {
		return nil, err
	}
	id, err := browser.GeckoID(s.ext)
	if err != nil {
		return nil, err
	}
	xpi := filepath.Join(profile, "extensions", id+".xpi")
	if err := zipDir(s.ext, xpi); err != nil {
		return nil, fmt.Errorf("pack the extension: %w", err)
	}
	prefs := strings.Join([]string{
		`user_pref("xpinstall.signatures.required", false);`,
		`user_pref("extensions.autoDisableScopes", 0);`,
		`user_pref("extensions.enabledScopes", 15);`,
		`user_pref("browser.shell.checkDefaultBrowser", false);`,
		`user_pref("browser.aboutwelcome.enabled", false);`,
		`user_pref("browser.startup.homepage_override.mstone", "ignore");`,
		`user_pref("datareporting.policy.dataSubmissionEnabled", false);`,
		`user_pref("toolkit.telemetry.reportingpolicy.firstRun", false);`,
		`user_pref("app.update.enabled", false);`,
	}, "\n") + "\n"
	if err := os.WriteFile(filepath.Join(profile, "user.js"), []byte(prefs), 0o600); err != nil {
		return nil, err
	}
	return exec.Command(browser.FirefoxPath, "--no-remote", "--profile", profile, startURL), nil
}

// zipDir writes the files under dir into a zip archive at dst, with
// manifest.json at its root.
func zipDir(dir, dst string) (err error) {
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return err
	}
	f, err := os.Create(dst)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	zw := zip.NewWriter(f)
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		w, err := zw.Create(filepath.ToSlash(rel))
		if err != nil {
			return err
		}
		src, err := os.Open(path)
		if err != nil {
			return err
		}
		defer src.Close()
		_, err = io.Copy(w, src)
		return err
	})
	if err != nil {
		return err
	}
	return zw.Close()
}

// browserEnv is our environment with HOME (and the XDG folders under it)
// replaced by the fresh one, and the host's settings added.
func browserEnv(home string, extra []string) []string {
	var env []string
	for _, kv := range os.Environ() {
		switch strings.SplitN(kv, "=", 2)[0] {
		case "HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME":
			continue
		}
		env = append(env, kv)
	}
	env = append(env, "HOME="+home,
		"XDG_CONFIG_HOME="+filepath.Join(home, ".config"),
		"XDG_CACHE_HOME="+filepath.Join(home, ".cache"),
		"XDG_DATA_HOME="+filepath.Join(home, ".local", "share"),
		"MOZ_CRASHREPORTER_DISABLE=1")
	return append(env, extra...)
}
