// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package broker_test

import (
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openidentityagent/oia/e2e/brokersim"
	"github.com/openidentityagent/oia/e2e/testpki"
	"github.com/openidentityagent/oia/host/broker"
	"github.com/openidentityagent/oia/host/cms"
	"github.com/openidentityagent/oia/host/protocol"
)

// fixture is made once per test binary: RSA key generation is the slow part
// of these tests.
type fixture struct {
	pki, otherPKI        *testpki.PKI
	jane, john, stranger *testpki.User // stranger is valid but unknown to the broker
	impostor             *testpki.User // Jane's uid, certified by another authority
}

var (
	fixOnce sync.Once
	fix     fixture
	fixErr  error
)

func getFixture(t testing.TB) *fixture {
	t.Helper()
	fixOnce.Do(func() {
		if fix.pki, fixErr = testpki.New(); fixErr != nil {
			return
		}
		if fix.otherPKI, fixErr = testpki.New(); fixErr != nil {
			return
		}
		if fix.jane, fixErr = fix.pki.IssueUser("555000111222", "Jane Smith"); fixErr != nil {
			return
		}
		if fix.john, fixErr = fix.pki.IssueUser("555000333444", "John Doe"); fixErr != nil {
			return
		}
		if fix.stranger, fixErr = fix.pki.IssueUser("555000999999", "Stranger"); fixErr != nil {
			return
		}
		fix.impostor, fixErr = fix.otherPKI.IssueUser("555000111222", "Jane Smith")
	})
	if fixErr != nil {
		t.Fatalf("test pki: %v", fixErr)
	}
	return &fix
}

// startSim starts an in-process simulator with the shared PKI.
func startSim(t *testing.T, opts brokersim.Options) *brokersim.Server {
	t.Helper()
	if opts.PKI == nil {
		opts.PKI = getFixture(t).pki
	}
	if opts.AdminAddr == "" {
		opts.AdminAddr = "off"
	}
	sim, err := brokersim.New(opts)
	if err != nil {
		t.Fatalf("brokersim.New: %v", err)
	}
	if err := sim.Start(); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	return sim
}

// newClient returns a client that trusts the simulator's root (and the
// system roots), never skipping verification.
func newClient(t *testing.T, sim *brokersim.Server, edit func(*broker.Options)) *broker.Client {
	t.Helper()
	base, err := broker.ResolveBaseURL("", sim.URL())
	if err != nil {
		t.Fatal(err)
	}
	opts := broker.Options{BaseURL: base, CABundle: sim.CAFile(), Timeout: 5 * time.Second}
	if edit != nil {
		edit(&opts)
	}
	c, err := broker.New(opts)
	if err != nil {
		t.Fatalf("broker.New: %v", err)
	}
	broker.SetBackoffBase(c, 10*time.Millisecond)
	return c
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// sign makes the authvalidate response for ch as the card would.
func sign(t *testing.T, ch *broker.Challenge, u *testpki.User) string {
	t.Helper()
	der, err := cms.Sign(ch.Data, u.Cert, u.Key, crypto.SHA1)
	if err != nil {
		t.Fatalf("cms.Sign: %v", err)
	}
	return cms.WrapResponse(der)
}

func login(t *testing.T, ctx context.Context, c *broker.Client, u *testpki.User) *broker.Session {
	t.Helper()
	ch, err := c.Activate(ctx)
	if err != nil {
		t.Fatalf("Activate: %v", err)
	}
	s, err := c.Validate(ctx, ch, u.UID, sign(t, ch, u))
	if err != nil {
		t.Fatalf("Validate: %v", err)
	}
	return s
}

// wantError checks that err is a *broker.Error of kind with code.
func wantError(t *testing.T, err error, kind broker.Kind, code protocol.Code) *broker.Error {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %s %s", kind, code)
	}
	var be *broker.Error
	if !errors.As(err, &be) {
		t.Fatalf("error %v (%T) is not a *broker.Error", err, err)
	}
	if be.Kind != kind || protocol.CodeOf(err) != code {
		t.Fatalf("got kind %s code %s (%v), want kind %s code %s", be.Kind, protocol.CodeOf(err), err, kind, code)
	}
	return be
}

