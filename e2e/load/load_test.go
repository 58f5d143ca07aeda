// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package load

import (
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/openidentityagent/oia/host/nativemsg"
	"github.com/openidentityagent/oia/host/protocol"
)

// floodCount is how many getTicketNoAuth requests the flood sends (the
// brief's 10,000; OIA_LOAD_FLOOD overrides it for a longer run by hand).
func floodCount() int {
	if n, err := strconv.Atoi(os.Getenv("OIA_LOAD_FLOOD")); err == nil && n > 0 {
		return n
	}
	return 10000
}

// flood pumps n getTicketNoAuth frames from a writer goroutine while the
// caller's goroutine reads every answer, as a busy page would. It returns
// how many answers were ok with want as the ticket, and the first bad one.
func flood(t *testing.T, h *Host, n int, want string) {
	t.Helper()
	frames := make([][]byte, n)
	for i := range frames {
		f, err := nativemsg.Encode(map[string]any{"id": "f" + strconv.Itoa(i), "type": "getTicketNoAuth", "origin": RigOrigin})
		if err != nil {
			t.Fatal(err)
		}
		frames[i] = f
	}
	writeErr := make(chan error, 1)
	go func() {
		for _, f := range frames {
			if err := h.SendRaw(f); err != nil {
				writeErr <- err
				return
			}
		}
		writeErr <- nil
	}()
	seen := make([]bool, n)
	deadline := time.After(wait * 3)
	for got := 0; got < n; {
		select {
		case f, ok := <-h.Frames():
			if !ok {
				t.Fatalf("the host stopped after %d of %d answers; stderr: %s", got, n, h.Stderr())
			}
			if f.Type == "event" && f.Event != protocol.EvError {
				continue // the tail of the login's state events
			}
			if f.Type != "result" {
				t.Fatalf("an unexpected frame during the flood: %+v %+v", f, f.Error)
			}
			i, err := strconv.Atoi(f.ID[1:])
			if f.ID[0] != 'f' || err != nil || i < 0 || i >= n || seen[i] {
				t.Fatalf("an answer with an unknown or repeated id %q", f.ID)
			}
			seen[i] = true
			if !f.OK || f.Ticket != want {
				t.Fatalf("answer %d of %d: ok=%v error=%+v (want the ticket)", got, n, f.OK, f.Error)
			}
			got++
		case <-deadline:
			t.Fatalf("only %d of %d answers arrived", got, n)
		}
	}
	if err := <-writeErr; err != nil {
		t.Fatal(err)
	}
}

// TestLoad_TicketFlood sends 10,000 getTicketNoAuth requests to a logged-in
// host as fast as the pipe takes them: every one is answered ok with the
// ticket, and the host's threads, open files and memory do not grow.
func TestLoad_TicketFlood(t *testing.T) {
	rig := newRig(t)
	h, login := loggedIn(t, rig)
	h.Drop()
	// Warm up, so that the runtime's threads and the buffers are in place
	// before the "before" reading.
	flood(t, h, 500, login.Ticket)
	before := proc(t, h)
	n := floodCount()
	start := time.Now()
	flood(t, h, n, login.Ticket)
	elapsed := time.Since(start)
	after := proc(t, h)
	t.Logf("%d requests in %v (%.0f/s); before %s, after %s", n, elapsed, float64(n)/elapsed.Seconds(), before, after)
	if after.FDs > before.FDs {
		t.Errorf("open files grew from %d to %d", before.FDs, after.FDs)
	}
	if after.Threads > before.Threads+2 {
		t.Errorf("threads grew from %d to %d", before.Threads, after.Threads)
	}
	if after.RSSKiB > before.RSSKiB+8<<10 {
		t.Errorf("resident memory grew by %d KiB (from %s to %s)", after.RSSKiB-before.RSSKiB, before, after)
	}
	// Still serving, and still the same session.
	if r, err := h.Call(ctxFor(t), map[string]any{"type": "status"}); err != nil || r.State != protocol.StateLoggedIn {
		t.Fatalf("status after the flood: %+v %v", r, err)
	}
}

