// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

// Command oia-vcard makes and drives a virtual NHS smartcard: the card that
// the PKCS#11 module liboia-vcard.so presents to the host. It can lock the
// passcode, remove, insert and swap the card, type on a virtual PIN pad and
// inject faults, while the host runs. See docs/vcard.md.
//
// Usage:
//
//	oia-vcard <command> [--dir DIR] [flags]
//
// The card directory is --dir, else $OIA_VCARD_DIR.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/openidentityagent/oia/e2e/vcard"
)

const usage = `usage: oia-vcard <command> [--dir DIR] [flags]

Makes and drives a virtual NHS smartcard for liboia-vcard.so. The card
directory is --dir, else $OIA_VCARD_DIR.

commands:
  init --pin PASSCODE [--uid 12DIGITS] [--name NAME] [--pinpad]
       [--pinpad-timeout 30s] [--label LABEL] [--pki DIR] [--write-protected] [--force]
                        make a card (certificate from the test PKI in DIR,
                        default <card dir>/pki) and put it in the reader
  insert                put the card in the reader
  remove                take the card out
  swap [--uid 12DIGITS] [--name NAME]
                        put another card in: new serial and key, and a
                        certificate for --uid (default the same user)
  lock                  lock the passcode, as three wrong ones do
  unlock                unlock it: three attempts again
  status [--json]       show the card
  pinpad PASSCODE | --cancel [--wait 30s]
                        type on the PIN pad (or press Cancel) once a login waits
  fault FUNCTION ACTION [--once] | fault --clear
                        make FUNCTION (e.g. C_Sign) return ACTION, a CK_RV
                        (e.g. CKR_DEVICE_ERROR) or "remove" (pull the card
                        during the call); --once: at the next call only
  build-module [--out DIR]
                        compile liboia-vcard.so into DIR (default build/lib)
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run runs one command and returns the exit code: 0 done, 1 failed, 2 bad
// usage.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, usage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "oia-vcard: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	fs := flag.NewFlagSet("oia-vcard "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage) }
	dir := fs.String("dir", os.Getenv(vcard.EnvDir), "the card directory")
	exec := cmd(fs)
	if err := fs.Parse(reorder(fs, args[1:])); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	e := &env{dir: *dir, args: fs.Args(), stdout: stdout, stderr: stderr}
	if err := exec(e); err != nil {
		var u usageError
		if errors.As(err, &u) {
			fmt.Fprintf(stderr, "oia-vcard %s: %v\n", args[0], err)
			return 2
		}
		fmt.Fprintf(stderr, "oia-vcard %s: %v\n", args[0], err)
		return 1
	}
	return 0
}

// reorder moves flags before positional arguments, so that
// "pinpad 123456 --dir D" works as well as "pinpad --dir D 123456".
func reorder(fs *flag.FlagSet, args []string) []string {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			pos = append(pos, args[i+1:]...)
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			pos = append(pos, a)
			continue
		}
		flags = append(flags, a)
		name := strings.TrimLeft(a, "-")
		if strings.Contains(name, "=") {
			continue
		}
		if f := fs.Lookup(name); f != nil {
			if bf, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && bf.IsBoolFlag() {
				continue
			}
			if i+1 < len(args) {
				flags = append(flags, args[i+1])
				i++
			}
		}
	}
	return append(flags, pos...)
}

// env is what a command runs with.
type env struct {
	dir            string
	args           []string
	stdout, stderr io.Writer
}

type usageError struct{ error }

func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

func (e *env) needDir() error {
	if e.dir == "" {
		return usagef("no card directory: give --dir DIR or set %s", vcard.EnvDir)
	}
	return nil
}

func (e *env) card() (*vcard.Card, error) {
	if err := e.needDir(); err != nil {
		return nil, err
	}
	return vcard.Open(e.dir)
}

func (e *env) noArgs() error {
	if len(e.args) != 0 {
		return usagef("unexpected argument %q", e.args[0])
	}
	return nil
}

// commands maps each command to a function that declares its flags and
// returns the action.
var commands = map[string]func(fs *flag.FlagSet) func(*env) error{
	"init":         cmdInit,
	"insert":       simple(func(c *vcard.Card) error { return c.Insert() }, "card inserted"),
	"remove":       simple(func(c *vcard.Card) error { return c.Remove() }, "card removed"),
	"lock":         simple(func(c *vcard.Card) error { return c.Lock() }, "passcode locked"),
	"unlock":       simple(func(c *vcard.Card) error { return c.Unlock() }, "passcode unlocked: 3 attempts"),
	"swap":         cmdSwap,
	"status":       cmdStatus,
	"pinpad":       cmdPINPad,
	"fault":        cmdFault,
	"build-module": cmdBuildModule,
}

func simple(fn func(*vcard.Card) error, done string) func(*flag.FlagSet) func(*env) error {
	return func(*flag.FlagSet) func(*env) error {
		return func(e *env) error {
			if err := e.noArgs(); err != nil {
				return err
			}
			c, err := e.card()
			if err != nil {
				return err
			}
			if err := fn(c); err != nil {
				return err
			}
			fmt.Fprintln(e.stdout, done)
			return nil
		}
	}
}

func cmdInit(fs *flag.FlagSet) func(*env) error {
	var o vcard.InitOptions
	fs.StringVar(&o.UID, "uid", vcard.DefaultUID, "the user id (12 digits), the certificate's CN")
	fs.StringVar(&o.Name, "name", vcard.DefaultName, "the card holder's name")
	fs.StringVar(&o.PIN, "pin", "", "the passcode (NHS: 6–8 digits)")
	fs.BoolVar(&o.PINPad, "pinpad", false, "the reader has a PIN pad")
	fs.DurationVar(&o.PINPadTimeout, "pinpad-timeout", vcard.DefaultPINPadTimeout, "how long a PIN pad login waits")
	fs.StringVar(&o.Label, "label", vcard.DefaultLabel, "the token label")
	fs.StringVar(&o.PKIDir, "pki", "", "the test PKI directory (default <dir>/pki; made if missing)")
	fs.BoolVar(&o.WriteProtected, "write-protected", false, "refuse read-write sessions")
	fs.BoolVar(&o.Force, "force", false, "replace a card already in the directory")
	return func(e *env) error {
		if err := e.noArgs(); err != nil {
			return err
		}
		if err := e.needDir(); err != nil {
			return err
		}
		if o.PIN == "" {
			return usagef("give the passcode with --pin")
		}
		c, err := vcard.Init(e.dir, o)
		if err != nil {
			return err
		}
		st, err := c.Status()
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "made card %s for %s (%s) in %s\n", st.Serial, st.UID, st.Name, c.Dir())
		fmt.Fprintf(e.stdout, "passcode: %s\n", o.PIN)
		fmt.Fprintf(e.stdout, "use it with: %s PKCS#11 module %s\n", c.Env(), modulePathHint())
		return nil
	}
}

// modulePathHint says where the module is: beside this command in a build
// tree (build/bin/../lib), or how to build it.
func modulePathHint() string {
	if exe, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(filepath.Dir(exe)), "lib", vcard.LibName)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return vcard.LibName + " (build it with 'make build' or 'oia-vcard build-module')"
}

func cmdSwap(fs *flag.FlagSet) func(*env) error {
	var o vcard.SwapOptions
	fs.StringVar(&o.UID, "uid", "", "the new card's user id (default the same user)")
	fs.StringVar(&o.Name, "name", "", "the new card holder's name")
	return func(e *env) error {
		if err := e.noArgs(); err != nil {
			return err
		}
		c, err := e.card()
		if err != nil {
			return err
		}
		if err := c.Swap(o); err != nil {
			return err
		}
		st, err := c.Status()
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "card swapped: now %s for %s (%s)\n", st.Serial, st.UID, st.Name)
		return nil
	}
}

func cmdStatus(fs *flag.FlagSet) func(*env) error {
	asJSON := fs.Bool("json", false, "print JSON")
	return func(e *env) error {
		if err := e.noArgs(); err != nil {
			return err
		}
		c, err := e.card()
		if err != nil {
			return err
		}
		st, err := c.Status()
		if err != nil {
			return err
		}
		if *asJSON {
			enc := json.NewEncoder(e.stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(st)
		}
		printStatus(e.stdout, st)
		return nil
	}
}

func printStatus(w io.Writer, st vcard.Status) {
	yes := func(b bool, y, n string) string {
		if b {
			return y
		}
		return n
	}
	fmt.Fprintf(w, "card:      %s\n", yes(st.Present, "in the reader", "removed"))
	fmt.Fprintf(w, "user:      %s (%s)\n", st.UID, st.Name)
	fmt.Fprintf(w, "serial:    %s\n", st.Serial)
	fmt.Fprintf(w, "label:     %s\n", st.Label)
	fmt.Fprintf(w, "passcode:  %s\n", yes(st.Locked, "LOCKED", fmt.Sprintf("%d of %d attempts left", st.AttemptsLeft, vcard.MaxAttempts)))
	pad := "no"
	if st.PINPad {
		pad = fmt.Sprintf("yes, timeout %v", time.Duration(st.PINPadTimeoutMS)*time.Millisecond)
		if st.PINPadWaiting {
			pad += ", a login waits for an entry"
		}
	}
	fmt.Fprintf(w, "pin pad:   %s\n", pad)
	if st.WriteProtected {
		fmt.Fprintf(w, "write-protected: yes\n")
	}
	fault := "none"
	if st.Fault != nil {
		fault = st.Fault.String()
	}
	fmt.Fprintf(w, "fault:     %s\n", fault)
	fmt.Fprintf(w, "generation: %d\n", st.Generation)
	fmt.Fprintf(w, "directory: %s\n", st.Dir)
}

func cmdPINPad(fs *flag.FlagSet) func(*env) error {
	cancel := fs.Bool("cancel", false, "press Cancel instead of typing")
	wait := fs.Duration("wait", 30*time.Second, "how long to wait for a login to ask")
	return func(e *env) error {
		if *cancel == (len(e.args) == 1) || len(e.args) > 1 {
			return usagef("give a passcode or --cancel")
		}
		c, err := e.card()
		if err != nil {
			return err
		}
		ctx, stop := context.WithTimeout(context.Background(), *wait)
		defer stop()
		if *cancel {
			err = c.PINPadCancel(ctx)
		} else {
			err = c.PINPadEnter(ctx, e.args[0])
		}
		if err != nil {
			return err
		}
		fmt.Fprintln(e.stdout, map[bool]string{true: "pressed Cancel", false: "typed the passcode"}[*cancel])
		return nil
	}
}

func cmdFault(fs *flag.FlagSet) func(*env) error {
	once := fs.Bool("once", false, "fire at the next call only")
	clearIt := fs.Bool("clear", false, "remove the fault")
	return func(e *env) error {
		if *clearIt {
			if err := e.noArgs(); err != nil {
				return err
			}
		} else if len(e.args) != 2 {
			return usagef("give FUNCTION ACTION (e.g. C_Sign CKR_DEVICE_ERROR), or --clear")
		}
		c, err := e.card()
		if err != nil {
			return err
		}
		if *clearIt {
			if err := c.ClearFault(); err != nil {
				return err
			}
			fmt.Fprintln(e.stdout, "fault cleared")
			return nil
		}
		f, err := vcard.ParseFault(e.args[0], e.args[1], *once)
		if err != nil {
			return usageError{err}
		}
		if err := c.SetFault(f); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "fault set: %s\n", f)
		return nil
	}
}

func cmdBuildModule(fs *flag.FlagSet) func(*env) error {
	out := fs.String("out", filepath.Join("build", "lib"), "the directory to build into")
	return func(e *env) error {
		if err := e.noArgs(); err != nil {
			return err
		}
		p, err := vcard.Build(context.Background(), *out)
		if err != nil {
			return err
		}
		fmt.Fprintln(e.stdout, p)
		return nil
	}
}
