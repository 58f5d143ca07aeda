// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package login

import (
	"flag"
	"fmt"
	"os"
	"regexp"
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

// TestGraph_MatchesLibrary reads the edges back from the library's own
// graph of a built machine: the table and what stateless was configured
// with are the same transitions, no more and no fewer.
func TestGraph_MatchesLibrary(t *testing.T) {
	var (
		edgeRE  = regexp.MustCompile(`^\s*"?([A-Za-z]+)"?\s*->\s*"?([A-Za-z]+)"?\s*\[label=(.*)\];?\s*$`)
		labelRE = regexp.MustCompile(`<TD[^>]*>([^<]+)</TD>`)
	)
	seen := map[string]bool{}
	for _, line := range strings.Split(New(Deps{}, Settings{}).sm.ToGraph(), "\n") {
		g := edgeRE.FindStringSubmatch(line)
		if g == nil {
			continue
		}
		for _, l := range labelRE.FindAllStringSubmatch(g[3], -1) {
			trigger := strings.TrimSpace(strings.Split(l[1], " [")[0])
			seen[fmt.Sprintf("%q -> %q [label=%q];", g[1], g[2], trigger)] = true
		}
	}
	var got []string
	for e := range seen {
		got = append(got, e)
	}
	slices.Sort(got)
	if want := edges(); !slices.Equal(got, want) {
		t.Errorf("stateless was configured with other transitions than the table:\n library %q\n table   %q", got, want)
	}
}
