// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package doctor

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/openidentityagent/oia"
	"github.com/openidentityagent/oia/host/endpoint"
	"github.com/openidentityagent/oia/host/protocol"
)

type fakeAgent struct {
	st  protocol.AgentStatus
	err error
}

func (f fakeAgent) Status(context.Context) (string, protocol.AgentStatus, error) {
	return "/run/user/1000/oia/agent.sock", f.st, f.err
}

func TestCheckAgent(t *testing.T) {
	same := protocol.AgentStatus{PID: 42, Version: oia.Version, Protocol: protocol.Version, Since: "2026-12-04T08:00:00Z",
		Clients: []protocol.AgentClient{{Kind: "browser", Name: "jojkkadnmnpkbklmagcdhigmbdlcaoha"}}}
	older := same
	older.Version = "0.0.1-old"
	otherMajor := same
	otherMajor.Protocol = "9.0"
	pending := older
	pending.UpgradePending = true
	tests := []struct {
		name   string
		agent  fakeAgent
		want   Status
		detail string // in the first finding's detail
	}{
		{"none runs yet: started on demand, nothing to fix", fakeAgent{err: fmt.Errorf("dial: %w", endpoint.ErrNoAgent)}, Info, "no agent runs"},
		{"this package's agent, with its clients", fakeAgent{st: same}, OK, "pid 42"},
		{"an older agent still serves a session", fakeAgent{st: older}, Warning, "0.0.1-old"},
		{"an older agent that will give way", fakeAgent{st: pending}, OK, "pid 42"},
		{"an agent of another major protocol refuses this package's relays", fakeAgent{st: otherMajor}, Error, "protocol 9.0"},
		{"the agent refused this oia's protocol", fakeAgent{err: protocol.Errorf(protocol.CodeAgentVersionMismatch, "the oia speaks protocol 1.0 and the agent 2.0")}, Error, "protocol"},
		{"the endpoint belongs to someone else", fakeAgent{err: &endpoint.NotSameUserError{What: "the agent directory", Got: "mallory"}}, Error, "mallory"},
		{"an agent that accepts but does not answer", fakeAgent{err: errors.New("i/o timeout")}, Error, "does not answer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := checkAgent(context.Background(), &Env{Agent: tt.agent})
			if len(fs) == 0 {
				t.Fatal("no finding")
			}
			worst := OK
			for _, f := range fs {
				if rank(f.Status) > rank(worst) {
					worst = f.Status
				}
				if (f.Status == Error || f.Status == Warning) && f.Fix == "" {
					t.Errorf("a %s with no fix: %+v", f.Status, f)
				}
			}
			if worst != tt.want && !(tt.want == Info && worst == OK) {
				t.Errorf("worst status %s, want %s: %+v", worst, tt.want, fs)
			}
			if fs[0].Status != tt.want {
				t.Errorf("first finding %s, want %s", fs[0].Status, tt.want)
			}
			if !strings.Contains(fs[0].Detail, tt.detail) {
				t.Errorf("detail %q, want it to contain %q", fs[0].Detail, tt.detail)
			}
		})
	}
}
