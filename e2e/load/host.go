// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

// Package load drives a built oia-host over real pipes, as a browser does,
// and watches it from the outside (/proc: resident memory, threads, open
// files). Its tests put the host under load, soak, faults and hostile
// input; e2e/bench uses the same driver to measure it.
//
// A [Host] checks the host's output as it reads it: every byte on standard
// output must belong to a length-prefixed frame holding one JSON object.
// Anything else is recorded and reported by [Host.ProtocolError].
package load

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/openidentityagent/oia/e2e/rig"
	"github.com/openidentityagent/oia/host/endpoint"
	"github.com/openidentityagent/oia/host/nativemsg"
	"github.com/openidentityagent/oia/host/protocol"
)

// DevCaller is the argument Chrome passes for the development extension.
const DevCaller = "chrome-extension://jojkkadnmnpkbklmagcdhigmbdlcaoha/"

// Options start a [Host].
type Options struct {
	// Binary is the oia-host executable (see [Binary]).
	Binary string
	// Dir holds the configuration file and, unless Config sets logFile,
	// the log. It must exist.
	Dir string
	// Config is the user configuration file's content (OIA_CONFIG); the
	// system file is disabled.
	Config map[string]any
	// Env is added to the host's environment (the card's OIA_VCARD_DIR).
	// Without an OIA_AGENT_ENDPOINT in it, the host gets a private agent
	// endpoint of its own, so that its agent is its alone and ends with it
	// (Close, Kill), as the all-in-one host did.
	Env []string
	// Buffer is how many frames may wait unread; default 1024.
	Buffer int
	// Args are the host's arguments; default the development extension
	// as the caller ([DevCaller]).
	Args []string
	// Command, when set, makes the command that runs Binary with args
	// instead of exec.Command: e2e/wine's, for a Windows build under Wine.
	// The environment it sets is kept, with the host's added.
	Command func(binary string, args ...string) *exec.Cmd
	// Path maps a path of this machine to the host's name for it (a
	// Windows path under Wine) in the environment and the configuration;
	// default unchanged.
	Path func(string) string
}

// Host is a running oia-host and the reading end of its output.
type Host struct {
	cmd      *exec.Cmd
	stdin    io.WriteCloser
	frames   chan protocol.Frame
	stderr   *syncBuffer
	seq      atomic.Int64
	done     chan struct{} // closed when the reader stops
	stop     chan struct{} // closed by Close and Kill: frames are dropped
	stopOnce sync.Once
	// protoErr is the first protocol violation seen on stdout.
	protoMu  sync.Mutex
	protoErr error
	// pending holds frames read by Next while it looked for another; only
	// the goroutine calling Next uses it.
	pending []protocol.Frame
	waitErr error
	waited  chan struct{}
	killed  bool
	hello   atomic.Pointer[protocol.Frame]
	// agent is the private agent endpoint, when Options.Env named none.
	agent *rig.Agent
}

// Start writes the configuration and starts the host with the development
// extension as its caller.
func Start(o Options) (*Host, error) {
	cfg := map[string]any{}
	for k, v := range o.Config {
		cfg[k] = v
	}
	path := o.Path
	if path == nil {
		path = func(p string) string { return p }
	}
	if _, ok := cfg["logFile"]; !ok {
		cfg["logFile"] = path(filepath.Join(o.Dir, "host.log"))
	}
	cfgPath, err := WriteConfig(o.Dir, cfg)
	if err != nil {
		return nil, err
	}
	args := o.Args
	if args == nil {
		args = []string{DevCaller}
	}
	var cmd *exec.Cmd
	if o.Command != nil {
		cmd = o.Command(o.Binary, args...)
	} else {
		cmd = exec.Command(o.Binary, args...)
	}
	if cmd.Env == nil {
		cmd.Env = os.Environ()
	}
	cmd.Env = append(cmd.Env, "OIA_CONFIG="+path(cfgPath), "OIA_SYSTEM_CONFIG="+path(filepath.Join(o.Dir, "no-system-config.json")))
	cmd.Env = append(cmd.Env, o.Env...)
	h := newHost(o.Buffer)
	h.cmd = cmd
	if !slices.ContainsFunc(o.Env, func(e string) bool { return strings.HasPrefix(e, endpoint.EnvAddress+"=") }) {
		if h.agent, err = rig.NewAgent(); err != nil {
			return nil, err
		}
		cmd.Env = append(cmd.Env, h.agent.Env())
	}
	cmd.Stderr = h.stderr
	if h.stdin, err = cmd.StdinPipe(); err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		if h.agent != nil {
			_ = h.agent.Close()
		}
		return nil, fmt.Errorf("load: start %s: %w", o.Binary, err)
	}
	go h.read(out)
	go func() {
		<-h.done // StdoutPipe: Wait only after the reads end
		h.waitErr = cmd.Wait()
		close(h.waited)
	}()
	return h, nil
}

