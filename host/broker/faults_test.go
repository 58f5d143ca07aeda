// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package broker_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openidentityagent/oia/e2e/brokersim"
	"github.com/openidentityagent/oia/e2e/testpki"
	"github.com/openidentityagent/oia/host/broker"
	"github.com/openidentityagent/oia/host/protocol"
)

// fakeClock is a settable clock for the simulator.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func TestValidate_Refused(t *testing.T) {
	f := getFixture(t)
	corrupt := func(t *testing.T, ch *broker.Challenge, u *testpki.User) string {
		// flip the last byte of the DER: the RSA signature's
		der := mustSignDER(t, ch, u)
		der[len(der)-1] ^= 0x01
		return wrap(der)
	}
	cases := []struct {
		name    string
		uid     string
		user    func() *testpki.User
		respond func(*testing.T, *broker.Challenge, *testpki.User) string
		outcome string // in the simulator's log
	}{
		// a signature that does not verify must never log in
		{"wrong signature", "555000111222", func() *testpki.User { return f.jane }, corrupt, "the signature does not verify"},
		// a certificate from another authority, with the right uid
		{"wrong chain", "555000111222", func() *testpki.User { return f.impostor }, sign, "does not chain to the root"},
		// John's card claiming to be Jane
		{"uid is not the certificate's", "555000111222", func() *testpki.User { return f.john }, sign, "is not the certificate's CN"},
		// a genuine certificate of someone the broker has no record of
		{"unknown user", "555000999999", func() *testpki.User { return f.stranger }, sign, "unknown user"},
		// garbage where the CMS should be
		{"not cms", "555000111222", func() *testpki.User { return f.jane }, func(*testing.T, *broker.Challenge, *testpki.User) string { return "QUJD" }, "refused: response"},
	}
	sim := startSim(t, brokersim.Options{})
	c := newClient(t, sim, nil)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testContext(t)
			ch, err := c.Activate(ctx)
			if err != nil {
				t.Fatalf("Activate: %v", err)
			}
			_, err = c.Validate(ctx, ch, tc.uid, tc.respond(t, ch, tc.user()))
			be := wantError(t, err, broker.KindRefused, protocol.CodeAuthenticationFailed)
			if !strings.Contains(be.Error(), "sso_ticket") {
				t.Errorf("error %q does not name the missing field", be)
			}
			log := sim.Log()
			last := log[len(log)-1]
			if last.Endpoint != "validate" || !strings.Contains(last.Outcome, tc.outcome) {
				t.Errorf("simulator outcome %q, want one containing %q", last.Outcome, tc.outcome)
			}
		})
	}
}

func mustSignDER(t *testing.T, ch *broker.Challenge, u *testpki.User) []byte {
	t.Helper()
	return signDER(t, ch.Data, u)
}

func TestValidate_Replay(t *testing.T) {
	f := getFixture(t)
	sim := startSim(t, brokersim.Options{})
	c := newClient(t, sim, nil)
	ctx := testContext(t)
	ch, err := c.Activate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	resp := sign(t, ch, f.jane)
	if _, err := c.Validate(ctx, ch, f.jane.UID, resp); err != nil {
		t.Fatalf("first Validate: %v", err)
	}
	// The client refuses to send a used challenge again…
	_, err = c.Validate(ctx, ch, f.jane.UID, resp)
	wantError(t, err, broker.KindUsage, protocol.CodeInternal)
	// …and the broker refuses one replayed by anyone else.
	replay := &broker.Challenge{Raw: ch.Raw, Data: ch.Data, Signature: ch.Signature, ReplyURL: ch.ReplyURL, LogSessionID: ch.LogSessionID, DeviceID: ch.DeviceID}
	_, err = c.Validate(ctx, replay, f.jane.UID, resp)
	wantError(t, err, broker.KindRefused, protocol.CodeAuthenticationFailed)
	if log := sim.Log(); !strings.Contains(log[len(log)-1].Outcome, "challenge already used") {
		t.Errorf("simulator outcome %q", log[len(log)-1].Outcome)
	}
}

