// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package protocol

import (
	"bytes"
	"encoding/json"
	"strings"
)

// The kinds of client that attach to the agent (docs/protocol.md §6.2).
const (
	ClientRelay     = "relay"     // oia-host, for one browser's extension
	ClientOIA       = "oia"       // the oia command
	ClientTicketAPI = "ticketapi" // the Ticket API library, in a desktop application
)

// Attach is a client's first frame to the agent.
type Attach struct {
	Type     string `json:"type"` // "attach"
	Protocol string `json:"protocol"`
	Client   string `json:"client"`
	Version  string `json:"version,omitempty"`
	// Events, when false, subscribes to no events (the Ticket API library
	// reads results only). Absent means true.
	Events *bool `json:"events,omitempty"`
	// Browser is the relay's caller as the browser named it on the relay's
	// command line: the extension id.
	Browser string `json:"browser,omitempty"`
}

// The agent's own requests, for the oia command (docs/protocol.md §6.4).
const (
	// ReqAgentStatus asks the agent for its process and clients.
	ReqAgentStatus RequestType = "agentStatus"
	// ReqAgentStop asks the agent to exit: its session ends, with a
	// broker logout, for every client.
	ReqAgentStop RequestType = "agentStop"
)

// AgentStatus is the result of agentStatus.
type AgentStatus struct {
	PID      int    `json:"pid"`
	Version  string `json:"version"`
	Protocol string `json:"protocol"`
	Since    string `json:"since"` // RFC 3339, UTC
	// UpgradePending says a new version is installed: the agent gives way
	// to it when no session or login would end with it.
	UpgradePending bool          `json:"upgradePending,omitempty"`
	Clients        []AgentClient `json:"clients"`
}

// AgentClient is one attached client, as agentStatus lists it.
type AgentClient struct {
	Kind string `json:"kind"`
	Name string `json:"name"`
	PID  int    `json:"pid,omitempty"`
	Exe  string `json:"exe,omitempty"`
}

// DecodeAttach reads an attach frame strictly: unknown fields, another
// type, an unknown client kind or an over-long field are BAD_REQUEST.
func DecodeAttach(data []byte) (Attach, error) {
	var a Attach
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&a); err != nil {
		return a, Errorf(CodeBadRequest, "the first frame must be an attach object: %v", err)
	}
	if a.Type != "attach" {
		return a, Errorf(CodeBadRequest, "the first frame must be attach, not %q", truncate(a.Type, 32))
	}
	switch a.Client {
	case ClientRelay, ClientOIA, ClientTicketAPI:
	default:
		return a, Errorf(CodeBadRequest, "unknown client %q: relay, oia or ticketapi", truncate(a.Client, 32))
	}
	if len(a.Protocol) > 16 || len(a.Version) > 64 || len(a.Browser) > 256 {
		return a, Errorf(CodeBadRequest, "an attach field is over its bound")
	}
	return a, nil
}

// Major returns the major number of a protocol version: "1" of "1.0".
func Major(v string) string {
	major, _, _ := strings.Cut(v, ".")
	return major
}
