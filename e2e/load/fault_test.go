// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package load

import (
	"context"
	e2erig "github.com/openidentityagent/oia/e2e/rig"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/miekg/pkcs11"

	"github.com/openidentityagent/oia/e2e/brokersim"
	"github.com/openidentityagent/oia/e2e/vcard"
	"github.com/openidentityagent/oia/host/protocol"
)

// loginFails logs in and expects the ticket request to fail with want.
func loginFails(t *testing.T, h *Host, pin string, want protocol.Code) {
	t.Helper()
	r, err := Login(ctxFor(t), h, RigOrigin, pin)
	if err != nil {
		t.Fatalf("login under the fault: %v", err)
	}
	if r.OK || code(r) != want {
		t.Fatalf("login under the fault: ok=%v error=%+v, want %s", r.OK, r.Error, want)
	}
}

// loginWorks logs in and checks the broker knows the ticket.
func loginWorks(t *testing.T, h *Host, rig *Rig) {
	t.Helper()
	r, err := Login(ctxFor(t), h, RigOrigin, rig.PIN)
	if err != nil || !r.OK {
		t.Fatalf("login after the fault was cleared: %+v %v; stderr: %s", r.Error, err, h.Stderr())
	}
	if !rig.Sim.TicketLive(r.Ticket) {
		t.Fatal("the broker does not know the ticket")
	}
}

// TestFault_Broker: each way the broker can fail ends the login with a
// stable code, and once the broker is well again the next login on the
// same host process succeeds.
func TestFault_Broker(t *testing.T) {
	tests := []struct {
		name  string
		fault brokersim.Fault
		want  protocol.Code
	}{
		// The TCP connection is reset before any answer, on every attempt.
		{"activate reset", brokersim.Fault{Endpoint: "activate", Kind: brokersim.FaultReset}, protocol.CodeServerCommFailed},
		// Validate is never retried: one reset ends the login.
		{"validate reset", brokersim.Fault{Endpoint: "validate", Kind: brokersim.FaultReset, Count: 1}, protocol.CodeServerCommFailed},
		// A load balancer with no broker behind it.
		{"activate 503", brokersim.Fault{Endpoint: "activate", Kind: brokersim.FaultStatus, Status: 503}, protocol.CodeServerCommFailed},
		// The answer is cut off half way, with the full Content-Length.
		{"validate truncated", brokersim.Fault{Endpoint: "validate", Kind: brokersim.FaultTruncate}, protocol.CodeServerCommFailed},
		// A proxy's error page instead of the broker's document.
		{"activate garbage", brokersim.Fault{Endpoint: "activate", Kind: brokersim.FaultMalformed}, protocol.CodeServerCommFailed},
		{"validate garbage", brokersim.Fault{Endpoint: "validate", Kind: brokersim.FaultMalformed}, protocol.CodeServerCommFailed},
		// The role the user has cannot be selected.
		{"roleselect 500", brokersim.Fault{Endpoint: "roleselect", Kind: brokersim.FaultStatus, Status: 500}, protocol.CodeServerCommFailed},
		// An interception proxy or a wrong server: TLS is always verified.
		{"wrong certificate", brokersim.Fault{Kind: brokersim.FaultTLS}, protocol.CodeServerCommFailed},
		// The broker stalls past brokerTimeoutSeconds (1 s here).
		{"activate stalls", brokersim.Fault{Endpoint: "activate", Kind: brokersim.FaultDelay, Delay: 4 * time.Second}, protocol.CodeServerCommFailed},
		{"validate stalls", brokersim.Fault{Endpoint: "validate", Kind: brokersim.FaultDelay, Delay: 4 * time.Second}, protocol.CodeServerCommFailed},
		// reply_url on another host: the signed challenge must not leave.
		{"foreign reply_url", brokersim.Fault{Endpoint: "activate", Kind: brokersim.FaultForeignURL}, protocol.CodeServerCommFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Most of each case is waiting (time-outs, back-off): the
			// cases run side by side, each with its own card and broker.
			t.Parallel()
			rig := newRig(t)
			cfg := rig.Config()
			cfg["brokerTimeoutSeconds"] = 1
			h := startHost(t, cfg, rig.Env()...)
			if err := WaitCard(ctxFor(t), h); err != nil {
				t.Fatal(err)
			}
			if err := rig.Sim.SetFault(tt.fault); err != nil {
				t.Fatal(err)
			}
			loginFails(t, h, rig.PIN, tt.want)
			rig.Sim.ClearFaults()
			loginWorks(t, h, rig)
		})
	}
}