func TestValidate_ExpiredChallenge(t *testing.T) {
	f := getFixture(t)
	clock := &fakeClock{t: time.Now()}
	sim := startSim(t, brokersim.Options{Now: clock.Now, ChallengeTTL: time.Minute})
	c := newClient(t, sim, nil)
	ctx := testContext(t)
	ch, err := c.Activate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Minute)
	_, err = c.Validate(ctx, ch, f.jane.UID, sign(t, ch, f.jane))
	wantError(t, err, broker.KindRefused, protocol.CodeAuthenticationFailed)
	if log := sim.Log(); !strings.Contains(log[len(log)-1].Outcome, "challenge expired") {
		t.Errorf("simulator outcome %q", log[len(log)-1].Outcome)
	}
}

func TestSession_Expires(t *testing.T) {
	f := getFixture(t)
	clock := &fakeClock{t: time.Now()}
	sim := startSim(t, brokersim.Options{Now: clock.Now, SessionTime: 10 * time.Minute})
	c := newClient(t, sim, nil)
	ctx := testContext(t)
	s := login(t, ctx, c, f.john)
	if s.SessionTime != 10*time.Minute || len(s.Roles) != 1 {
		t.Fatalf("session %v", s)
	}
	clock.Advance(9 * time.Minute)
	if _, err := c.RoleAssertion(ctx, s.Ticket); err != nil {
		t.Fatalf("RoleAssertion before expiry: %v", err)
	}
	// the assertion above counted as use; the idle timer restarted
	clock.Advance(10 * time.Minute)
	_, err := c.RoleAssertion(ctx, s.Ticket)
	wantError(t, err, broker.KindRefused, protocol.CodeSessionExpired)
	err = c.SelectRole(ctx, s.Ticket, s.Roles[0].ID)
	wantError(t, err, broker.KindRefused, protocol.CodeRoleSelectionFailed)
	err = c.Logout(ctx, s)
	wantError(t, err, broker.KindRefused, protocol.CodeSessionExpired)
}

func TestSelectRole_NotHeld(t *testing.T) {
	f := getFixture(t)
	sim := startSim(t, brokersim.Options{})
	c := newClient(t, sim, nil)
	ctx := testContext(t)
	s := login(t, ctx, c, f.john)
	// Jane's role, not John's
	err := c.SelectRole(ctx, s.Ticket, "555254242105")
	wantError(t, err, broker.KindRefused, protocol.CodeRoleSelectionFailed)
	a, err := c.RoleAssertion(ctx, s.Ticket)
	if err != nil {
		t.Fatal(err)
	}
	if a.SessionRoleID != "" {
		t.Errorf("a refused role became the session's: %q", a.SessionRoleID)
	}
}

func TestRestart_RemembersTickets(t *testing.T) {
	f := getFixture(t)
	state := t.TempDir()
	sim := startSim(t, brokersim.Options{StateDir: state})
	ctx := testContext(t)
	s := login(t, ctx, newClient(t, sim, nil), f.jane)
	if err := sim.Close(); err != nil {
		t.Fatal(err)
	}
	sim2 := startSim(t, brokersim.Options{StateDir: state})
	c2 := newClient(t, sim2, nil)
	if _, err := c2.RoleAssertion(ctx, s.Ticket); err != nil {
		t.Fatalf("RoleAssertion after restart: %v", err)
	}
	if err := c2.Logout(ctx, s); err != nil { // the logout URL names the old port; the base URL's host is the same
		wantError(t, err, broker.KindTransport, protocol.CodeServerCommFailed)
	}
}

func TestUntrustedRoot(t *testing.T) {
	sim := startSim(t, brokersim.Options{})
	c := newClient(t, sim, func(o *broker.Options) { o.CABundle = "" })
	_, err := c.Activate(testContext(t))
	be := wantError(t, err, broker.KindTLS, protocol.CodeServerCommFailed)
	if !strings.Contains(be.Error(), "caBundle") {
		t.Errorf("error %q gives no hint", be)
	}
}