// WriteConfig writes cfg as a configuration file in dir and returns its
// path (for OIA_CONFIG).
func WriteConfig(dir string, cfg map[string]any) (string, error) {
	b, err := json.Marshal(cfg)
	if err != nil {
		return "", fmt.Errorf("load: configuration: %w", err)
	}
	f, err := os.CreateTemp(dir, "config-*.json")
	if err != nil {
		return "", fmt.Errorf("load: %w", err)
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("load: %w", err)
	}
	return f.Name(), nil
}

func newHost(buffer int) *Host {
	if buffer == 0 {
		buffer = 1024
	}
	return &Host{frames: make(chan protocol.Frame, buffer), stderr: &syncBuffer{}, done: make(chan struct{}), stop: make(chan struct{}), waited: make(chan struct{})}
}

// Attach speaks to a host served in this process (host/server over pipes):
// stdin is its input, stdout its output, and wait returns when it has
// stopped after stdin closed. Pid, Kill and Stderr do not apply.
func Attach(stdin io.WriteCloser, stdout io.Reader, wait func() error) *Host {
	h := newHost(0)
	h.stdin = stdin
	go h.read(stdout)
	go func() {
		h.waitErr = wait()
		<-h.done
		close(h.waited)
	}()
	return h
}

// read decodes the host's output until it ends, checking the framing.
func (h *Host) read(out io.Reader) {
	defer close(h.done)
	defer close(h.frames)
	r := nativemsg.NewReader(out, nativemsg.MaxOutbound)
	for {
		body, err := r.Read()
		if err == io.EOF {
			return
		}
		if err != nil {
			h.violation(fmt.Errorf("unframed or broken output: %w", err))
			_, _ = io.Copy(io.Discard, out)
			return
		}
		var f protocol.Frame
		if err := json.Unmarshal(body, &f); err != nil || f.Type == "" {
			h.violation(fmt.Errorf("a frame that is not a message: %.200q", body))
			continue
		}
		if f.Type == "hello" {
			h.hello.CompareAndSwap(nil, &f)
		}
		select {
		case h.frames <- f:
		case <-h.stop:
		}
	}
}

// Hello returns the host's first frame, once it has come.
func (h *Host) Hello() (protocol.Frame, bool) {
	if f := h.hello.Load(); f != nil {
		return *f, true
	}
	return protocol.Frame{}, false
}

func (h *Host) violation(err error) {
	h.protoMu.Lock()
	defer h.protoMu.Unlock()
	if h.protoErr == nil {
		h.protoErr = err
	}
}

// ProtocolError returns the first violation of the framing seen on the
// host's standard output, or nil.
func (h *Host) ProtocolError() error {
	h.protoMu.Lock()
	defer h.protoMu.Unlock()
	return h.protoErr
}

// Pid is the host's process id.
func (h *Host) Pid() int { return h.cmd.Process.Pid }

// AgentPid returns the process id of the host's private agent, the process
// that holds the session; it fails when the host was given an endpoint of
// the caller's (Options.Env) or no agent runs.
func (h *Host) AgentPid() (int, error) {
	if h.agent == nil {
		return 0, errors.New("load: the host shares an agent it was given; ask its rig.Agent")
	}
	return h.agent.PID()
}

// Stderr returns what the host wrote to standard error so far.
func (h *Host) Stderr() string { return h.stderr.String() }

// Frames is the stream of decoded frames, for readers that consume every
// frame themselves (a load generator). Do not mix with [Host.Next].
func (h *Host) Frames() <-chan protocol.Frame { return h.frames }

// NewID returns a fresh request id.
func (h *Host) NewID() string { return strconv.FormatInt(h.seq.Add(1), 10) }

// Send gives req a fresh id, frames it and writes it; it returns the id.
func (h *Host) Send(req map[string]any) (string, error) {
	id := h.NewID()
	req["id"] = id
	f, err := nativemsg.Encode(req)
	if err != nil {
		return "", err
	}
	return id, h.SendRaw(f)
}

