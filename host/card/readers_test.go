// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package card

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/pkcs11"
	"github.com/openidentityagent/oia/host/card/pcsc"
)

func TestReaderOf(t *testing.T) {
	long := "Identiv uTrust 3700 F CL Reader [uTrust 3700 F CL Reader] (55041944104823) 00 00"
	readers := []string{pcsc.PnP, "OIA Virtual PIV 00 00", long}
	for _, tc := range []struct {
		description string
		want        string
		why         string
	}{
		{"OIA Virtual PIV 00 00", "OIA Virtual PIV 00 00", "OpenSC copies the reader's name"},
		{trimBlanks(long[:64]), long, "a name over 64 bytes is cut to the field's size"},
		{"OIA Virtual PIV 00", "", "a prefix of a short name is another reader"},
		{"SoftHSM slot ID 0x1", "", "SoftHSM's slots are no reader"},
		{pcsc.PnP, "", "the PnP pseudo reader is never a slot"},
		{"", "", "an empty description names nothing"},
	} {
		got, ok := readerOf(tc.description, readers)
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("readerOf(%q) = %q, %v; want %q (%s)", tc.description, got, ok, tc.want, tc.why)
		}
	}
}

func TestReadersOfSlots(t *testing.T) {
	readers := []string{"R 00 00", "R 00 01"}
	for _, tc := range []struct {
		slots []slot
		want  map[uint]string
		why   string
	}{
		{[]slot{{0, "R 00 00", true}, {4, "R 00 01", false}}, map[uint]string{0: "R 00 00", 4: "R 00 01"}, "OpenSC: a slot per reader"},
		{[]slot{{0, "R 00 00", false}, {9, "Virtual hotplug slot", false}}, map[uint]string{0: "R 00 00"}, "an empty slot that is no reader does not matter"},
		{[]slot{{0, "R 00 00", false}, {1, "SoftHSM slot ID 0x1", true}}, nil, "a token PC/SC cannot see: poll the module"},
		{[]slot{{0, "OIA Virtual Reader 00 00", false}}, nil, "no slot is an attached reader"},
		{nil, nil, "no slot at all"},
	} {
		got := readersOfSlots(tc.slots, readers)
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%v: got %v, want %v (%s)", tc.slots, got, tc.want, tc.why)
		}
	}
}

// fakeModule is a PKCS#11 module with one slot per reader name, counting
// the C_GetTokenInfo calls (what costs card commands through OpenSC).
type fakeModule struct {
	p11    // calls the watcher does not make panic
	mu     sync.Mutex
	slots  []string        // slot i's description
	tokens map[uint]string // serial of the card in a slot
	reads  int             // C_GetTokenInfo calls
}

func (f *fakeModule) GetSlotList(present bool) ([]uint, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []uint
	for i := range f.slots {
		if _, ok := f.tokens[uint(i)]; ok || !present {
			out = append(out, uint(i))
		}
	}
	return out, nil
}

func (f *fakeModule) GetSlotInfo(id uint) (pkcs11.SlotInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	si := pkcs11.SlotInfo{SlotDescription: f.slots[id]}
	if _, ok := f.tokens[id]; ok {
		si.Flags = pkcs11.CKF_TOKEN_PRESENT
	}
	return si, nil
}

func (f *fakeModule) GetTokenInfo(id uint) (pkcs11.TokenInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	s, ok := f.tokens[id]
	if !ok {
		return pkcs11.TokenInfo{}, pkcs11.Error(pkcs11.CKR_TOKEN_NOT_PRESENT)
	}
	return pkcs11.TokenInfo{Label: "card", SerialNumber: s, Flags: pkcs11.CKF_TOKEN_INITIALIZED}, nil
}

func (f *fakeModule) put(slot uint, serial string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if serial == "" {
		delete(f.tokens, slot)
	} else {
		f.tokens[slot] = serial
	}
}

func (f *fakeModule) tokenReads() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.reads
}

// fakeReaders is a PC/SC service whose readers' states the test sets. Its
// Cancel behaves as pcsc-lite's: it ends only a wait already blocked, and
// does nothing otherwise (pcsc-lite's src/winscard_clnt.c, SCardCancel).
type fakeReaders struct {
	mu      sync.Mutex
	states  map[string]pcsc.State
	gen     int           // incremented at every change of states
	moved   chan struct{} // closed and replaced at every set
	cancel  chan struct{} // closed and replaced by a Cancel during a wait
	blocked int           // waits blocked now
	idleGen int           // gen a wait last blocked at
	wake    chan struct{} // closed and replaced when a wait blocks
	gate    chan struct{} // when not nil, a wait with a timeout waits for it before it starts
	cancels int           // Cancel calls
	failing error
}

