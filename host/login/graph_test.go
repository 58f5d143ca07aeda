// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package login

import (
	"flag"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/openidentityagent/oia/host/protocol"
)

var updateGraph = flag.Bool("update-graph", false, "rewrite docs/state-machine.dot")

const graphFile = "../../docs/state-machine.dot"

// TestGraph_MatchesCommittedPicture fails when the machine's transitions
// differ from docs/state-machine.dot; `make docs` updates the file.
func TestGraph_MatchesCommittedPicture(t *testing.T) {
	got := Graph()
	if *updateGraph {
		if err := os.WriteFile(graphFile, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(graphFile)
	if err != nil {
		t.Fatalf("%v: run make docs", err)
	}
	edges := func(s string) []string {
		var e []string
		for _, l := range strings.Split(s, "\n") {
			if strings.Contains(l, "->") {
				e = append(e, strings.TrimSpace(l))
			}
		}
		slices.Sort(e)
		return e
	}
	if !slices.Equal(edges(got), edges(string(want))) {
		t.Errorf("docs/state-machine.dot is out of date: run make docs\n got  %q\n want %q", edges(got), edges(string(want)))
	}
}

// TestGraph_EveryStateAndTrigger checks the machine reaches every state of
// docs/protocol.md §5 and each trigger labels some edge.
func TestGraph_EveryStateAndTrigger(t *testing.T) {
	g := Graph()
	for _, s := range protocol.States {
		if !strings.Contains(g, `"`+string(s)+`"`) {
			t.Errorf("state %s has no edge", s)
		}
	}
	for _, tr := range []string{trCardInserted, trCardRemoved, trCardLocked, trCardFailed, trLogin, trPIN, trPINAccepted,
		trPINRejected, trPINBlocked, trPINFailed, trCancel, trTimeout, trRolesOffered, trRoleChosen, trLoggedIn,
		trAuthFailed, trLogout, trLoggedOut, trExpired, trRestart} {
		if !strings.Contains(g, `label="`+tr+`"`) {
			t.Errorf("trigger %s labels no edge", tr)
		}
	}
}
