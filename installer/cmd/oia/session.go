// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/openidentityagent/oia/host/agentclient"
	"github.com/openidentityagent/oia/host/endpoint"
	"github.com/openidentityagent/oia/host/protocol"
)

// runLogout is `oia logout`: it ends this desktop's session for every
// browser and application, as card removal does.
func runLogout(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		fmt.Fprintln(stderr, "usage: oia logout")
		return exitUsage
	}
	c, err := dialAgent(ctx)
	if errors.Is(err, endpoint.ErrNoAgent) {
		fmt.Fprintln(stdout, "Not logged in: no agent is running.")
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "oia logout: %s\n", agentProblem(err))
		return exitFailed
	}
	defer c.Close()
	rctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if r := c.Request(rctx, protocol.Request{ID: "1", Type: protocol.ReqDestroyTicket}); r.Err != nil {
		fmt.Fprintf(stderr, "oia logout: %s (%s)\n", r.Err.Message, r.Err.Code)
		return exitFailed
	}
	fmt.Fprintln(stdout, "Logged out.")
	return exitOK
}

// runTicket is `oia ticket`: the ticket for scripts, through the agent as
// the Ticket API gives it to a desktop application. Without --show-ticket
// it only says whether there is one (exit 0) or not (exit 1), so that the
// secret is never printed by accident.
func runTicket(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("oia ticket", flag.ContinueOnError)
	fs.SetOutput(stderr)
	show := fs.Bool("show-ticket", false, "print the SSO ticket (a secret: do not paste it anywhere)")
	login := fs.Bool("login", false, "log in if needed: the passcode is asked in the browser (TcktApi_getTicket)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: oia ticket [--show-ticket] [--login]\nThe Ticket API must be enabled in the system configuration (ticketApiEnabled).")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return exitUsage
	}
	typ := protocol.ReqGetTicketNoAuth
	wait := 15 * time.Second
	if *login {
		typ, wait = protocol.ReqGetTicket, 5*time.Minute
	}
	rctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	ticket, err := fetchTicket(rctx, typ)
	if err != nil {
		fmt.Fprintf(stderr, "oia ticket: %v\n", err)
		return exitFailed
	}
	if *show {
		fmt.Fprintln(stdout, ticket)
	} else {
		fmt.Fprintln(stdout, "A ticket is available (add --show-ticket to print it).")
	}
	return exitOK
}

// writeAgentStatus adds the agent's state to `oia status`: the card, the
// user, role and expiry, and the clients. It never starts an agent.
func writeAgentStatus(ctx context.Context, stdout io.Writer) {
	fmt.Fprintln(stdout)
	c, err := dialAgent(ctx)
	if err != nil {
		fmt.Fprintf(stdout, "agent:    %s\n", agentProblem(err))
		return
	}
	defer c.Close()
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	ag := c.Request(rctx, protocol.Request{ID: "1", Type: protocol.ReqAgentStatus})
	st := c.Request(rctx, protocol.Request{ID: "2", Type: protocol.ReqStatus})
	if ag.Err != nil || st.Err != nil {
		fmt.Fprintf(stdout, "agent:    running (pid %d) but did not answer: run 'oia doctor'\n", c.Peer.PID)
		return
	}
	a, s := ag.Body.(protocol.AgentStatus), st.Body.(protocol.StatusBody)
	fmt.Fprintf(stdout, "agent:    pid %d, version %s, since %s\n", a.PID, a.Version, a.Since)
	fmt.Fprintf(stdout, "state:    %s\n", s.State)
	if s.Card.Present {
		fmt.Fprintf(stdout, "card:     %s\n", s.Card.UID)
	} else {
		fmt.Fprintln(stdout, "card:     none")
	}
	if s.User != nil {
		fmt.Fprintf(stdout, "user:     %s (%s)\n", s.User.Name, s.User.UID)
	}
	if s.Role != nil {
		fmt.Fprintf(stdout, "role:     %s — %s (%s), role id %s\n", s.Role.Name, s.Role.OrgName, s.Role.OrgCode, s.Role.ID)
	}
	if s.ExpiresAt != nil {
		fmt.Fprintf(stdout, "expires:  %s\n", s.ExpiresAt.Local().Format(time.RFC1123))
	}
	writeClients(stdout, a.Clients)
}

// connectAgent attaches to the agent as kind, starting it (this very
// command, `oia agent`) when none runs.
func connectAgent(ctx context.Context, kind string) (*agentclient.Client, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	c, err := agentclient.Connect(ctx, agentclient.Options{Client: kind, Start: startAgent, NoEvents: kind == protocol.ClientTicketAPI})
	if err != nil {
		return nil, fmt.Errorf("cannot reach the agent: %w; run 'oia doctor'", err)
	}
	return c, nil
}

// startAgent starts `oia agent` from this very executable, detached. The
// tests, whose executable is the test binary, point it at the built oia.
var startAgent = func() error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	return agentclient.Starter(exe)()
}

// fetchTicket asks the agent for the ticket as a desktop application
// would: the system configuration must have turned the Ticket API on
// (ticketApiEnabled), for this oia among ticketApiExecutables if it lists
// any.
func fetchTicket(ctx context.Context, typ protocol.RequestType) (string, error) {
	c, err := connectAgent(ctx, protocol.ClientTicketAPI)
	if err != nil {
		return "", err
	}
	defer c.Close()
	r := c.Request(ctx, protocol.Request{ID: "1", Type: typ})
	if r.Err != nil {
		return "", fmt.Errorf("%s (%s)", r.Err.Message, r.Err.Code)
	}
	return r.Body.(protocol.TicketBody).Ticket, nil
}