func newFakeReaders(readers ...string) *fakeReaders {
	f := &fakeReaders{states: map[string]pcsc.State{}, moved: make(chan struct{}), cancel: make(chan struct{}), wake: make(chan struct{}), idleGen: -1}
	for _, r := range readers {
		f.states[r] = pcsc.Empty
	}
	return f
}

func (f *fakeReaders) Readers() ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for r := range f.states {
		if r != pcsc.PnP {
			out = append(out, r)
		}
	}
	slices.Sort(out)
	return out, nil
}

func (f *fakeReaders) GetStatusChange(rs []pcsc.ReaderState, timeout time.Duration) error {
	f.mu.Lock()
	gate := f.gate
	f.mu.Unlock()
	if gate != nil && timeout != 0 {
		<-gate // the goroutine has not entered the call yet
	}
	var expire <-chan time.Time
	if timeout > 0 {
		expire = time.After(timeout)
	}
	for {
		f.mu.Lock()
		if err := f.failing; err != nil {
			f.mu.Unlock()
			return err
		}
		differs := false
		for i := range rs {
			rs[i].Event = f.states[rs[i].Reader]
			differs = differs || rs[i].Event != rs[i].Current
		}
		if differs || timeout == 0 {
			f.mu.Unlock()
			return nil
		}
		moved, cancel := f.moved, f.cancel
		f.blocked++
		f.idleGen = f.gen
		close(f.wake)
		f.wake = make(chan struct{})
		f.mu.Unlock()
		var err error
		select {
		case <-moved:
		case <-cancel:
			err = pcsc.ErrCanceled
		case <-expire:
			err = pcsc.ErrTimeout
		}
		f.mu.Lock()
		f.blocked--
		f.mu.Unlock()
		if err != nil {
			return err
		}
	}
}

func (f *fakeReaders) Cancel() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cancels++
	if f.blocked > 0 {
		close(f.cancel)
		f.cancel = make(chan struct{})
	}
	return nil
}

// waitIdle waits until a wait is blocked on the readers' latest states
// (the watcher has handled every change), for at most 2 s.
func (f *fakeReaders) waitIdle() bool {
	timeout := time.After(2 * time.Second)
	for {
		f.mu.Lock()
		idle := f.blocked > 0 && f.idleGen == f.gen
		wake := f.wake
		f.mu.Unlock()
		if idle {
			return true
		}
		select {
		case <-wake:
		case <-timeout:
			return false
		}
	}
}

func (f *fakeReaders) cancelCalls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.cancels
}

func (f *fakeReaders) Release() error { return nil }

// set changes a reader's state: flags, and events more insertions and
// removals.
func (f *fakeReaders) set(reader string, flags pcsc.State, events uint16) {
	f.mu.Lock()
	defer f.mu.Unlock()
	old := f.states[reader]
	f.states[reader] = flags | pcsc.State(old.Events()+events)<<16
	f.gen++
	close(f.moved)
	f.moved = make(chan struct{})
}

// attach adds a reader in state st and counts a reader event on PnP.
func (f *fakeReaders) attach(reader string, st pcsc.State) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.states[reader] = st
	f.states[pcsc.PnP] += 1 << 16
	f.gen++
	close(f.moved)
	f.moved = make(chan struct{})
}

func (f *fakeReaders) fail(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failing = err
	f.gen++
	close(f.moved)
	f.moved = make(chan struct{})
}

