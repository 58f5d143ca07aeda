// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package sampleapp

import (
	"context"
	"crypto"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openidentityagent/oia/e2e/brokersim"
	"github.com/openidentityagent/oia/host/broker"
	"github.com/openidentityagent/oia/host/cms"
	"github.com/openidentityagent/oia/host/protocol"
)

// TestSession_AgainstBrokerSimulator logs Jane in at the simulator as the
// host would (real CMS signature, real HTTPS with the test root), selects a
// role, and checks that the sample app's server confirms exactly that user
// and role at the broker, and refuses the ticket after logout.
func TestSession_AgainstBrokerSimulator(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p := testPKI(t)
	sim, err := brokersim.New(brokersim.Options{PKI: p, AdminAddr: "off"})
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })

	// The host's side of the login.
	base, err := broker.ResolveBaseURL("", sim.URL())
	if err != nil {
		t.Fatal(err)
	}
	bc, err := broker.New(broker.Options{BaseURL: base, CABundle: sim.CAFile(), Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	jane, err := p.IssueUser("555000111222", "Jane Smith")
	if err != nil {
		t.Fatal(err)
	}
	ch, err := bc.Activate(ctx)
	if err != nil {
		t.Fatalf("Activate: %v", err)
	}
	der, err := cms.Sign(ch.Data, jane.Cert, jane.Key, crypto.SHA1)
	if err != nil {
		t.Fatal(err)
	}
	sess, err := bc.Validate(ctx, ch, jane.UID, cms.WrapResponse(der))
	if err != nil {
		t.Fatalf("Validate: %v", err)
	}
	const roleID = "555254242107" // the organisation whose name holds a comma and &
	if err := bc.SelectRole(ctx, sess.Ticket, roleID); err != nil {
		t.Fatalf("SelectRole: %v", err)
	}

	// The sample app's side: its own broker client from BrokerURL.
	lib, _ := pageLibrary(t)
	app, err := New(Options{PKI: p, PageLibrary: lib, BrokerURL: sim.URL(), BrokerCAFile: sim.CAFile()})
	if err != nil {
		t.Fatal(err)
	}
	if err := app.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = app.Close() })
	c := trustingClient(p.RootPool())
	check := func() (int, SessionResponse) {
		body, _ := json.Marshal(SessionRequest{Ticket: sess.Ticket})
		resp, err := c.Post(app.URL()+"/api/session", "application/json", strings.NewReader(string(body)))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var got SessionResponse
		if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, got
	}

	status, got := check()
	if status != http.StatusOK {
		t.Fatalf("status %d, error %+v", status, got.Error)
	}
	if got.User == nil || got.User.UID != "555000111222" || got.User.Name != "Jane Smith" {
		t.Errorf("user %+v, want Jane Smith 555000111222", got.User)
	}
	if got.Role == nil || got.Role.ID != roleID || got.Role.OrgCode != "Y01234" || got.Role.OrgName != "SMITH, JONES & PARTNERS" || got.Role.Name != "Demographic Administrator" {
		t.Errorf("role %+v, want %s Demographic Administrator at SMITH, JONES & PARTNERS (Y01234)", got.Role, roleID)
	}

	if err := bc.Logout(ctx, sess); err != nil {
		t.Fatalf("Logout: %v", err)
	}
	status, got = check()
	if status != http.StatusUnauthorized || got.Error == nil || got.Error.Code != protocol.CodeSessionExpired {
		t.Fatalf("after logout: status %d, error %+v; want 401 SESSION_EXPIRED", status, got.Error)
	}
}
