// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/openidentityagent/oia/host/config"
	"github.com/openidentityagent/oia/host/logging"
	"github.com/openidentityagent/oia/installer/doctor"
)

func runDoctor(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	var f registerFlags
	var requireCard bool
	var skip stringList
	fs := newRegisterFlags("doctor", stderr, &f, false)
	fs.BoolVar(&requireCard, "require-card", false, "fail when no card is inserted (default: a warning)")
	fs.Var(&skip, "skip", "do not run check `NAME`: "+strings.Join(doctor.CheckNames(), ", ")+" (repeatable)")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "oia doctor: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	for _, s := range skip {
		if !slices.Contains(doctor.CheckNames(), s) {
			fmt.Fprintf(stderr, "oia doctor: unknown check %q; use one of %s\n", s, strings.Join(doctor.CheckNames(), ", "))
			return exitUsage
		}
	}
	o, err := f.options(false, false)
	if err != nil {
		fmt.Fprintf(stderr, "oia doctor: %v\n", err)
		return exitUsage
	}
	env := &doctor.Env{
		Register:    o,
		ConfigPaths: configPaths(false, o.Root),
		HostPath:    o.HostPath,
		Cards:       doctor.DefaultCardProber(),
		Broker:      doctor.TLSProber{},
		Agent:       doctor.EndpointProber{},
		LogPath:     func(*config.Config) (string, error) { return logging.DefaultPath() },
		RequireCard: requireCard,
		Skip:        skip,
	}
	report := doctor.Run(ctx, env)
	if f.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(report); err != nil {
			return exitFailed
		}
	} else {
		printReport(stdout, report)
	}
	if !report.OK {
		return exitFailed
	}
	return exitOK
}

// printReport writes one line per finding, its fix indented below it, and
// a verdict.
func printReport(w io.Writer, r doctor.Report) {
	errs, warns := 0, 0
	for _, f := range r.Findings {
		fmt.Fprintf(w, "%-9s %-12s %s: %s\n", "["+string(f.Status)+"]", f.Check, f.Subject, f.Detail)
		if f.Fix != "" {
			fmt.Fprintf(w, "          fix: %s\n", f.Fix)
		}
		switch f.Status {
		case doctor.Error:
			errs++
		case doctor.Warning:
			warns++
		}
	}
	switch {
	case errs > 0:
		fmt.Fprintf(w, "\n%d problem(s) stop a login, %d warning(s): apply the fixes above, then run 'oia doctor' again\n", errs, warns)
	case warns > 0:
		fmt.Fprintf(w, "\nready, with %d warning(s)\n", warns)
	default:
		fmt.Fprintf(w, "\nready\n")
	}
}
