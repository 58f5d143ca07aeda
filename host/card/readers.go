// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package card

import (
	"errors"
	"maps"
	"slices"
	"sync/atomic"
	"time"

	"github.com/openidentityagent/oia/host/card/pcsc"
)

// ReaderSource is the PC/SC service a [Watcher] learns from that a
// reader's card changed, without sending the card anything.
// *pcsc.Context is one.
type ReaderSource interface {
	// Readers lists the attached readers.
	Readers() ([]string, error)
	// GetStatusChange waits until a reader's state differs from its
	// Current (a negative timeout waits for ever) and sets every Event.
	GetStatusChange(rs []pcsc.ReaderState, timeout time.Duration) error
	// Cancel ends a GetStatusChange in progress, from another goroutine.
	Cancel() error
	// Release closes the source; no call may be in progress.
	Release() error
}

func openPCSC() (ReaderSource, error) {
	c, err := pcsc.Establish()
	if err != nil {
		return nil, err
	}
	return c, nil
}

// noReaders is an OpenReaders for a [Watcher] that polls every module.
func noReaders() (ReaderSource, error) { return nil, pcsc.ErrUnavailable }

// slotDescriptionLen is the size of CK_SLOT_INFO.slotDescription: OpenSC
// copies the reader's name there, cut to this length and padded with
// blanks (OpenSC src/pkcs11/slot.c create_slot, strcpy_bp).
const slotDescriptionLen = 64

// readerOf returns the reader among readers that a slot description names,
// as OpenSC and other modules on PC/SC describe their slots.
func readerOf(description string, readers []string) (string, bool) {
	if description == "" {
		return "", false
	}
	for _, r := range readers {
		if r == pcsc.PnP {
			continue
		}
		if r == description {
			return r, true
		}
		if len(r) > slotDescriptionLen && trimBlanks(r[:slotDescriptionLen]) == description {
			return r, true
		}
	}
	return "", false
}

func trimBlanks(s string) string {
	for len(s) > 0 && s[len(s)-1] == ' ' {
		s = s[:len(s)-1]
	}
	return s
}

