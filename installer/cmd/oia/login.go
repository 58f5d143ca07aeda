// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/openidentityagent/oia/host/protocol"
)

// runLogin is `oia login`: the browser's login flow in a terminal, for
// service desks and diagnosis, through the agent (which it starts if none
// runs), so the session it makes is the one every browser shares. It reads
// the passcode without echo, lists the roles, and prints the user, role
// and session expiry; the ticket only with --show-ticket. When the card is
// already logged in it reports that session. The session stays until the
// card is removed or 'oia logout'; --keep waits for its end.
func runLogin(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("oia login", flag.ContinueOnError)
	fs.SetOutput(stderr)
	showTicket := fs.Bool("show-ticket", false, "print the SSO ticket (a secret: do not paste it anywhere; needs the Ticket API enabled)")
	keep := fs.Bool("keep", false, "wait until the session ends (Ctrl-C or card removal)")
	roleID := fs.String("role", "", "choose this role id without asking")
	wait := fs.Duration("wait", 60*time.Second, "how long to wait for a card")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: oia login [--role ID] [--show-ticket] [--keep] [--wait 60s]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	c, err := connectAgent(ctx, protocol.ClientOIA)
	if err != nil {
		fmt.Fprintf(stderr, "oia login: %v\n", err)
		return exitFailed
	}
	defer c.Close()

	t := &terminal{in: stdin, lines: bufio.NewReader(stdin), out: stdout}
	s := &loginSession{h: c, t: t, events: c.Events(), roleID: *roleID}
	if err := s.run(ctx, *wait); err != nil {
		fmt.Fprintf(stdout, "Login failed: %v\n", err)
		return exitFailed
	}
	if *showTicket {
		ticket, err := fetchTicket(ctx, protocol.ReqGetTicketNoAuth)
		if err != nil {
			fmt.Fprintf(stderr, "oia login: %v\n", err)
			return exitFailed
		}
		fmt.Fprintf(stdout, "Ticket:  %s\n", ticket)
	}
	if *keep {
		fmt.Fprintln(stdout, "Logged in. Press Ctrl-C or remove the card to stop waiting.")
		s.waitEnd(ctx)
		return exitOK
	}
	fmt.Fprintln(stdout, "The session lasts until the card is removed or 'oia logout'.")
	return exitOK
}

// terminal reads answers: passcodes without echo when stdin is a terminal,
// otherwise one line each (for scripts and tests).
type terminal struct {
	in    io.Reader
	lines *bufio.Reader
	out   io.Writer
}

func (t *terminal) readLine(prompt string) (string, error) {
	fmt.Fprint(t.out, prompt)
	line, err := t.lines.ReadString('\n')
	if err != nil && line == "" {
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}

func (t *terminal) readSecret(prompt string) (string, error) {
	if f, ok := t.in.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(t.out, prompt)
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(t.out)
		return string(b), err
	}
	return t.readLine(prompt)
}

// handler serves requests: the agent, through its endpoint or in process.
type handler interface {
	Handle(req protocol.Request, reply func(protocol.Result))
}

// loginSession drives the machine through one login.
type loginSession struct {
	h      handler
	t      *terminal
	events <-chan protocol.Event
	roleID string
	seq    int
}

// request sends a request and waits for its result.
func (s *loginSession) request(typ protocol.RequestType, mod func(*protocol.Request)) protocol.Result {
	s.seq++
	req := protocol.Request{ID: strconv.Itoa(s.seq), Type: typ}
	if mod != nil {
		mod(&req)
	}
	ch := make(chan protocol.Result, 1)
	s.h.Handle(req, func(r protocol.Result) { ch <- r })
	return <-ch
}

var (
	errAborted   = errors.New("cancelled")
	errAgentGone = errors.New("the agent stopped: run 'oia doctor'")
)

func (s *loginSession) run(ctx context.Context, wait time.Duration) error {
	r := s.request(protocol.ReqStatus, nil)
	if r.Err != nil {
		return fmt.Errorf("%s (%s)", r.Err.Message, r.Err.Code)
	}
	st := r.Body.(protocol.StatusBody)
	if st.State == protocol.StateLoggedIn {
		fmt.Fprintln(s.t.out, "Already logged in: this desktop's session is shared by the browsers and applications.")
		s.printSession(st.Session)
		return nil
	}
	if !st.Card.Present {
		fmt.Fprintln(s.t.out, "Insert your NHS smartcard…")
		deadline := time.After(wait)
	waitCard:
		for {
			select {
			case ev, ok := <-s.events:
				if !ok {
					return errAgentGone
				}
				if ev.Name == protocol.EvCardInserted {
					break waitCard
				}
				if ev.Name == protocol.EvError {
					return errorOf(ev)
				}
			case <-deadline:
				return fmt.Errorf("no card within %s: check the reader and run 'oia doctor'", wait)
			case <-ctx.Done():
				return errAborted
			}
		}
	}
	result := make(chan protocol.Result, 1)
	go func() {
		result <- s.request(protocol.ReqLogin, nil)
	}()
	for {
		select {
		case <-ctx.Done():
			s.request(protocol.ReqCancel, nil)
			return errAborted
		case r := <-result:
			if r.Err != nil {
				return fmt.Errorf("%s (%s)", r.Err.Message, r.Err.Code)
			}
			s.printSession(r.Body.(protocol.Session))
			return nil
		case ev, ok := <-s.events:
			if !ok {
				return errAgentGone
			}
			if err := s.onEvent(ev); err != nil {
				return err
			}
		}
	}
}

