// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

// Command run is `make bench`'s driver: it measures the built oia-host
// with e2e/bench and prints the figures, then the machine they came from.
//
//	go run ./e2e/bench/internal/run -bin build/bin -lib build/lib
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/openidentityagent/oia/e2e/bench"
	"github.com/openidentityagent/oia/e2e/vcard"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	bin := fs.String("bin", "build/bin", "the folder holding the built oia-host")
	lib := fs.String("lib", "build/lib", "the folder holding "+vcard.LibName)
	logins := fs.Int("logins", 50, "logins on each side of the overhead")
	colds := fs.Int("cold", 50, "cold starts of each program")
	trips := fs.Int("roundtrips", 5000, "status round trips")
	cycles := fs.Int("cycles", 1000, "login and logout cycles for the memory figure")
	ext := fs.String("extension", "build/chrome", "the unpacked Chrome extension, for the headless Chromium figure")
	pageLib := fs.String("page-library", "extension/dist/page/oia.js", "the page library the sample app serves")
	pageCalls := fs.Int("page-calls", 50, "getTicketNoAuth calls timed in the page")
	idle := fs.Duration("idle", time.Minute, "how long the PIV card sits unused for idle_apdus_per_min")
	cardLogins := fs.Int("card-logins", 10, "logins timed through OpenSC")
	removals := fs.Int("removals", 5, "card removals and insertions timed through OpenSC")
	only := fs.String("only", "", "comma-separated groups to measure (login, card, cold, roundtrip, memory, page); default all")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	dir, err := os.MkdirTemp("", "oia-bench")
	if err != nil {
		fmt.Fprintln(stderr, "bench:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	abs := func(p string) string { a, _ := filepath.Abs(p); return a }
	inproc := filepath.Join(dir, "inproc")
	build := exec.Command("go", "build", "-o", inproc, "github.com/openidentityagent/oia/e2e/bench/internal/inproc")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(stderr, "bench: build the in-process reference (its figures will be unavailable): %v: %s\n", err, out)
		inproc = ""
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	rep, err := bench.Run(ctx, bench.Options{
		HostBinary: filepath.Join(abs(*bin), "oia-host"),
		ModulePath: filepath.Join(abs(*lib), vcard.LibName),
		Dir:        dir,
		Logins:     *logins,
		ColdStarts: *colds,
		Roundtrips: *trips,
		Cycles:     *cycles,

		Extension:       abs(*ext),
		PageLibrary:     abs(*pageLib),
		InstallerBinary: filepath.Join(abs(*bin), "oia"),
		PageCalls:       *pageCalls,
		InProcessBinary: inproc,

		PIVCardBinary: filepath.Join(abs(*bin), "oia-pivcard"),
		Idle:          *idle,
		CardLogins:    *cardLogins,
		Removals:      *removals,
		Only:          strings.FieldsFunc(*only, func(r rune) bool { return r == ',' }),

		Progress: stderr,
	})
	if err != nil {
		fmt.Fprintln(stderr, "bench:", err)
		return 1
	}
	rep.Print(stdout)
	fmt.Fprintf(stdout, "\nmachine: %d CPUs, %s, %s %s/%s\n", runtime.NumCPU(), cpuModel(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return 0
}

// cpuModel is the first "model name" of /proc/cpuinfo.
func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}