// TestWatcher_Readers drives a Watcher's Run over a module whose slots are
// PC/SC readers and one that is not, with fake PC/SC: each case starts
// with card "A" in reader R (slot 0), and the polled module's card "S" in
// its own slot.
func TestWatcher_Readers(t *testing.T) {
	const r = "R 00 00"
	for _, tc := range []struct {
		name  string
		do    func(rd *fakeReaders, m *fakeModule, tick chan time.Time)
		want  string // events, as kind:serial
		reads int    // C_GetTokenInfo on the PC/SC module after the first look
		why   string
	}{
		{"idle", func(rd *fakeReaders, m *fakeModule, tick chan time.Time) {
			tick <- time.Time{}
			tick <- time.Time{}
		}, "", 0, "a card sitting in its reader is never read; ticks poll only the other module"},
		{"flags only", func(rd *fakeReaders, m *fakeModule, tick chan time.Time) {
			rd.set(r, pcsc.Present|pcsc.InUse, 0)
		}, "", 0, "a process connecting to the card changes flags, not the card"},
		{"removed", func(rd *fakeReaders, m *fakeModule, tick chan time.Time) {
			m.put(0, "")
			rd.set(r, pcsc.Empty, 1)
		}, "removed:A", 0, "the slot is empty: nothing to read"},
		{"swapped between looks", func(rd *fakeReaders, m *fakeModule, tick chan time.Time) {
			m.put(0, "B")
			rd.set(r, pcsc.Present, 2)
		}, "swapped:B", 1, "the new card is read once"},
		{"pulled and put back between looks", func(rd *fakeReaders, m *fakeModule, tick chan time.Time) {
			rd.set(r, pcsc.Present, 2)
		}, "removed:A inserted:A", 1, "the same card came back: its login is gone, so it is new"},
		{"unreadable until another process lets go", func(rd *fakeReaders, m *fakeModule, tick chan time.Time) {
			m.put(0, "")
			rd.set(r, pcsc.Present|pcsc.Exclusive, 2) // back, but held exclusively: no token
			rd.waitIdle()                             // handled: the two changes must not merge
			m.put(0, "B")
			rd.set(r, pcsc.Present, 0) // let go: flags only
		}, "removed:A inserted:B", 1, "a card in a reader with no token read from it is tried again when the flags change"},
		{"reader attached", func(rd *fakeReaders, m *fakeModule, tick chan time.Time) {
			m.mu.Lock()
			m.slots = append(m.slots, "R 00 01")
			m.tokens[1] = "C"
			m.mu.Unlock()
			rd.attach("R 00 01", pcsc.Present|1<<16)
		}, "inserted:C", 1, "PnP: readers are listed again; only the new reader's card is read"},
		{"PC/SC fails", func(rd *fakeReaders, m *fakeModule, tick chan time.Time) {
			m.put(0, "")
			rd.fail(errors.New("pcscd died"))
		}, "removed:A", 0, "the watcher falls back to polling every module, and the look finds the slot empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rd, piv, hsm, w := newReaderWatcher(r)
			tick := make(chan time.Time)
			w.NewTicker = func(time.Duration) Ticker { return fakeTicker(tick) }
			w.OpenReaders = func() (ReaderSource, error) { return rd, nil }
			events := make(chan Event, 16)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { w.Run(ctx, events); close(done) }()
			if got := collect(events, 2); got != "inserted:S inserted:A" {
				t.Fatalf("first look: %s", got)
			}
			if !rd.waitIdle() {
				t.Fatal("Run is not waiting on PC/SC after the first look")
			}
			base, hsmBase := piv.tokenReads(), hsm.tokenReads()
			tc.do(rd, piv, tick)
			got := collect(events, len(strings.Fields(tc.want)))
			if tc.name != "PC/SC fails" && !rd.waitIdle() {
				t.Error("Run did not wait on PC/SC again after the change")
			}
			cancel()
			<-done // every tick received is handled before Run returns
			if got != tc.want {
				t.Errorf("events %q, want %q (%s)", got, tc.want, tc.why)
			}
			if n := piv.tokenReads() - base; n != tc.reads {
				t.Errorf("the PC/SC module's token was read %d times, want %d (%s)", n, tc.reads, tc.why)
			}
			if tc.name == "idle" && hsm.tokenReads()-hsmBase != 2 {
				t.Errorf("the polled module was read %d times on 2 ticks, want 2", hsm.tokenReads()-hsmBase)
			}
		})
	}
}

// collect returns n events as "kind:serial ..." (after 2 s, what came).
func collect(events <-chan Event, n int) string {
	var out []string
	timeout := time.After(2 * time.Second)
	for len(out) < n {
		select {
		case ev := <-events:
			out = append(out, ev.Kind.String()+":"+ev.Token.Serial)
		case <-timeout:
			return strings.Join(out, " ")
		}
	}
	select { // nothing more
	case ev := <-events:
		out = append(out, ev.Kind.String()+":"+ev.Token.Serial)
	case <-time.After(100 * time.Millisecond):
	}
	return strings.Join(out, " ")
}

// TestReaderWatch_CloseLostCancel reproduces a Cancel issued before the
// waiting goroutine entered SCardGetStatusChange, which pcsc-lite drops:
// close must cancel again rather than wait for a reader event that may
// never come, and return well before a slice of the wait ends.
func TestReaderWatch_CloseLostCancel(t *testing.T) {
	const r = "R 00 00"
	rd := newFakeReaders(r)
	rd.gate = make(chan struct{})
	w := NewWatcher(nil, time.Hour)
	w.OpenReaders = func() (ReaderSource, error) { return rd, nil }
	rw := w.openReaders()
	if rw == nil {
		t.Fatal("openReaders failed on the fake")
	}
	rw.wait() // its goroutine waits at the gate, not yet in the call
	closed := make(chan struct{})
	go func() { rw.close(); close(closed) }()
	for deadline := time.Now().Add(2 * time.Second); rd.cancelCalls() == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("close never called Cancel")
		}
	}
	close(rd.gate) // the goroutine enters the call after the first Cancel
	select {
	case <-closed:
	case <-time.After(waitSlice / 2):
		t.Fatalf("close still waiting %v after its Cancel was lost (%d Cancel calls)", waitSlice/2, rd.cancelCalls())
	}
}