// TestFault_BrokerRefuses: no broker listens (connection refused); when one
// starts on that address the same host process logs in.
func TestFault_BrokerRefuses(t *testing.T) {
	pki, err := e2erig.SharedPKI()
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close() // nothing listens here now
	rig := newRig(t)
	cfg := rig.Config()
	cfg["brokerURL"] = "https://" + addr
	h := startHost(t, cfg, rig.Env()...)
	if err := WaitCard(ctxFor(t), h); err != nil {
		t.Fatal(err)
	}
	loginFails(t, h, rig.PIN, protocol.CodeServerCommFailed)

	sim, err := brokersim.New(brokersim.Options{Addr: addr, AdminAddr: "off", PKI: pki})
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Start(); err != nil {
		t.Skipf("the port was taken again before the simulator could use it: %v", err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	r, err := Login(ctxFor(t), h, RigOrigin, rig.PIN)
	if err != nil || !r.OK || !sim.TicketLive(r.Ticket) {
		t.Fatalf("login once the broker listens: %+v %v", r.Error, err)
	}
}

// TestFault_CardDuringLogin: the card vanishes, or the module fails,
// during each PKCS#11 call a login makes. The ticket request fails with a
// stable code and the next login on the same host process succeeds, after
// the card is put back where it was pulled.
func TestFault_CardDuringLogin(t *testing.T) {
	remove := func(fn string) vcard.Fault { return vcard.Fault{Function: fn, Remove: true, Once: true} }
	rv := func(fn string, rv uint) vcard.Fault { return vcard.Fault{Function: fn, RV: rv, Once: true} }
	tests := []struct {
		name  string
		fault vcard.Fault
		want  protocol.Code
	}{
		// Pulled while the card checks the passcode.
		{"removed in C_Login", remove("C_Login"), protocol.CodeCardRemoved},
		// Pulled while the host looks for the private key after login.
		{"removed in C_FindObjects", remove("C_FindObjects"), protocol.CodeCardRemoved},
		{"removed in C_GetAttributeValue", remove("C_GetAttributeValue"), protocol.CodeCardRemoved},
		// Pulled mid-signature.
		{"removed in C_SignInit", remove("C_SignInit"), protocol.CodeCardRemoved},
		{"removed in C_Sign", remove("C_Sign"), protocol.CodeCardRemoved},
		// The module's catch-all failure while signing.
		{"C_Sign CKR_GENERAL_ERROR", rv("C_Sign", pkcs11.CKR_GENERAL_ERROR), protocol.CodeCardError},
		// The card ran out of memory while signing.
		{"C_Sign CKR_DEVICE_MEMORY", rv("C_Sign", pkcs11.CKR_DEVICE_MEMORY), protocol.CodeCardError},
		// A reader fault while checking the passcode: read as a lost card
		// (p11-kit-client says this when its server died); no attempt is
		// used up.
		{"C_Login CKR_DEVICE_ERROR", rv("C_Login", pkcs11.CKR_DEVICE_ERROR), protocol.CodeCardRemoved},
		{"C_Login CKR_GENERAL_ERROR", rv("C_Login", pkcs11.CKR_GENERAL_ERROR), protocol.CodeCardError},
		// A module answering a code it should not have.
		{"C_SignInit CKR_FUNCTION_FAILED", rv("C_SignInit", pkcs11.CKR_FUNCTION_FAILED), protocol.CodeCardError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rig := newRig(t)
			h := startHost(t, rig.Config(), rig.Env()...)
			if err := WaitCard(ctxFor(t), h); err != nil {
				t.Fatal(err)
			}
			if err := rig.Card.SetFault(tt.fault); err != nil {
				t.Fatal(err)
			}
			loginFails(t, h, rig.PIN, tt.want)
			recoverCard(t, h, rig)
			loginWorks(t, h, rig)
			if st, err := rig.Card.Status(); err != nil || st.AttemptsLeft != vcard.MaxAttempts {
				t.Errorf("the fault cost a passcode attempt: %+v %v", st, err)
			}
		})
	}
}

// recoverCard clears the card's fault and, when the fault took the card
// out, waits for the host to see that and puts it back.
func recoverCard(t *testing.T, h *Host, rig *Rig) {
	t.Helper()
	st, err := rig.Card.Status()
	if err != nil {
		t.Fatal(err)
	}
	if st.Fault != nil {
		t.Fatalf("the fault did not fire during the login: %+v", st.Fault)
	}
	if !st.Present {
		if _, err := h.Event(ctxFor(t), protocol.EvCardRemoved); err != nil {
			t.Fatal(err)
		}
		if err := rig.Card.Insert(); err != nil {
			t.Fatal(err)
		}
	}
	// Either a re-inserted card or a re-initialised module: wait until the
	// host has read the card again, or sees that it still has it. A host
	// that failed to read the card reads it again at the next request
	// (state failed: "a new request starts again").
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for {
		r, err := h.Call(ctxFor(t), map[string]any{"type": "status"})
		if err != nil {
			t.Fatal(err)
		}
		if r.Card != nil && r.Card.Present && (r.Card.UID != "" || r.State == protocol.StateFailed) {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the host did not read the card again: %+v", r)
		case <-time.After(20 * time.Millisecond): // polling the host's status, not a timed assertion
		}
	}
}

// TestFault_CardOnInsert: the card vanishes or fails while the host reads
// it after insertion (C_OpenSession, the certificate search, its
// attributes). The host reports a stable code and, once the card is well,
// logs in without a restart.
func TestFault_CardOnInsert(t *testing.T) {
	tests := []struct {
		name  string
		fault vcard.Fault
		want  protocol.Code
	}{
		// Pulled as the host opens its session.
		{"removed in C_OpenSession", vcard.Fault{Function: "C_OpenSession", Remove: true, Once: true}, protocol.CodeCardRemoved},
		// Pulled while the host looks for the certificate.
		{"removed in C_FindObjectsInit", vcard.Fault{Function: "C_FindObjectsInit", Remove: true, Once: true}, protocol.CodeCardRemoved},
		// The module fails to open a session.
		{"C_OpenSession CKR_GENERAL_ERROR", vcard.Fault{Function: "C_OpenSession", RV: pkcs11.CKR_GENERAL_ERROR, Once: true}, protocol.CodeCardError},
		// Out of memory reading the certificate.
		{"C_GetAttributeValue CKR_DEVICE_MEMORY", vcard.Fault{Function: "C_GetAttributeValue", RV: pkcs11.CKR_DEVICE_MEMORY, Once: true}, protocol.CodeCardError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rig := newRig(t)
			if err := rig.Card.Remove(); err != nil {
				t.Fatal(err)
			}
			h := startHost(t, rig.Config(), rig.Env()...)
			if err := rig.Card.SetFault(tt.fault); err != nil {
				t.Fatal(err)
			}
			if err := rig.Card.Insert(); err != nil {
				t.Fatal(err)
			}
			ev, err := h.Event(ctxFor(t), protocol.EvError)
			if err != nil {
				t.Fatal(err)
			}
			if code(ev) != tt.want {
				t.Fatalf("error event %+v, want %s", ev.Error, tt.want)
			}
			recoverCard(t, h, rig)
			loginWorks(t, h, rig)
		})
	}
}

