// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

// Command oia-pivcard runs the virtual PIV smartcard (package
// e2e/pivcard) behind a private pcscd, for OpenSC and anything else that
// speaks PC/SC. See docs/card.md, "The real card stack in tests".
//
// Usage:
//
//	oia-pivcard run [--uid 12DIGITS] [--pin PASSCODE] [--pki DIR] [--trace]
//	oia-pivcard relay -card SOCKET -vpcd HOST:PORT
//
// run starts pcscd and the card, prints the environment a process needs to
// use them through OpenSC (PCSCLITE_CSOCK_NAME=…, OPENSC_CONF=…, one per
// line, then "ready"), and reads commands on standard input, one a line:
// insert, remove, swap (a new card for another user id), lock, unlock,
// count (APDUs so far), log (every APDU so far; VERIFY data never shown).
// It stops at end of input or on SIGINT/SIGTERM.
//
// relay is started by the package inside pcscd's namespaces; it is not
// meant to be run by hand.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/openidentityagent/oia/e2e/pivcard"
	"github.com/openidentityagent/oia/e2e/testpki"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: oia-pivcard run|relay [flags]")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch os.Args[1] {
	case "relay":
		err = relay(ctx, os.Args[2:])
	case "run":
		err = run(ctx, os.Args[2:], os.Stdin, os.Stdout)
	default:
		err = fmt.Errorf("unknown command %q: use run or relay", os.Args[1])
	}
	if err != nil && ctx.Err() == nil {
		fmt.Fprintln(os.Stderr, "oia-pivcard:", err)
		os.Exit(1)
	}
}

func relay(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("relay", flag.ContinueOnError)
	card := fs.String("card", "", "the reader's Unix socket")
	vpcd := fs.String("vpcd", "", "vpcd's address")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *card == "" || *vpcd == "" {
		return fmt.Errorf("relay needs -card and -vpcd")
	}
	return pivcard.Relay(ctx, *card, *vpcd, 2*time.Second)
}

func run(ctx context.Context, args []string, in io.Reader, out io.Writer) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	uid := fs.String("uid", "555000111222", "the card holder's 12-digit user id")
	pin := fs.String("pin", "123456", "the card's passcode")
	pkiDir := fs.String("pki", "", "a test PKI directory (made there if missing; default a new one in memory)")
	trace := fs.Bool("trace", false, "print every APDU on standard error")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var pki *testpki.PKI
	var err error
	if *pkiDir != "" {
		pki, err = testpki.LoadOrCreate(*pkiDir)
	} else {
		pki, err = testpki.New()
	}
	if err != nil {
		return err
	}
	newCard := func(uid string) (*pivcard.Card, error) {
		u, err := pki.IssueUser(uid, "Virtual PIV user")
		if err != nil {
			return nil, err
		}
		return pivcard.New(u.Cert, u.Key, *pin)
	}
	card, err := newCard(*uid)
	if err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	s, err := pivcard.Start(ctx, self)
	if err != nil {
		return err
	}
	defer s.Close()
	if *trace {
		s.Reader.Trace(os.Stderr)
	}
	s.Reader.Insert(card)
	for _, kv := range s.Env() {
		fmt.Fprintln(out, kv)
	}
	fmt.Fprintln(out, "ready")
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(in)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	swaps := 0
	for {
		var line string
		var ok bool
		select {
		case <-ctx.Done():
			return nil
		case line, ok = <-lines:
			if !ok {
				return nil
			}
		}
		switch cmd := strings.TrimSpace(line); cmd {
		case "insert":
			s.Reader.Insert(card)
		case "remove":
			s.Reader.Remove()
		case "swap":
			swaps++
			c, err := newCard(fmt.Sprintf("1000000000%02d", swaps%100))
			if err != nil {
				return err
			}
			card = c
			s.Reader.Swap(card)
		case "lock":
			card.Lock()
		case "unlock":
			card.Unlock()
		case "count":
			fmt.Fprintln(out, s.Reader.Count())
			continue
		case "log":
			for _, r := range s.Reader.Records(0) {
				fmt.Fprintln(out, r)
			}
		case "":
			continue
		default:
			fmt.Fprintf(out, "error: unknown command %q\n", cmd)
			continue
		}
		fmt.Fprintln(out, "ok")
	}
}
