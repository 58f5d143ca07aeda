// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

// Command demo is `make demo`: a smartcard login that anyone can watch work.
// It starts the broker simulator and the sample NHS web app in process,
// makes a virtual smartcard, writes a host configuration, registers the
// built oia-host and the built extension in a fresh browser profile that
// trusts the test root, and opens the browser on the sample app.
//
// With a display ($DISPLAY or $WAYLAND_DISPLAY, and DEMO_HEADLESS unset)
// the browser opens on screen and the person logs in; the demo stays up
// until Ctrl-C or the browser closes. Without one it runs the same login
// headless, driving the page and the extension's passcode window as a
// person would, prints each step, saves screenshots and exits 0 on
// success.
//
// It is a `go run ./e2e/demo` program, not a shipped command. Flags:
//
//	-browser chromium|firefox   default $BROWSER, else chromium
//	-headless                   default: no display, or DEMO_HEADLESS set
//	-out DIR                    screenshots and logs (kept); default build/demo/<time>
//	-bin DIR                    oia-host, oia, oia-vcard; default build/bin
//	-module FILE                the virtual card module; default build/lib/liboia-vcard.so
//	-timeout D                  bound on the headless run; default 90s
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/openidentityagent/oia/e2e/sampleapp"
)

func main() { os.Exit(run()) }

func run() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg, err := parseFlags(os.Args[1:], os.Getenv, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "demo: %v\n", err)
		return 2
	}
	err = Run(ctx, cfg, os.Stdout)
	if errors.Is(err, ErrInterrupted) {
		if cfg.Headless {
			fmt.Fprintln(os.Stderr, "demo: interrupted before the login finished")
			return 130
		}
		return 0 // a person stopping the headed demo is its normal end
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "demo: FAILED: %v\n", err)
		return 1
	}
	return 0
}

// Browsers the demo runs.
const (
	chromium = "chromium"
	firefox  = "firefox"
)

// Config is what one demo run needs. [parseFlags] fills it from the command
// line and the environment; the test fills it itself.
type Config struct {
	// Root is the repository root: build/chrome, build/firefox and the
	// page library are found under it.
	Root string
	// Bin holds the built oia-host, oia and oia-vcard.
	Bin string
	// Module is the virtual card's PKCS#11 module (liboia-vcard.so).
	Module string
	// Browser is "chromium" or "firefox".
	Browser string
	// Headless drives the login itself instead of opening a window for a
	// person.
	Headless bool
	// Out is the folder for screenshots and logs, kept after the run.
	Out string
	// Timeout bounds the whole headless run.
	Timeout time.Duration
}

// parseFlags reads the flags, with defaults from the environment (getenv).
func parseFlags(args []string, getenv func(string) string, stderr io.Writer) (Config, error) {
	root, err := sampleapp.RepoRoot(".")
	if err != nil {
		return Config{}, err
	}
	browserName, warn := browserFromEnv(getenv("BROWSER"))
	if warn != "" {
		fmt.Fprintln(stderr, "demo: "+warn)
	}
	display := getenv("DISPLAY") != "" || getenv("WAYLAND_DISPLAY") != ""
	cfg := Config{Root: root}
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.Browser, "browser", browserName, "the browser: chromium or firefox (default $BROWSER, else chromium)")
	fs.BoolVar(&cfg.Headless, "headless", !display || getenv("DEMO_HEADLESS") != "", "drive the login without a window (default when there is no display or DEMO_HEADLESS is set)")
	fs.StringVar(&cfg.Out, "out", filepath.Join(root, "build", "demo", time.Now().Format("20060102-150405")), "folder for the screenshots and logs (kept)")
	fs.StringVar(&cfg.Bin, "bin", filepath.Join(root, "build", "bin"), "folder holding the built oia-host, oia and oia-vcard")
	fs.StringVar(&cfg.Module, "module", filepath.Join(root, "build", "lib", "liboia-vcard.so"), "the virtual card's PKCS#11 module")
	fs.DurationVar(&cfg.Timeout, "timeout", 90*time.Second, "bound on the whole headless run")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected argument %q: the demo takes only flags (-help lists them)", fs.Arg(0))
	}
	switch cfg.Browser {
	case chromium, firefox:
	default:
		return cfg, fmt.Errorf("-browser %q: use chromium or firefox", cfg.Browser)
	}
	if cfg.Timeout <= 0 {
		return cfg, fmt.Errorf("-timeout %s: give a positive duration such as 90s", cfg.Timeout)
	}
	return cfg, nil
}

// browserFromEnv maps $BROWSER to the demo's browser. Desktops often set
// BROWSER to a launcher (xdg-open, sensible-browser): anything that is not
// recognisably Firefox or Chromium falls back to Chromium with a warning.
func browserFromEnv(v string) (name, warning string) {
	base := strings.ToLower(filepath.Base(v))
	switch {
	case v == "":
		return chromium, ""
	case strings.Contains(base, "firefox"):
		return firefox, ""
	case strings.Contains(base, "chromium"), strings.Contains(base, "chrome"):
		return chromium, ""
	}
	return chromium, fmt.Sprintf("BROWSER=%q is neither chromium nor firefox: using chromium (set BROWSER=firefox for Firefox ESR)", v)
}