func TestFlow(t *testing.T) {
	f := getFixture(t)
	sim := startSim(t, brokersim.Options{})
	c := newClient(t, sim, nil)
	ctx := testContext(t)

	ch, err := c.Activate(ctx)
	if err != nil {
		t.Fatalf("Activate: %v", err)
	}
	if len(ch.Data) != 48 || len(ch.LogSessionID) != 10 || !strings.HasPrefix(ch.DeviceID, "") || !strings.Contains(ch.DeviceID, ",ClientIP=127.0.0.1") {
		t.Errorf("challenge %d bytes, log_session_id %q, device_id %q", len(ch.Data), ch.LogSessionID, ch.DeviceID)
	}
	s, err := c.Validate(ctx, ch, f.jane.UID, sign(t, ch, f.jane))
	if err != nil {
		t.Fatalf("Validate: %v", err)
	}
	if !strings.HasPrefix(s.Ticket, "AQIC5wM2LY4S") || !strings.HasSuffix(s.Ticket, "@AAJTSQACMDE=#") {
		t.Errorf("ticket does not have the OpenSSO shape (%d chars)", len(s.Ticket))
	}
	if !sim.TicketLive(s.Ticket) {
		t.Fatal("the simulator does not know the ticket it issued")
	}
	if s.Name != "Jane Smith" || s.UID != f.jane.UID || s.SessionTime != 600*time.Second || s.MaxSessionTime != 600*time.Second || s.KeepAlive {
		t.Errorf("session %v: name %q, times %s/%s, keepalive %v", s, s.Name, s.SessionTime, s.MaxSessionTime, s.KeepAlive)
	}
	if s.LogoutURL.String() != sim.URL()+"/login/authlogout" {
		t.Errorf("logout url %s", s.LogoutURL)
	}
	want := []broker.Role{
		{ID: "555254242105", OrgCode: "RX1", OrgName: "OIA TEST TRUST", JobRole: "Clinical", SubGroup: "Clinical Provision", Name: "Clinical Practitioner Access Role"},
		{ID: "555254242106", OrgCode: "RX1", OrgName: "OIA TEST TRUST", JobRole: "Admin & Clerical", SubGroup: "Admin", Name: "Registration Authority Agent"},
		{ID: "555254242107", OrgCode: "Y01234", OrgName: "SMITH, JONES & PARTNERS", JobRole: "Admin & Clerical", SubGroup: "Management - A & C", Name: "Demographic Administrator"},
	}
	if len(s.Roles) != len(want) {
		t.Fatalf("got %d roles, want %d", len(s.Roles), len(want))
	}
	for i, r := range s.Roles {
		r.Raw = ""
		if r != want[i] {
			t.Errorf("role %d: got %+v, want %+v", i, r, want[i])
		}
	}

	if err := c.SelectRole(ctx, s.Ticket, "555254242107"); err != nil {
		t.Fatalf("SelectRole: %v", err)
	}
	a, err := c.RoleAssertion(ctx, s.Ticket)
	if err != nil {
		t.Fatalf("RoleAssertion: %v", err)
	}
	sel, ok := a.SelectedRole()
	if a.UID != f.jane.UID || a.Name != "Jane Smith" || a.SessionRoleID != "555254242107" || !ok {
		t.Fatalf("assertion %v", a)
	}
	if sel.OrgName != "SMITH, JONES & PARTNERS" || sel.OrgCode != "Y01234" || sel.Name != "Demographic Administrator" || sel.JobRoleCode != "S0080:G0440:R5110" {
		t.Errorf("selected role %+v", sel)
	}

	if err := c.Logout(ctx, s); err != nil {
		t.Fatalf("Logout: %v", err)
	}
	if sim.TicketLive(s.Ticket) {
		t.Error("the ticket is still live after logout")
	}
	_, err = c.RoleAssertion(ctx, s.Ticket)
	wantError(t, err, broker.KindRefused, protocol.CodeSessionExpired)

	// The simulator's log records the flow without a secret in it.
	entries := sim.Log()
	logText, _ := json.Marshal(entries)
	for name, secret := range map[string]string{"ticket": s.Ticket, "url-encoded ticket": url.QueryEscape(s.Ticket), "challenge": ch.Raw, "signature": ch.Signature} {
		if strings.Contains(string(logText), secret) {
			t.Errorf("the request log holds the %s", name)
		}
	}
	var outcomes []string
	for _, e := range entries {
		outcomes = append(outcomes, e.Endpoint+": "+e.Outcome)
	}
	wantOutcomes := []string{"activate: challenge issued", "validate: ticket issued", "roleselect: role 555254242107 selected",
		"roleassertion: assertion issued", "logout: ticket destroyed", "roleassertion: refused: unknown or expired ticket"}
	if strings.Join(outcomes, "\n") != strings.Join(wantOutcomes, "\n") {
		t.Errorf("log outcomes:\n%s\nwant:\n%s", strings.Join(outcomes, "\n"), strings.Join(wantOutcomes, "\n"))
	}
	if ua := entries[0].UserAgent; ua != broker.DefaultUserAgent {
		t.Errorf("user agent %q", ua)
	}
	if sel := entries[2].Fields; sel["gacVersion"] != "GACv7. 2. 2. 21" || sel["ssbMode"] != "0" || sel["selectedRoleUid"] != "555254242107" {
		t.Errorf("role selection query %v", sel)
	}
}