// TestFault_LogFile: a log file that cannot be written (a full disk, a
// directory that cannot hold it) never stops the host: it starts, logs in
// and keeps its standard output for frames only.
func TestFault_LogFile(t *testing.T) {
	rig := newRig(t)
	notDir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notDir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		path string
	}{
		// Every write fails with ENOSPC.
		{"disk full", "/dev/full"},
		// The folder cannot be made or written (a file stands in its
		// place; chmod would not stop root).
		{"unwritable folder", filepath.Join(notDir, "oia", "host.log")},
		// A read-only file system.
		{"read-only file system", "/proc/oia-load-test/host.log"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := rig.Config()
			cfg["logFile"] = tt.path
			cfg["logLevel"] = "debug"
			h := startHost(t, cfg, rig.Env()...)
			if err := WaitCard(ctxFor(t), h); err != nil {
				t.Fatal(err)
			}
			loginWorks(t, h, rig)
			if err := Logout(ctxFor(t), h, RigOrigin); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestFault_KilledMidLogin: the host is killed (SIGKILL) while it waits
// for the broker to validate; the extension starts a new one, which logs in
// with the same card and broker.
func TestFault_KilledMidLogin(t *testing.T) {
	rig := newRig(t)
	h := startHost(t, rig.Config(), rig.Env()...)
	ctx := ctxFor(t)
	if err := WaitCard(ctx, h); err != nil {
		t.Fatal(err)
	}
	if err := rig.Sim.SetFault(brokersim.Fault{Endpoint: "validate", Kind: brokersim.FaultDelay, Delay: 3 * time.Second, Count: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Send(map[string]any{"type": "getTicket", "origin": RigOrigin}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Event(ctx, protocol.EvPINRequired); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Send(map[string]any{"type": "pin", "pin": rig.PIN}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Next(ctx, "authenticating", func(f protocol.Frame) bool {
		return f.Event == protocol.EvState && f.State == protocol.StateAuthenticating
	}); err != nil {
		t.Fatal(err)
	}
	h.Kill()
	rig.Sim.ClearFaults()

	h2 := startHost(t, rig.Config(), rig.Env()...)
	if err := WaitCard(ctxFor(t), h2); err != nil {
		t.Fatal(err)
	}
	loginWorks(t, h2, rig)
}
