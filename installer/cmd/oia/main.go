// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

// Command oia installs, checks and configures Open Identity Agent on a
// desktop: it registers oia-host with the browsers (oia install, uninstall,
// status), finds what stops a login (oia doctor), and writes the policies an
// IT team deploys (oia policy). Run 'oia help' for the list.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"

	"github.com/openidentityagent/oia"
)

// command is one subcommand: its name, one line of help, and the function
// that runs it with its arguments (without the name) and returns the exit
// status. Adding a subcommand is one entry in [commands].
type command struct {
	name string
	help string
	run  func(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int
}

// commands lists the subcommands in the order 'oia help' shows them.
var commands []command

func init() {
	// Set in init, not in the declaration: the help command reads the
	// table, which would otherwise be an initialization cycle.
	commands = []command{
		{"install", "register oia-host with the browsers (per user, or --system)", runInstall},
		{"uninstall", "remove the registrations that oia install wrote", runUninstall},
		{"status", "show where oia-host is registered, and the agent's session and clients", runStatus},
		{"doctor", "check everything a login needs and say how to fix what is wrong", runDoctor},
		{"login", "log in with the smartcard in this terminal, or show the session there is", runLogin},
		{"logout", "end this desktop's session for every browser and application", runLogout},
		{"ticket", "tell scripts whether there is a ticket (--show-ticket prints it)", runTicket},
		{"agent", "run the per-desktop agent (autostart), or show or stop it", runAgent},
		{"configure", "write keys into the system configuration file (what the MSI runs)", runConfigure},
		{"policy", "write the browser policy an IT team deploys (chrome, edge, firefox, windows, admx, macos)", runPolicy},
		{"version", "print the version", runVersion},
		{"help", "show this help", runHelp},
	}
}

// Exit statuses shared by the subcommands.
const (
	exitOK     = 0
	exitFailed = 1 // the command ran and something is wrong
	exitUsage  = 2 // bad arguments
)

func main() { os.Exit(run()) }

func run() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	return dispatch(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
}

// dispatch runs the subcommand named by args[0].
func dispatch(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		runHelp(ctx, nil, stdin, stderr, stderr)
		return exitUsage
	}
	name := args[0]
	switch name {
	case "-h", "-help", "--help":
		name = "help"
	case "-version", "--version":
		name = "version"
	}
	for _, c := range commands {
		if c.name == name {
			return c.run(ctx, args[1:], stdin, stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "oia: unknown command %q; run 'oia help' for the list\n", args[0])
	return exitUsage
}

func runHelp(_ context.Context, _ []string, _ io.Reader, stdout, _ io.Writer) int {
	fmt.Fprintf(stdout, "oia %s: Open Identity Agent setup and diagnostics\n\nUsage: oia <command> [flags]\n\nCommands:\n", oia.Version)
	width := 0
	for _, c := range commands {
		width = max(width, len(c.name))
	}
	for _, c := range commands {
		fmt.Fprintf(stdout, "  %-*s  %s\n", width, c.name, c.help)
	}
	fmt.Fprintf(stdout, "\nRun 'oia <command> -h' for a command's flags. Documentation: docs/installer.md, docs/deployment.md\n")
	return exitOK
}

func runVersion(_ context.Context, _ []string, _ io.Reader, stdout, _ io.Writer) int {
	fmt.Fprintf(stdout, "oia %s\n", oia.Version)
	return exitOK
}

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string { return strings.Join(*s, ",") }

// Set appends one value.
func (s *stringList) Set(v string) error {
	*s = append(*s, v)
	return nil
}
