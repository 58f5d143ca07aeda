// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package nativemsg

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
)

func frame(body string) []byte {
	b := binary.NativeEndian.AppendUint32(nil, uint32(len(body)))
	return append(b, body...)
}

func header(n uint32) []byte { return binary.NativeEndian.AppendUint32(nil, n) }

func TestReader(t *testing.T) {
	big := strings.Repeat("x", 100)
	tests := []struct {
		name   string
		stream []byte
		want   []string // bodies, or "!kind" for an error of that kind, "EOF", "UEOF"
	}{
		{"one frame, then the end of the stream", frame(`{"a":1}`), []string{`{"a":1}`, "EOF"}},
		{"empty stream: the browser closed the port", nil, []string{"EOF"}},
		{"zero length is refused and the next frame still reads", append(header(0), frame(`{}`)...), []string{"!empty frame", `{}`, "EOF"}},
		{"over the bound: discarded, next frame reads", append(frame(`"`+big+`"`), frame(`[1]`)...), []string{"!frame too large", `[1]`, "EOF"}},
		{"invalid json: refused, next frame reads", append(frame(`{"a":`), frame(`true`)...), []string{"!invalid json", `true`, "EOF"}},
		{"invalid utf-8 is not json", frame("\"\xff\""), []string{"!invalid json", "EOF"}},
		{"stream cut inside the header", []byte{1, 0}, []string{"UEOF"}},
		{"stream cut inside the body", header(10), []string{"UEOF"}},
		{"stream cut inside a discarded body", append(header(1000), 'x'), []string{"UEOF"}},
		{"exactly at the bound is accepted", frame(`"` + strings.Repeat("y", 62) + `"`), []string{`"` + strings.Repeat("y", 62) + `"`, "EOF"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewReader(bytes.NewReader(tt.stream), 64)
			for i, want := range tt.want {
				body, err := r.Read()
				var fe *FrameError
				switch {
				case want == "EOF":
					if err != io.EOF {
						t.Fatalf("read %d: got %q, %v; want io.EOF", i, body, err)
					}
				case want == "UEOF":
					if err != io.ErrUnexpectedEOF {
						t.Fatalf("read %d: got %q, %v; want io.ErrUnexpectedEOF", i, body, err)
					}
				case strings.HasPrefix(want, "!"):
					if !errors.As(err, &fe) || fe.Kind.String() != want[1:] {
						t.Fatalf("read %d: got %q, %v; want a %s error", i, body, err, want[1:])
					}
				default:
					if err != nil || string(body) != want {
						t.Fatalf("read %d: got %q, %v; want %q", i, body, err, want)
					}
				}
			}
		})
	}
}

func TestEncode_RefusesOverBrowserLimit(t *testing.T) {
	if _, err := Encode(strings.Repeat("x", MaxOutbound)); !errors.Is(err, ErrOutboundTooLarge) {
		t.Fatalf("a %d-byte message: err = %v, want ErrOutboundTooLarge", MaxOutbound+2, err)
	}
	f, err := Encode(strings.Repeat("x", MaxOutbound-2))
	if err != nil || len(f) != 4+MaxOutbound {
		t.Fatalf("a message of exactly the limit: len %d, err %v", len(f), err)
	}
}

func TestWriter_ConcurrentFramesDoNotInterleave(t *testing.T) {
	var out bytes.Buffer
	w := NewWriter(&out, 4)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 100 {
				if err := w.Send(map[string]string{"g": fmt.Sprint(g), "i": fmt.Sprint(i), "pad": strings.Repeat("z", 300)}); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	r := NewReader(&out, MaxOutbound)
	n := 0
	for {
		_, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("frame %d: %v", n, err)
		}
		n++
	}
	if n != 800 {
		t.Fatalf("read %d frames, want 800", n)
	}
	if err := w.Send("late"); !errors.Is(err, ErrClosed) {
		t.Errorf("Send after Close: %v, want ErrClosed", err)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, syscall.EPIPE }

func TestWriter_WriteErrorIsReported(t *testing.T) {
	w := NewWriter(failWriter{}, 1)
	_ = w.Send("a")
	if err := w.Close(); !errors.Is(err, syscall.EPIPE) {
		t.Fatalf("Close = %v, want the write error", err)
	}
}

// TestTakeStdout runs this test binary as a child that takes stdout, then
// writes to the process's standard output both through Go and below it (a
// raw write(2) to descriptor 1; on Windows WriteFile to the handle
// GetStdHandle gives, as a C module would), then sends one frame. Only the frame may reach the child's real stdout; the
// stray bytes must land on stderr.
func TestTakeStdout(t *testing.T) {
	if os.Getenv("NATIVEMSG_TAKE_STDOUT_CHILD") == "1" {
		out, err := TakeStdout()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		fmt.Println("stray from fmt.Println")
		rawWriteStdout([]byte("stray from write(2)\n"))
		w := NewWriter(out, 1)
		_ = w.Send(map[string]string{"type": "hello"})
		_ = w.Close()
		os.Exit(0)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestTakeStdout$")
	cmd.Env = append(os.Environ(), "NATIVEMSG_TAKE_STDOUT_CHILD=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("child: %v\n%s", err, stderr.String())
	}
	body, err := ReadMessage(&stdout, MaxOutbound)
	if err != nil || string(body) != `{"type":"hello"}` {
		t.Fatalf("first frame = %q, %v; stdout was %q", body, err, stdout.String())
	}
	if stdout.Len() != 0 {
		t.Errorf("stray bytes reached the frame stream: %q", stdout.String())
	}
	for _, s := range []string{"stray from fmt.Println", "stray from write(2)"} {
		if !strings.Contains(stderr.String(), s) {
			t.Errorf("stderr lacks %q: %q", s, stderr.String())
		}
	}
}

// FuzzReadMessage feeds arbitrary streams to the Reader: it must never
// panic, never return a body over the bound, and every body it returns must
// be valid JSON.
func FuzzReadMessage(f *testing.F) {
	f.Add(frame(`{"id":"1","type":"hello"}`))
	f.Add(header(0))
	f.Add(header(0xffffffff))
	f.Add(append(frame(`{"a":`), frame(`{}`)...))
	f.Fuzz(func(t *testing.T, stream []byte) {
		r := NewReader(bytes.NewReader(stream), 1024)
		for range 64 {
			body, err := r.Read()
			if err != nil {
				var fe *FrameError
				if errors.As(err, &fe) {
					continue
				}
				return
			}
			if len(body) > 1024 {
				t.Fatalf("body of %d bytes over the bound", len(body))
			}
		}
	})
}
