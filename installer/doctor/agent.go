// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package doctor

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/openidentityagent/oia"
	"github.com/openidentityagent/oia/host/agentclient"
	"github.com/openidentityagent/oia/host/endpoint"
	"github.com/openidentityagent/oia/host/protocol"
)

// AgentProber asks the running agent for its status, without starting one.
// It returns an error wrapping [endpoint.ErrNoAgent] when none runs.
type AgentProber interface {
	Status(ctx context.Context) (addr string, st protocol.AgentStatus, err error)
}

// EndpointProber is the real [AgentProber]: it attaches to the agent at
// Address (empty: this user's endpoint) as the oia command, with no events.
type EndpointProber struct {
	Address string
}

// Status implements [AgentProber].
func (p EndpointProber) Status(ctx context.Context) (string, protocol.AgentStatus, error) {
	addr := p.Address
	if addr == "" {
		a, err := endpoint.Address()
		if err != nil {
			return "", protocol.AgentStatus{}, err
		}
		addr = a
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	c, err := agentclient.Connect(ctx, agentclient.Options{Address: addr, NoEvents: true})
	if err != nil {
		return addr, protocol.AgentStatus{}, err
	}
	defer c.Close()
	r := c.Request(ctx, protocol.Request{ID: "doctor", Type: protocol.ReqAgentStatus})
	if r.Err != nil {
		return addr, protocol.AgentStatus{}, &protocol.Error{Code: r.Err.Code, Message: r.Err.Message}
	}
	st, ok := r.Body.(protocol.AgentStatus)
	if !ok {
		return addr, st, fmt.Errorf("the agent's status is malformed")
	}
	return addr, st, nil
}

// checkAgent reports the per-desktop agent: whether one runs and answers on
// this user's endpoint, and whether its version and protocol match this
// package's (docs/protocol.md §6).
func checkAgent(ctx context.Context, e *Env) []Finding {
	if e.Agent == nil {
		return nil
	}
	addr, st, err := e.Agent.Status(ctx)
	var notSame *endpoint.NotSameUserError
	switch {
	case errors.Is(err, endpoint.ErrNoAgent):
		return []Finding{{Subject: addr, Status: Info,
			Detail: "no agent runs: the first browser page or 'oia login' that needs one starts it"}}
	case errors.As(err, &notSame):
		return []Finding{{Subject: addr, Status: Error, Detail: err.Error(),
			Fix: "the agent's folder or socket belongs to another user: remove it (it is rebuilt at the next start) and find out who made it"}}
	case protocol.CodeOf(err) == protocol.CodeAgentVersionMismatch:
		return []Finding{{Subject: addr, Status: Error, Detail: err.Error(),
			Fix: "the running agent speaks another protocol: run 'oia agent stop' (it ends the session), and the next client starts this package's agent"}}
	case err != nil:
		return []Finding{{Subject: addr, Status: Error, Detail: fmt.Sprintf("the agent does not answer: %v", err),
			Fix: "run 'oia agent stop', then 'oia login'; if it persists, see the agent's log ('oia status' names it)"}}
	}
	clients := make([]string, 0, len(st.Clients))
	for _, c := range st.Clients {
		clients = append(clients, c.Kind+" "+c.Name)
	}
	detail := fmt.Sprintf("pid %d, version %s, protocol %s, since %s, %d client(s)", st.PID, st.Version, st.Protocol, st.Since, len(st.Clients))
	if len(clients) > 0 {
		detail += ": " + strings.Join(clients, ", ")
	}
	fs := []Finding{{Subject: addr, Status: OK, Detail: detail}}
	switch {
	case protocol.Major(st.Protocol) != protocol.Major(protocol.Version):
		fs[0].Status = Error
		fs[0].Fix = "the running agent speaks protocol " + st.Protocol + " and this package " + protocol.Version + ": run 'oia agent stop'"
	case st.UpgradePending:
		fs = append(fs, Finding{Subject: addr, Status: Info,
			Detail: "a new version is installed: the agent gives way to it when no session or login would end with it"})
	case st.Version != oia.Version:
		fs[0].Status = Warning
		fs[0].Fix = "the running agent is version " + st.Version + " and oia " + oia.Version + ": it gives way when the session ends, or run 'oia agent stop' now"
	}
	return fs
}