func TestForeignURL(t *testing.T) {
	f := getFixture(t)
	sim := startSim(t, brokersim.Options{})
	c := newClient(t, sim, nil)
	ctx := testContext(t)
	// A reply_url on another host would send the signed challenge there.
	if err := sim.SetFault(brokersim.Fault{Endpoint: "activate", Kind: brokersim.FaultForeignURL, Count: 1}); err != nil {
		t.Fatal(err)
	}
	_, err := c.Activate(ctx)
	wantError(t, err, broker.KindURL, protocol.CodeServerCommFailed)
	// A foreign sso_logout_url is ignored for the broker's own.
	if err := sim.SetFault(brokersim.Fault{Endpoint: "validate", Kind: brokersim.FaultForeignURL, Count: 1}); err != nil {
		t.Fatal(err)
	}
	s := login(t, ctx, c, f.jane)
	if s.LogoutURL.String() != sim.URL()+"/login/authlogout" {
		t.Errorf("logout url %s", s.LogoutURL)
	}
}

// TestFaults injects every fault at every endpoint and checks that the
// client fails with a typed error carrying the right code, within its
// timeout.
func TestFaults(t *testing.T) {
	f := getFixture(t)
	sim := startSim(t, brokersim.Options{})
	faults := []struct {
		fault brokersim.Fault
		kind  broker.Kind
	}{
		// the broker hangs longer than the client waits
		{brokersim.Fault{Kind: brokersim.FaultDelay, Delay: 30 * time.Second}, broker.KindTimeout},
		// a load balancer's 503 on every attempt
		{brokersim.Fault{Kind: brokersim.FaultStatus, Status: 503}, broker.KindStatus},
		// the connection is reset without an answer
		{brokersim.Fault{Kind: brokersim.FaultReset}, broker.KindTransport},
		// the answer stops half way
		{brokersim.Fault{Kind: brokersim.FaultTruncate}, broker.KindTransport},
		// an error page instead of the document
		{brokersim.Fault{Kind: brokersim.FaultMalformed}, broker.KindMalformed},
		// a certificate from another authority
		{brokersim.Fault{Kind: brokersim.FaultTLS}, broker.KindTLS},
	}
	type call func(ctx context.Context, c *broker.Client, s *broker.Session, ch *broker.Challenge) error
	endpoints := []struct {
		name string
		call call
	}{
		{"activate", func(ctx context.Context, c *broker.Client, _ *broker.Session, _ *broker.Challenge) error {
			_, err := c.Activate(ctx)
			return err
		}},
		{"validate", func(ctx context.Context, c *broker.Client, _ *broker.Session, ch *broker.Challenge) error {
			_, err := c.Validate(ctx, ch, f.jane.UID, sign(t, ch, f.jane))
			return err
		}},
		{"roleselect", func(ctx context.Context, c *broker.Client, s *broker.Session, _ *broker.Challenge) error {
			return c.SelectRole(ctx, s.Ticket, s.Roles[0].ID)
		}},
		{"roleassertion", func(ctx context.Context, c *broker.Client, s *broker.Session, _ *broker.Challenge) error {
			_, err := c.RoleAssertion(ctx, s.Ticket)
			return err
		}},
		{"logout", func(ctx context.Context, c *broker.Client, s *broker.Session, _ *broker.Challenge) error {
			return c.Logout(ctx, s)
		}},
	}
	for _, ep := range endpoints {
		for _, fc := range faults {
			t.Run(ep.name+"/"+string(fc.fault.Kind), func(t *testing.T) {
				sim.ClearFaults()
				ctx := testContext(t)
				c := newClient(t, sim, nil)
				s := login(t, ctx, c, f.jane)
				ch, err := c.Activate(ctx)
				if err != nil {
					t.Fatal(err)
				}
				// The faulty call gets a fresh client, with a short timeout
				// for the delay fault.
				timeout := 5 * time.Second
				if fc.fault.Kind == brokersim.FaultDelay {
					timeout = 300 * time.Millisecond
				}
				c = newClient(t, sim, func(o *broker.Options) { o.Timeout = timeout })
				fault := fc.fault
				fault.Endpoint = ep.name
				if err := sim.SetFault(fault); err != nil {
					t.Fatal(err)
				}
				defer sim.ClearFaults()
				err = ep.call(ctx, c, s, ch)
				if ctx.Err() != nil {
					t.Fatalf("the call outlived the test's deadline: %v", err)
				}
				wantError(t, err, fc.kind, protocol.CodeServerCommFailed)
			})
		}
	}
}