// TestLoad_BusyBeyond64Waiters: 64 ticket requests may wait on one login;
// the 65th is answered BUSY at once; status is still served; and once the
// passcode is given every waiting request gets the same ticket.
func TestLoad_BusyBeyond64Waiters(t *testing.T) {
	rig := newRig(t)
	h := startHost(t, rig.Config(), rig.Env()...)
	ctx := ctxFor(t)
	if err := WaitCard(ctx, h); err != nil {
		t.Fatal(err)
	}
	const maxWaiters = 64 // login.Settings.MaxWaiters, docs/protocol.md §3.3
	ids := make([]string, maxWaiters)
	for i := range ids {
		id, err := h.Send(map[string]any{"type": "getTicket", "origin": RigOrigin})
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = id
	}
	if _, err := h.Event(ctx, protocol.EvPINRequired); err != nil {
		t.Fatal(err)
	}
	for _, extra := range []string{"getTicket", "getNewTicket", "login"} {
		r, err := h.Call(ctx, map[string]any{"type": extra, "origin": RigOrigin})
		if err != nil {
			t.Fatal(err)
		}
		if code(r) != protocol.CodeBusy {
			t.Errorf("%s number 65: %+v, want BUSY", extra, r)
		}
	}
	if r, err := h.Call(ctx, map[string]any{"type": "status"}); err != nil || r.State != protocol.StateAwaitingPIN {
		t.Fatalf("status while 64 wait: %+v %v", r, err)
	}
	if r, err := h.Call(ctx, map[string]any{"type": "pin", "pin": rig.PIN}); err != nil || !r.OK {
		t.Fatalf("pin: %+v %v", r, err)
	}
	var ticket string
	for i, id := range ids {
		r, err := h.Result(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if !r.OK || r.Ticket == "" || (ticket != "" && r.Ticket != ticket) {
			t.Fatalf("waiting request %d: ok=%v error=%+v", i, r.OK, r.Error)
		}
		ticket = r.Ticket
	}
	if !rig.Sim.TicketLive(ticket) {
		t.Error("the broker does not know the ticket the waiters got")
	}
}

// soakCycles is how many login and logout cycles TestSoak_LoginLogout
// makes. One cycle (passcode, activate, sign, validate, role, logout)
// took about 25 ms against the in-process simulator under -race on the
// 2-core CI machine, so 200 cycles keep the test near 5 s; make bench runs
// 1,000 (OIA_SOAK_CYCLES overrides it by hand).
func soakCycles() int {
	if n, err := strconv.Atoi(os.Getenv("OIA_SOAK_CYCLES")); err == nil && n > 0 {
		return n
	}
	return 200
}

// TestSoak_LoginLogout logs one host process in and out many times: every
// login succeeds with a new ticket that the broker knows, every logout
// kills it, and the host's threads and open files stay flat and its memory
// bounded.
func TestSoak_LoginLogout(t *testing.T) {
	rig := newRig(t)
	h := startHost(t, rig.Config(), rig.Env()...)
	if err := WaitCard(ctxFor(t), h); err != nil {
		t.Fatal(err)
	}
	n := soakCycles()
	warm := n / 10
	var before Proc
	prev := ""
	start := time.Now()
	for i := range n {
		ctx := ctxFor(t)
		r, err := Login(ctx, h, RigOrigin, rig.PIN)
		if err != nil || !r.OK || r.Ticket == "" || r.Ticket == prev {
			t.Fatalf("cycle %d: login %+v %v", i, r.Error, err)
		}
		prev = r.Ticket
		if err := Logout(ctx, h, RigOrigin); err != nil {
			t.Fatalf("cycle %d: %v", i, err)
		}
		if rig.Sim.TicketLive(r.Ticket) {
			t.Fatalf("cycle %d: the broker still knows the ticket after destroyTicket", i)
		}
		if i == warm {
			before = proc(t, h)
		}
	}
	elapsed := time.Since(start)
	after := proc(t, h)
	t.Logf("%d cycles in %v (%v each); after %d: %s; after %d: %s", n, elapsed, elapsed/time.Duration(n), warm+1, before, n, after)
	if after.FDs > before.FDs+1 {
		t.Errorf("open files grew from %d to %d", before.FDs, after.FDs)
	}
	if after.Threads > before.Threads+2 {
		t.Errorf("threads grew from %d to %d", before.Threads, after.Threads)
	}
	if after.RSSKiB > before.RSSKiB*3/2 {
		t.Errorf("resident memory grew by more than half: from %s to %s", before, after)
	}
}