// newReaderWatcher is a watcher over two modules: piv, whose one slot is
// PC/SC reader r with card A in it (rd, the fake PC/SC), and hsm, a
// SoftHSM-like module that names no reader (card S), which is polled.
func newReaderWatcher(r string) (rd *fakeReaders, piv, hsm *fakeModule, w *Watcher) {
	rd = newFakeReaders(r)
	rd.set(r, pcsc.Present, 1)
	piv = &fakeModule{slots: []string{r}, tokens: map[uint]string{0: "A"}}
	hsm = &fakeModule{slots: []string{"SoftHSM slot ID 0x1"}, tokens: map[uint]string{0: "S"}}
	mods := []*Module{{path: "/piv.so", ctx: piv, up: true}, {path: "/hsm.so", ctx: hsm, up: true}}
	for _, m := range mods {
		m.gen.Store(1)
	}
	return rd, piv, hsm, NewWatcher(mods, time.Hour)
}

// TestWatcher_ReadersRetry: PC/SC fails (pcscd stopped), the watcher polls
// every module and tries PC/SC again on its retry clock; once pcscd is
// back it waits on PC/SC again and stops reading the PC/SC module's card.
func TestWatcher_ReadersRetry(t *testing.T) {
	const r = "R 00 00"
	rd, piv, _, w := newReaderWatcher(r)
	tick, retry := make(chan time.Time), make(chan time.Time)
	retrying := make(chan struct{}, 1) // the retry clock was made: PC/SC failed
	w.NewTicker = func(time.Duration) Ticker { return fakeTicker(tick) }
	w.NewRetryTicker = func(d time.Duration) Ticker {
		retrying <- struct{}{}
		if d != DefaultRetryReaders {
			t.Errorf("retry every %v, want %v", d, DefaultRetryReaders)
		}
		return fakeTicker(retry)
	}
	var opens atomic.Int32
	w.OpenReaders = func() (ReaderSource, error) { opens.Add(1); return rd, nil } // refresh fails while rd fails
	events := make(chan Event, 16)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx, events); close(done) }()
	defer func() { cancel(); <-done }()
	if got := collect(events, 2); got != "inserted:S inserted:A" {
		t.Fatalf("first look: %s", got)
	}
	if !rd.waitIdle() {
		t.Fatal("Run is not waiting on PC/SC after the first look")
	}

	base := piv.tokenReads()
	rd.fail(errors.New("pcscd died"))
	select {
	case <-retrying: // made after the look at every module
	case <-time.After(2 * time.Second):
		t.Fatal("PC/SC failed and Run does not retry it")
	}
	give(t, tick)
	give(t, tick) // received: the first tick's poll is done
	if n := piv.tokenReads() - base; n < 2 {
		t.Errorf("PC/SC down: the PC/SC module was read %d times (the look at the failure, a tick), want 2 or more", n)
	}
	give(t, retry)
	give(t, retry)
	give(t, tick) // received: both retries are done, PC/SC still failing
	if n := opens.Load(); n != 3 {
		t.Errorf("PC/SC opened %d times, want 3 (the start, two retries)", n)
	}

	rd.fail(nil) // pcscd is back
	give(t, retry)
	if !rd.waitIdle() {
		t.Fatal("Run did not wait on PC/SC again after pcscd came back")
	}
	base = piv.tokenReads()
	give(t, tick)
	give(t, tick)
	if n := piv.tokenReads() - base; n != 0 {
		t.Errorf("PC/SC back: the PC/SC module's token was read %d times on ticks, want 0", n)
	}
	piv.put(0, "")
	rd.set(r, pcsc.Empty, 1)
	if got := collect(events, 1); got != "removed:A" {
		t.Errorf("removal after PC/SC came back: %q, want removed:A", got)
	}
}

// give sends a tick, failing the test when Run does not take it within 2 s.
func give(t *testing.T, ch chan time.Time) {
	t.Helper()
	select {
	case ch <- time.Time{}:
	case <-time.After(2 * time.Second):
		t.Fatal("Run did not take the tick within 2 s")
	}
}
