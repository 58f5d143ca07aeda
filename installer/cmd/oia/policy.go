// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/openidentityagent/oia/installer/policy"
	"github.com/openidentityagent/oia/manifests"
)

// policyFormats maps 'oia policy FORMAT' to its writer.
var policyFormats = []struct {
	name, help string
	write      func(policy.Settings) ([]byte, error)
}{
	{"chrome", "JSON for /etc/opt/chrome/policies/managed/ (also Chromium: /etc/chromium/policies/managed/)", policy.Chromium},
	{"edge", "JSON for /etc/opt/edge/policies/managed/", policy.Chromium},
	{"brave", "JSON for /etc/brave/policies/managed/", policy.Chromium},
	{"firefox", "policies.json for /etc/firefox/policies/ or Firefox's distribution/ folder", policy.Firefox},
	{"windows", ".reg file for HKLM\\Software\\Policies (Chrome, Edge, Firefox)", policy.WindowsReg},
	{"admx", "oia.admx Group Policy template for PolicyDefinitions\\", policy.ADMX},
	{"adml", "oia.adml strings for PolicyDefinitions\\en-US\\", policy.ADML},
	{"macos", ".mobileconfig profile (Chrome, Edge, Firefox)", policy.MobileConfig},
}

func runPolicy(_ context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	s := policy.Defaults()
	var ids, origins stringList
	var out string
	fs := flag.NewFlagSet("oia policy", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: oia policy FORMAT [flags]\n\nFormats:\n")
		for _, f := range policyFormats {
			fmt.Fprintf(stderr, "  %-8s %s\n", f.name, f.help)
		}
		fmt.Fprintf(stderr, "\nFlags:\n")
		fs.PrintDefaults()
	}
	fs.Var(&ids, "extension-id", "the extension's Chrome id and/or Firefox add-on `ID` (repeatable; default "+policy.DefaultChromeID+" and "+policy.DefaultFirefoxID+")")
	fs.StringVar(&s.UpdateURL, "update-url", "", "https `URL` of the self-hosted update manifest (updates.xml); force-installs the Chromium-family extension")
	fs.StringVar(&s.InstallURL, "install-url", "", "https `URL` of the signed .xpi; force-installs the Firefox add-on")
	fs.Var(&origins, "allowed-origin", "origin `PATTERN` allowed to ask for the ticket, e.g. https://*.nhs.uk (repeatable; default https://*.nhs.uk)")
	fs.BoolVar(&s.AllowFrames, "allow-frames", s.AllowFrames, "let allowed origins ask from inside frames")
	fs.BoolVar(&s.PromptOnCardInsert, "prompt-on-card-insert", s.PromptOnCardInsert, "ask for the passcode as soon as a card is inserted")
	fs.IntVar(&s.PINTimeoutSeconds, "pin-timeout", s.PINTimeoutSeconds, "`SECONDS` the passcode window waits (10 to 600)")
	fs.StringVar(&s.Organization, "organization", s.Organization, "organisation `NAME` shown in the macOS profile")
	fs.StringVar(&out, "out", "", "write to `FILE` instead of stdout")
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help") {
			fs.Usage()
			return exitOK
		}
		fmt.Fprintf(stderr, "oia policy: name a format first: oia policy chrome|edge|brave|firefox|windows|admx|adml|macos [flags]\n")
		return exitUsage
	}
	format := args[0]
	if err := fs.Parse(args[1:]); err != nil {
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "oia policy: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	chrome, firefox, err := manifests.SplitIDs(ids)
	if err != nil {
		fmt.Fprintf(stderr, "oia policy: %v\n", err)
		return exitUsage
	}
	if len(chrome) > 1 || len(firefox) > 1 {
		fmt.Fprintf(stderr, "oia policy: give at most one Chrome id and one Firefox id; write one policy per extension\n")
		return exitUsage
	}
	if len(chrome) == 1 {
		s.ChromeID = chrome[0]
	}
	if len(firefox) == 1 {
		s.FirefoxID = firefox[0]
	}
	if len(origins) > 0 {
		s.AllowedOrigins = origins
	}
	for _, f := range policyFormats {
		if f.name != format {
			continue
		}
		b, err := f.write(s)
		if err != nil {
			fmt.Fprintf(stderr, "oia policy %s: %v\n", format, err)
			return exitUsage
		}
		switch {
		case format == "firefox" && s.InstallURL == "":
			fmt.Fprintf(stderr, "oia policy: note: no --install-url, so this policy configures the add-on but does not install it\n")
		case format != "firefox" && format != "admx" && format != "adml" && s.UpdateURL == "":
			fmt.Fprintf(stderr, "oia policy: note: no --update-url, so this policy configures the extension but does not install it\n")
		}
		if out == "" {
			_, err = stdout.Write(b)
		} else {
			err = writeOut(out, b)
		}
		if err != nil {
			fmt.Fprintf(stderr, "oia policy: %v\n", err)
			return exitFailed
		}
		return exitOK
	}
	fmt.Fprintf(stderr, "oia policy: unknown format %q; use chrome, edge, brave, firefox, windows, admx, adml or macos\n", format)
	return exitUsage
}

// writeOut writes a policy file readable by everyone (browsers read policy
// as the user), creating its directory.
func writeOut(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}