func (s *loginSession) onEvent(ev protocol.Event) error {
	switch ev.Name {
	case protocol.EvPINRequired:
		p := ev.Body.(protocol.PINPrompt)
		if p.AttemptsLeft == 0 {
			return nil // the error event that follows says why
		}
		if p.LastError == protocol.CodePINIncorrect {
			fmt.Fprintf(s.t.out, "Wrong passcode. %d attempts left.\n", p.AttemptsLeft)
		}
		if p.FinalTry {
			fmt.Fprintln(s.t.out, "Final try: one more wrong passcode locks the card.")
		}
		if p.PINPad {
			fmt.Fprintf(s.t.out, "Card %s: use the reader's keypad to enter your passcode (%d s).\n", p.UID, p.TimeoutSeconds)
			return nil
		}
		pin, err := s.t.readSecret(fmt.Sprintf("Passcode for card %s (empty to cancel): ", p.UID))
		if err != nil || pin == "" {
			s.request(protocol.ReqCancel, nil)
			return nil // the login result reports USER_ABORT
		}
		if r := s.request(protocol.ReqPIN, func(r *protocol.Request) { r.PIN = pin }); r.Err != nil {
			fmt.Fprintf(s.t.out, "%s\n", r.Err.Message)
		}
	case protocol.EvRoleRequired:
		p := ev.Body.(protocol.RolePrompt)
		id := s.roleID
		if id == "" {
			fmt.Fprintf(s.t.out, "Roles for %s:\n", p.User.Name)
			for i, r := range p.Roles {
				fmt.Fprintf(s.t.out, "  %d. %s — %s (%s, %s)\n", i+1, r.Name, r.JobRole, r.OrgName, r.OrgCode)
			}
			for id == "" {
				line, err := s.t.readLine(fmt.Sprintf("Choose a role [1-%d]: ", len(p.Roles)))
				if err != nil {
					s.request(protocol.ReqCancel, nil)
					return nil
				}
				if n, err := strconv.Atoi(strings.TrimSpace(line)); err == nil && n >= 1 && n <= len(p.Roles) {
					id = p.Roles[n-1].ID
				}
			}
		}
		if r := s.request(protocol.ReqSelectRole, func(r *protocol.Request) { r.RoleID = id }); r.Err != nil {
			return fmt.Errorf("%s (%s)", r.Err.Message, r.Err.Code)
		}
	case protocol.EvCardRemoved:
		fmt.Fprintln(s.t.out, "The card was removed.")
	}
	return nil
}

func (s *loginSession) printSession(ss protocol.Session) {
	if ss.User != nil {
		fmt.Fprintf(s.t.out, "Logged in as %s (%s)\n", ss.User.Name, ss.User.UID)
	}
	if ss.Role != nil {
		fmt.Fprintf(s.t.out, "Role:    %s — %s, %s (%s), role id %s\n", ss.Role.Name, ss.Role.JobRole, ss.Role.OrgName, ss.Role.OrgCode, ss.Role.ID)
	}
	if ss.ExpiresAt != nil {
		fmt.Fprintf(s.t.out, "Expires: %s\n", ss.ExpiresAt.Local().Format(time.RFC1123))
	}
}

// waitEnd waits for Ctrl-C or the end of the session.
func (s *loginSession) waitEnd(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-s.events:
			if !ok {
				fmt.Fprintln(s.t.out, "The agent stopped: the session ended.")
				return
			}
			if ev.Name == protocol.EvTicketDestroyed || ev.Name == protocol.EvCardRemoved {
				fmt.Fprintln(s.t.out, "The session ended.")
				return
			}
		}
	}
}

func errorOf(ev protocol.Event) error {
	if e, ok := ev.Body.(protocol.ErrorEvent); ok && e.Error != nil {
		return fmt.Errorf("%s (%s)", e.Error.Message, e.Error.Code)
	}
	return errors.New("login failed")
}