// readersOfSlots maps each slot to the PC/SC reader it is, when the module
// sits on PC/SC: at least one slot names an attached reader and every slot
// holding a token does. Otherwise (SoftHSM, p11-kit-client, a module of
// our own) it returns nil, and the module is polled.
func readersOfSlots(slots []slot, readers []string) map[uint]string {
	out := map[uint]string{}
	for _, s := range slots {
		if r, ok := readerOf(s.description, readers); ok {
			out[s.id] = r
			continue
		}
		if s.present {
			return nil // a token PC/SC knows nothing of
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// readerWatch is a Watcher's PC/SC side: which modules' slots are which
// readers, the readers' last known states, and the wait in progress.
type readerWatch struct {
	src     ReaderSource
	readers []string
	states  map[string]pcsc.State // last known state, by reader (and PnP)
	driven  map[*Module]map[uint]string
	waiting chan waitResult // the wait in progress, or nil
	done    chan struct{}   // closed when the wait's goroutine has returned
	stop    atomic.Bool     // set by close: the wait's goroutine ends at its next slice
	logf    func(format string, args ...any)
}

// The bounds of a wait and of its end. pcsc-lite's SCardCancel ends only a
// SCardGetStatusChange already blocked in pcscd; one issued before the
// waiting goroutine enters the call does nothing (pcsc-lite's
// src/winscard_clnt.c, SCardCancel returns at once when the context is not
// "cancellable"). So a wait is made of finite slices that check a stop
// flag, and close cancels again every cancelEvery until the goroutine has
// returned. A slice sends the card nothing: SCardGetStatusChange only asks
// pcscd, whatever its timeout.
var (
	waitSlice   = 2 * time.Second
	cancelEvery = 50 * time.Millisecond
	closeWithin = 10 * time.Second
)

type waitResult struct {
	rs  []pcsc.ReaderState
	err error
}

// openReaders connects to PC/SC and reads every reader's state, or returns
// nil when there is no PC/SC.
func (w *Watcher) openReaders() *readerWatch {
	if w.OpenReaders == nil {
		return nil
	}
	src, err := w.OpenReaders()
	if err != nil || src == nil {
		return nil
	}
	rw := &readerWatch{src: src, states: map[string]pcsc.State{}, driven: map[*Module]map[uint]string{}, logf: w.Logf}
	if err := rw.refresh(); err != nil {
		_ = src.Release()
		return nil
	}
	return rw
}

// refresh lists the readers and reads their states now.
func (rw *readerWatch) refresh() error {
	var readers []string
	var rs []pcsc.ReaderState
	for try := 0; ; try++ {
		var err error
		if readers, err = rw.src.Readers(); err != nil {
			return err
		}
		rs = []pcsc.ReaderState{{Reader: pcsc.PnP}}
		for _, r := range readers {
			rs = append(rs, pcsc.ReaderState{Reader: r})
		}
		err = rw.src.GetStatusChange(rs, 0)
		if errors.Is(err, pcsc.ErrUnknownReader) && try < 3 {
			continue // unplugged meanwhile: list again
		}
		if err != nil && !errors.Is(err, pcsc.ErrTimeout) {
			return err
		}
		break
	}
	rw.readers = readers
	rw.states = map[string]pcsc.State{}
	for _, r := range rs {
		rw.states[r.Reader] = r.Event &^ pcsc.Changed
	}
	return nil
}

// classify decides which of w's modules PC/SC watches (their slots are
// readers). It asks the modules only for slot information: no card
// command.
func (rw *readerWatch) classify(w *Watcher) {
	rw.driven = map[*Module]map[uint]string{}
	for _, m := range w.modules {
		slots, err := m.slots()
		if err != nil {
			continue
		}
		if byReader := readersOfSlots(slots, rw.readers); byReader != nil {
			rw.driven[m] = byReader
		}
	}
}

// readerOf returns the reader of a watched module's slot.
func (rw *readerWatch) readerOf(k slotKey) (string, bool) {
	for m, byReader := range rw.driven {
		if m.path == k.path {
			r, ok := byReader[k.slot]
			return r, ok
		}
	}
	return "", false
}

// polled returns the modules PC/SC does not watch (all of them when rw is
// nil).
func (rw *readerWatch) polled(modules []*Module) []*Module {
	if rw == nil {
		return modules
	}
	var out []*Module
	for _, m := range modules {
		if rw.driven[m] == nil {
			out = append(out, m)
		}
	}
	return out
}

// wait returns the channel of the wait in progress, starting one when none
// is: a blocking SCardGetStatusChange on every reader and PnP.
//
// One call holds every reader however many: pcsc-lite's client puts no
// limit on cReaders but looks each name up in pcscd's table of
// PCSCLITE_MAX_READERS_CONTEXTS (16, or pcscd's configured count) readers,
// the PnP pseudo reader apart (src/winscard_clnt.c,
// SCardGetStatusChange). pcscd attaches no reader beyond its table, so
// SCardListReaders never lists one the wait would not know: 16 readers and
// PnP is 17 states, which pcsc-lite accepts. A reader unknown all the same
// (unplugged between the list and the wait) makes the wait return
// ErrUnknownReader, and the readers are listed again (refresh tries four
// times before the watcher falls back to polling).
func (rw *readerWatch) wait() <-chan waitResult {
	if rw.waiting != nil {
		return rw.waiting
	}
	rs := []pcsc.ReaderState{{Reader: pcsc.PnP, Current: rw.states[pcsc.PnP]}}
	for _, r := range rw.readers {
		rs = append(rs, pcsc.ReaderState{Reader: r, Current: rw.states[r]})
	}
	ch := make(chan waitResult, 1)
	done := make(chan struct{})
	rw.waiting, rw.done = ch, done
	go func() {
		defer close(done)
		for {
			err := rw.src.GetStatusChange(rs, waitSlice)
			if errors.Is(err, pcsc.ErrTimeout) && !rw.stop.Load() {
				continue // no change in this slice: wait on
			}
			ch <- waitResult{rs, err}
			return
		}
	}()
	return ch
}

// changed handles a finished wait: it re-reads the modules whose readers'
// cards came or went and returns the events. A change of flags alone (a
// process connecting to the card) is no change. ok is false when PC/SC
// failed; the caller then polls.
func (rw *readerWatch) changed(w *Watcher, r waitResult) (evs []Event, ok bool) {
	rw.waiting = nil
	before := maps.Clone(rw.states)
	if r.err != nil && !errors.Is(r.err, pcsc.ErrUnknownReader) {
		return nil, false
	}
	if r.err == nil {
		for _, s := range r.rs {
			rw.states[s.Reader] = s.Event &^ pcsc.Changed
		}
	}
	var mods []*Module
	if r.err != nil || rw.states[pcsc.PnP] != before[pcsc.PnP] {
		// Readers came or went: list them again, and which modules sit on
		// them (a module's slots may only now be readers); look at every
		// module, reading only the cards of readers that moved.
		if err := rw.refresh(); err != nil {
			return nil, false
		}
		rw.classify(w)
		mods = w.modules
	} else {
		for _, m := range w.modules {
			for _, rd := range rw.driven[m] {
				if rw.moved(before, rd) || rw.unread(w, m, before, rd) {
					mods = append(mods, m)
					break
				}
			}
		}
		if len(mods) == 0 {
			return nil, true
		}
	}
	evs = w.update(mods, rw.known(w, before), rw.cameBack(w))
	rw.recordSeen(w, mods)
	// A card in a slot that is not a known reader: the module grew slots;
	// classify it again.
	for k := range w.cards {
		for m, byReader := range rw.driven {
			if m.path == k.path && byReader[k.slot] == "" {
				rw.classify(w)
				return evs, true
			}
		}
	}
	return evs, true
}

// moved reports whether reader rd's card came or went since before.
func (rw *readerWatch) moved(before map[string]pcsc.State, rd string) bool {
	b, ok := before[rd]
	if !ok {
		return true
	}
	n := rw.states[rd]
	return n.Events() != b.Events() || n.Present() != b.Present()
}

// unread reports whether reader rd holds a card the module could not read
// (another process held it exclusively, or it was busy) and its flags
// changed since: it is worth trying again. A card the module can read is
// never read again for a change of flags.
func (rw *readerWatch) unread(w *Watcher, m *Module, before map[string]pcsc.State, rd string) bool {
	if !rw.states[rd].Present() || rw.states[rd] == before[rd] {
		return false
	}
	for sl, r := range rw.driven[m] {
		if _, known := w.cards[slotKey{m.path, sl}]; known && r == rd {
			return false
		}
	}
	return true
}

// known gives the card w knows in a slot whose reader did not move since
// before, so that it is not read again.
func (rw *readerWatch) known(w *Watcher, before map[string]pcsc.State) func(m *Module, slot uint) (Token, bool) {
	return func(m *Module, slot uint) (Token, bool) {
		rd, ok := rw.driven[m][slot]
		if !ok || rw.moved(before, rd) {
			return Token{}, false
		}
		t, ok := w.cards[slotKey{m.path, slot}]
		return t, ok
	}
}

// cameBack reports a card that is the same as before in its slot but whose
// reader counted a removal and an insertion since it was read: it was
// pulled and put back, and the login on it is gone.
func (rw *readerWatch) cameBack(w *Watcher) func(k slotKey) bool {
	return func(k slotKey) bool {
		rd, ok := rw.readerOf(k)
		if !ok {
			return false
		}
		seen, ok := w.seen[k]
		return ok && rw.states[rd].Events()-seen >= 2
	}
}

// recordSeen notes, for every card w knows on mods, the event count its
// reader had before the cards were read.
func (rw *readerWatch) recordSeen(w *Watcher, mods []*Module) {
	for k := range w.seen {
		if _, ok := w.cards[k]; !ok {
			delete(w.seen, k)
		}
	}
	for k := range w.cards {
		if !slices.ContainsFunc(mods, func(m *Module) bool { return m.path == k.path }) {
			continue
		}
		if rd, ok := rw.readerOf(k); ok {
			w.seen[k] = rw.states[rd].Events()
		}
	}
}

// close ends the wait in progress and releases PC/SC. It cancels the wait
// until its goroutine has returned (a Cancel issued before the goroutine
// entered SCardGetStatusChange is lost); if the goroutine is still in
// PC/SC after closeWithin, close logs it and leaves the context
// unreleased rather than free it under the call.
func (rw *readerWatch) close() {
	if rw.waiting != nil {
		rw.stop.Store(true)
		if !pcsc.CancelUntil(rw.src, rw.done, cancelEvery, closeWithin) {
			rw.logf("card: the PC/SC wait did not end within %v of SCardCancel: leaving its context open; is pcscd stuck? see 'oia doctor'", closeWithin)
			return
		}
		rw.waiting, rw.done = nil, nil
	}
	_ = rw.src.Release()
}
