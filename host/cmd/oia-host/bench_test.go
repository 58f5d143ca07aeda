// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package main

import (
	"context"
	"io"
	"os"
	"testing"

	"github.com/sirupsen/logrus"

	"github.com/openidentityagent/oia/host/login"
	"github.com/openidentityagent/oia/host/nativemsg"
	"github.com/openidentityagent/oia/host/protocol"
	"github.com/openidentityagent/oia/host/server"
)

// Benchmarks of the host's hot paths, for benchstat (make bench runs
// them). The figures of the whole host over real pipes are make bench's;
// these show where the time goes.

var statusFrame = func() []byte {
	f, err := nativemsg.Encode(map[string]any{"id": "1", "type": "status"})
	if err != nil {
		panic(err)
	}
	return f
}()

// BenchmarkDecodeStatus is request decoding: the strict decoder every frame
// goes through.
func BenchmarkDecodeStatus(b *testing.B) {
	body := statusFrame[4:]
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := protocol.DecodeRequest(body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeGetTicket is the decoding of the most frequent page request.
func BenchmarkDecodeGetTicket(b *testing.B) {
	body := []byte(`{"id":"page-1234","type":"getTicketNoAuth","origin":"https://spine.example.nhs.uk"}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := protocol.DecodeRequest(body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncodeTicketResult is the framing of the largest frequent answer.
func BenchmarkEncodeTicketResult(b *testing.B) {
	res := protocol.OK("page-1234", protocol.TicketBody{
		Ticket: "AQIC5wM2LY4SfcxPEcjIAnpHWxTb6DrEBuBrIbC9BqjR2ek.*AAJTSQACMDE.*@AAJTSQACMDE=#",
		Session: protocol.Session{
			User: &protocol.User{UID: "555000111222", Name: "Jane Smith"},
			Role: &protocol.Role{ID: "555254242105", OrgCode: "RX1", Name: "Clinical Practitioner Access Role", OrgName: "OIA TEST TRUST", JobRole: "Clinical"},
		},
	})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := nativemsg.Encode(res); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReadFrame is the reader's framing and validation of one frame.
func BenchmarkReadFrame(b *testing.B) {
	r := &repeatReader{frame: statusFrame}
	nr := nativemsg.NewReader(r, nativemsg.MaxInbound)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := nr.Read(); err != nil {
			b.Fatal(err)
		}
	}
}

// repeatReader returns frame over and over.
type repeatReader struct {
	frame []byte
	off   int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	n := copy(p, r.frame[r.off:])
	r.off = (r.off + n) % len(r.frame)
	return n, nil
}

// serveStatus runs server.Serve with a login machine (no card) over the
// given pipes, as main does, and returns a function that stops it.
func serveStatus(b *testing.B, in io.ReadCloser, out io.WriteCloser) func() {
	b.Helper()
	log := logrus.New()
	log.SetOutput(io.Discard)
	w := nativemsg.NewWriter(out, 64)
	m := login.New(login.Deps{Notify: func(ev protocol.Event) { _ = w.Send(ev) }}, login.Settings{Version: "bench"})
	_ = w.Send(protocol.Hello{HelloBody: m.HelloBody()})
	ctx, cancel := context.WithCancel(context.Background())
	machineDone := make(chan struct{})
	go func() { m.Run(ctx); close(machineDone) }()
	ready := make(chan struct{})
	close(ready)
	served := make(chan error, 1)
	go func() { served <- server.Serve(in, w, ready, m, log) }()
	return func() {
		<-served
		cancel()
		<-machineDone
		_ = w.Close()
		_ = out.Close()
	}
}

// statusRoundTrips sends status and reads its answer b.N times.
func statusRoundTrips(b *testing.B, to io.Writer, from io.Reader) {
	b.Helper()
	r := nativemsg.NewReader(from, nativemsg.MaxOutbound)
	if _, err := r.Read(); err != nil { // hello
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := to.Write(statusFrame); err != nil {
			b.Fatal(err)
		}
		if _, err := r.Read(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStatusRoundTrip is one status request through server and
// machine, in process over io.Pipe: the host's own cost per message.
func BenchmarkStatusRoundTrip(b *testing.B) {
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	stop := serveStatus(b, inR, outW)
	statusRoundTrips(b, inW, outR)
	_ = inW.Close()
	go func() { _, _ = io.Copy(io.Discard, outR) }()
	stop()
}

// BenchmarkStatusRoundTripOSPipe is the same over kernel pipes, as the
// browser connects: the difference to BenchmarkStatusRoundTrip is the
// system calls and the wake-ups.
func BenchmarkStatusRoundTripOSPipe(b *testing.B) {
	inR, inW, err := os.Pipe()
	if err != nil {
		b.Fatal(err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		b.Fatal(err)
	}
	stop := serveStatus(b, inR, outW)
	statusRoundTrips(b, inW, outR)
	_ = inW.Close()
	go func() { _, _ = io.Copy(io.Discard, outR) }()
	stop()
	_ = outR.Close()
	_ = inR.Close()
}