// TestRetries checks which calls are retried, counting the attempts in the
// simulator's log.
func TestRetries(t *testing.T) {
	f := getFixture(t)
	count := func(sim *brokersim.Server, endpoint string) int {
		n := 0
		for _, e := range sim.Log() {
			if e.Endpoint == endpoint {
				n++
			}
		}
		return n
	}
	t.Run("activate retried after a 503", func(t *testing.T) {
		sim := startSim(t, brokersim.Options{Faults: []brokersim.Fault{{Endpoint: "activate", Kind: brokersim.FaultStatus, Status: 503, Count: 1}}})
		c := newClient(t, sim, nil)
		if _, err := c.Activate(testContext(t)); err != nil {
			t.Fatalf("Activate: %v", err)
		}
		if n := count(sim, "activate"); n != 2 {
			t.Errorf("%d activate requests, want 2", n)
		}
	})
	t.Run("roleassertion retried after a reset", func(t *testing.T) {
		sim := startSim(t, brokersim.Options{})
		c := newClient(t, sim, nil)
		ctx := testContext(t)
		s := login(t, ctx, c, f.jane)
		if err := sim.SetFault(brokersim.Fault{Endpoint: "roleassertion", Kind: brokersim.FaultReset, Count: 2}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.RoleAssertion(ctx, s.Ticket); err != nil {
			t.Fatalf("RoleAssertion: %v", err)
		}
		if n := count(sim, "roleassertion"); n != 3 {
			t.Errorf("%d roleassertion requests, want 3", n)
		}
	})
	t.Run("validate never retried", func(t *testing.T) {
		sim := startSim(t, brokersim.Options{Faults: []brokersim.Fault{{Endpoint: "validate", Kind: brokersim.FaultStatus, Status: 503, Count: 1}}})
		c := newClient(t, sim, nil)
		ctx := testContext(t)
		ch, err := c.Activate(ctx)
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Validate(ctx, ch, f.jane.UID, sign(t, ch, f.jane))
		wantError(t, err, broker.KindStatus, protocol.CodeServerCommFailed)
		if n := count(sim, "validate"); n != 1 {
			t.Errorf("%d validate requests, want 1", n)
		}
	})
	t.Run("logout tried twice", func(t *testing.T) {
		sim := startSim(t, brokersim.Options{})
		c := newClient(t, sim, nil)
		ctx := testContext(t)
		s := login(t, ctx, c, f.jane)
		if err := sim.SetFault(brokersim.Fault{Endpoint: "logout", Kind: brokersim.FaultReset}); err != nil {
			t.Fatal(err)
		}
		wantError(t, c.Logout(ctx, s), broker.KindTransport, protocol.CodeServerCommFailed)
		if n := count(sim, "logout"); n != 2 {
			t.Errorf("%d logout requests, want 2", n)
		}
	})
	t.Run("caller cancels during backoff", func(t *testing.T) {
		sim := startSim(t, brokersim.Options{Faults: []brokersim.Fault{{Endpoint: "activate", Kind: brokersim.FaultStatus, Status: 503}}})
		ctx, cancel := context.WithCancel(testContext(t))
		defer cancel()
		// the user cancels as soon as the first attempt has failed
		c := newClient(t, sim, func(o *broker.Options) {
			o.Log = func(ev broker.LogEvent) {
				if ev.Attempt == 1 {
					cancel()
				}
			}
		})
		_, err := c.Activate(ctx)
		wantError(t, err, broker.KindCanceled, protocol.CodeUserAbort)
		if n := count(sim, "activate"); n != 1 {
			t.Errorf("%d activate requests after the cancel, want 1", n)
		}
	})
}