// SendRaw writes bytes to the host's standard input as they are.
func (h *Host) SendRaw(b []byte) error {
	_, err := h.stdin.Write(b)
	return err
}

// Next returns the next frame that match accepts, keeping the others for
// later calls. It fails when ctx ends or the host's output ends.
func (h *Host) Next(ctx context.Context, what string, match func(protocol.Frame) bool) (protocol.Frame, error) {
	for i, f := range h.pending {
		if match(f) {
			h.pending = append(h.pending[:i], h.pending[i+1:]...)
			return f, nil
		}
	}
	for {
		select {
		case f, ok := <-h.frames:
			if !ok {
				return protocol.Frame{}, fmt.Errorf("the host closed its output while we waited for %s; stderr: %s", what, h.Stderr())
			}
			if match(f) {
				return f, nil
			}
			if len(h.pending) < 4096 {
				h.pending = append(h.pending, f)
			}
		case <-ctx.Done():
			return protocol.Frame{}, fmt.Errorf("no %s: %w (frames kept: %s)", what, ctx.Err(), summary(h.pending))
		}
	}
}

// Drop forgets the frames Next kept.
func (h *Host) Drop() { h.pending = nil }

func summary(fs []protocol.Frame) string {
	var b bytes.Buffer
	for i, f := range fs {
		if i == 20 {
			fmt.Fprintf(&b, " …%d more", len(fs)-i)
			break
		}
		fmt.Fprintf(&b, " %s/%s%s", f.Type, f.Event, f.ID)
		if f.Error != nil {
			fmt.Fprintf(&b, "(%s)", f.Error.Code)
		}
	}
	return b.String()
}

// Result waits for the result of request id.
func (h *Host) Result(ctx context.Context, id string) (protocol.Frame, error) {
	return h.Next(ctx, "result "+id, func(f protocol.Frame) bool { return f.Type == "result" && f.ID == id })
}

// Event waits for the next event called name.
func (h *Host) Event(ctx context.Context, name protocol.EventName) (protocol.Frame, error) {
	return h.Next(ctx, "event "+string(name), func(f protocol.Frame) bool { return f.Type == "event" && f.Event == name })
}

// Call sends req and waits for its result.
func (h *Host) Call(ctx context.Context, req map[string]any) (protocol.Frame, error) {
	id, err := h.Send(req)
	if err != nil {
		return protocol.Frame{}, err
	}
	return h.Result(ctx, id)
}

// Close closes the host's standard input, as the browser closes the port,
// and waits up to timeout for it to exit; then it kills it. A private agent
// is stopped too. It returns the exit error, or an error saying it had to
// kill the host.
func (h *Host) Close(timeout time.Duration) error {
	if h.agent != nil {
		defer h.agent.Close()
	}
	_ = h.stdin.Close()
	h.stopOnce.Do(func() { close(h.stop) })
	select {
	case <-h.waited:
		return h.waitErr
	case <-time.After(timeout):
		if h.cmd == nil {
			return fmt.Errorf("the host still ran %v after its input closed", timeout)
		}
		_ = h.cmd.Process.Kill()
		<-h.waited
		return fmt.Errorf("oia-host still ran %v after its input closed; killed it", timeout)
	}
}

// Kill ends the host at once with SIGKILL, as a crash would, and waits; a
// private agent is killed with it, so that nothing of the old session
// survives (use KillRelay to end the relay alone).
func (h *Host) Kill() {
	if h.agent != nil {
		defer func() { _ = h.agent.Kill() }()
	}
	h.KillRelay()
}

// KillRelay ends the relay alone with SIGKILL and waits: the agent, and any
// session, survive it, as they survive a browser's crash.
func (h *Host) KillRelay() {
	h.killed = true
	_ = h.cmd.Process.Kill()
	_ = h.stdin.Close()
	h.stopOnce.Do(func() { close(h.stop) })
	<-h.waited
}

// Exited reports whether the host has exited, without waiting.
func (h *Host) Exited() bool {
	select {
	case <-h.waited:
		return true
	default:
		return false
	}
}

// syncBuffer is a bytes.Buffer safe for the writer exec starts and readers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.b.Len() > 1<<20 {
		return len(p), nil // bounded: a flood on stderr is not kept
	}
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