func signDER(t *testing.T, data []byte, u *testpki.User) []byte {
	t.Helper()
	der, err := cms.Sign(data, u.Cert, u.Key, crypto.SHA1)
	if err != nil {
		t.Fatalf("cms.Sign: %v", err)
	}
	return der
}

func wrap(der []byte) string { return cms.WrapResponse(der) }

// BenchmarkLogin measures a whole login against the in-process simulator:
// activate, sign (RSA-2048 in memory), validate, select a role.
func BenchmarkLogin(b *testing.B) {
	f := getFixture(b)
	sim, err := brokersim.New(brokersim.Options{PKI: f.pki, AdminAddr: "off"})
	if err != nil {
		b.Fatal(err)
	}
	if err := sim.Start(); err != nil {
		b.Fatal(err)
	}
	defer sim.Close()
	base, _ := broker.ResolveBaseURL("", sim.URL())
	c, err := broker.New(broker.Options{BaseURL: base, CABundle: sim.CAFile()})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		ch, err := c.Activate(ctx)
		if err != nil {
			b.Fatal(err)
		}
		der, err := cms.Sign(ch.Data, f.jane.Cert, f.jane.Key, crypto.SHA1)
		if err != nil {
			b.Fatal(err)
		}
		s, err := c.Validate(ctx, ch, f.jane.UID, cms.WrapResponse(der))
		if err != nil {
			b.Fatal(err)
		}
		if err := c.SelectRole(ctx, s.Ticket, s.Roles[0].ID); err != nil {
			b.Fatal(err)
		}
	}
}

func TestDeviceID(t *testing.T) {
	f := getFixture(t)
	sim := startSim(t, brokersim.Options{})
	c := newClient(t, sim, func(o *broker.Options) { o.DeviceID = "0a1b2c3d"; o.ClientIP = "10.1.2.3" })
	ctx := testContext(t)
	s := login(t, ctx, c, f.jane)
	if s.DeviceID != "0a1b2c3d,ClientIP=10.1.2.3" || len(s.LogSessionID) != 10 {
		t.Errorf("device_id %q, log_session_id %q", s.DeviceID, s.LogSessionID)
	}
	for _, e := range sim.Log() {
		if e.Fields["device_id"] != s.DeviceID || e.Fields["log_session_id"] != s.LogSessionID {
			t.Errorf("%s sent device_id %q, log_session_id %q", e.Endpoint, e.Fields["device_id"], e.Fields["log_session_id"])
		}
	}
}
