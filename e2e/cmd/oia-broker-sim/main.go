// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

// Command oia-broker-sim runs a Spine Security Broker simulator over HTTPS
// on loopback, for tests and the demo (docs/broker.md).
//
// On start it prints three lines to stdout, then serves until interrupted:
//
//	OIA_BROKER_URL=https://127.0.0.1:PORT
//	OIA_BROKER_CA=/path/to/root.pem
//	OIA_BROKER_ADMIN=http://127.0.0.1:PORT
//
// Usage:
//
//	oia-broker-sim [--addr 127.0.0.1:0] [--admin-addr 127.0.0.1:0|off]
//	               [--pki DIR] [--state DIR] [--users FILE]
//	               [--session-time 600s] [--max-session-time D] [--challenge-ttl 120s]
//	               [--fault endpoint:kind[:arg][:count]]...
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/openidentityagent/oia"
	"github.com/openidentityagent/oia/e2e/brokersim"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

type faultFlags []brokersim.Fault

func (f *faultFlags) String() string { return fmt.Sprint(len(*f)) }

func (f *faultFlags) Set(s string) error {
	fault, err := brokersim.ParseFault(s)
	if err != nil {
		return err
	}
	*f = append(*f, fault)
	return nil
}

// run starts the simulator and serves until ctx ends or a signal arrives.
// It returns the exit status: 0 after a clean stop, 1 on failure, 2 on bad
// usage.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("oia-broker-sim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var opts brokersim.Options
	var usersFile string
	var faults faultFlags
	var version bool
	fs.StringVar(&opts.Addr, "addr", "127.0.0.1:0", "HTTPS listen address")
	fs.StringVar(&opts.AdminAddr, "admin-addr", "127.0.0.1:0", "admin HTTP listen address (loopback), or off")
	fs.StringVar(&opts.PKIDir, "pki", "", "test PKI directory, loaded or created (default <state>/pki, else a temporary one)")
	fs.StringVar(&opts.StateDir, "state", "", "directory for live tickets and the request log (default: memory only)")
	fs.StringVar(&usersFile, "users", "", "users JSON file (default: the built-in users)")
	fs.DurationVar(&opts.SessionTime, "session-time", brokersim.DefaultSessionTime, "sso_session_time: a ticket dies after this long unused")
	fs.DurationVar(&opts.MaxSessionTime, "max-session-time", 0, "sso_max_session_time (default: the session time)")
	fs.DurationVar(&opts.ChallengeTTL, "challenge-ttl", brokersim.DefaultChallengeTTL, "how long a challenge can be redeemed")
	fs.Var(&faults, "fault", "inject a fault, endpoint:kind[:arg][:count], e.g. validate:delay:5s, activate:status:503:2, *:tls:1 (repeatable)")
	fs.BoolVar(&version, "version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "oia-broker-sim: unexpected argument %q: see -help\n", fs.Arg(0))
		return 2
	}
	if version {
		fmt.Fprintln(stdout, "oia-broker-sim", oia.Version)
		return 0
	}
	if usersFile != "" {
		users, err := brokersim.LoadUsers(usersFile)
		if err != nil {
			fmt.Fprintf(stderr, "oia-broker-sim: %v\n", err)
			return 1
		}
		opts.Users = users
	}
	opts.Faults = faults
	opts.ErrorLog = log.New(stderr, "oia-broker-sim: ", 0)
	srv, err := brokersim.New(opts)
	if err != nil {
		fmt.Fprintf(stderr, "oia-broker-sim: %v\n", err)
		return 1
	}
	if err := srv.Start(); err != nil {
		fmt.Fprintf(stderr, "oia-broker-sim: %v\n", err)
		_ = srv.Close()
		return 1
	}
	lines := []string{"OIA_BROKER_URL=" + srv.URL(), "OIA_BROKER_CA=" + srv.CAFile()}
	if srv.AdminURL() != "" {
		lines = append(lines, "OIA_BROKER_ADMIN="+srv.AdminURL())
	}
	fmt.Fprintln(stdout, strings.Join(lines, "\n"))
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	if err := srv.Close(); err != nil {
		fmt.Fprintf(stderr, "oia-broker-sim: %v\n", err)
		return 1
	}
	return 0
}
