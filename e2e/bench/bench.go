// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

// Package bench measures the built oia-host against the virtual card and
// the broker simulator, each figure beside its reference measured in the
// same run: a login through the host against the same card signature and
// broker calls made directly, a cold start against a minimal Go program,
// status round trips over real pipes, and resident memory over many login
// cycles. `make bench` runs it (docs/performance.md).
//
// Figures are printed as name=value lines, then a table with the targets.
// Targets are reported, never enforced: a missed target is a finding.
package bench

import (
	"cmp"
	"context"
	"crypto"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/openidentityagent/oia/e2e/load"
	"github.com/openidentityagent/oia/host/broker"
	"github.com/openidentityagent/oia/host/card"
	"github.com/openidentityagent/oia/host/cms"
	"github.com/openidentityagent/oia/host/nativemsg"
)

// Options configure a run.
type Options struct {
	// HostBinary is the oia-host to measure.
	HostBinary string
	// ModulePath is the virtual card module.
	ModulePath string
	// Dir is a scratch directory (card, configuration, logs).
	Dir string
	// Logins is how many logins each side of the overhead makes (≥ 50).
	Logins int
	// ColdStarts is how many times the host and the reference start.
	ColdStarts int
	// Roundtrips is how many status requests are timed.
	Roundtrips int
	// Cycles is how many login and logout cycles the memory figure makes.
	Cycles int
	// Extension, PageLibrary and InstallerBinary (build/chrome,
	// extension/dist/page/oia.js, build/bin/oia) are what the headless
	// Chromium figure needs; without them it is reported unavailable.
	Extension       string
	PageLibrary     string
	InstallerBinary string
	// PageCalls is how many getTicketNoAuth calls the page times.
	PageCalls int
	// InProcessBinary is the relay's reference: the login machine served
	// on stdio in one process, as oia-host did before the per-desktop
	// agent (e2e/bench/internal/inproc). Without it the ratios are
	// reported unavailable.
	InProcessBinary string
	// PIVCardBinary is oia-pivcard (build/bin), the relay of the real card
	// stack (e2e/pivcard); empty: built now. Without pcscd, vpcd and
	// OpenSC the card stack's figures are reported unavailable.
	PIVCardBinary string
	// Idle is how long the card stack's card sits unused for
	// idle_apdus_per_min (the check is a minute; default 5 s).
	Idle time.Duration
	// CardLogins is how many logins through OpenSC are timed, and
	// Removals how many removals and insertions (default 2 each).
	CardLogins, Removals int
	// Only names the groups of figures to measure (login, card, cold,
	// roundtrip, memory, page); empty measures them all.
	Only []string
	// Progress, when set, receives a line as each figure starts.
	Progress io.Writer
}

// Figure is one measured value.
type Figure struct {
	Name   string
	Value  float64
	Unit   string
	Target string // e.g. "≤ 1.10"; empty when there is none
	Met    *bool  // nil when there is no target or no value
	Note   string // the reference, or why there is no value
	NA     bool   // no value: Note says why
}

// Report is a run's figures in order.
type Report struct {
	Figures []Figure
}

// Run measures everything and returns the report. A figure that cannot be
// measured is kept with NA and the reason.
func Run(ctx context.Context, o Options) (*Report, error) {
	if err := os.Setenv("OIA_VCARD_DIR", filepath.Join(o.Dir, "card")); err != nil {
		return nil, err
	}
	rig, err := load.NewRig(load.RigOptions{Dir: o.Dir, ModulePath: o.ModulePath})
	if err != nil {
		return nil, err
	}
	defer rig.Close()
	rep := &Report{}
	step := func(s string) {
		if o.Progress != nil {
			fmt.Fprintf(o.Progress, "bench: %s\n", s)
		}
	}

	want := func(group string) bool { return len(o.Only) == 0 || slices.Contains(o.Only, group) }
	if want("login") {
		step(fmt.Sprintf("login overhead: %d logins through oia-host and %d direct", o.Logins, o.Logins))
		if err := loginOverhead(ctx, o, rig, rep); err != nil {
			return nil, fmt.Errorf("login overhead: %w", err)
		}
	}
	if want("card") {
		o.Idle = cmp.Or(o.Idle, 5*time.Second)
		o.CardLogins, o.Removals = cmp.Or(o.CardLogins, 2), cmp.Or(o.Removals, 2)
		step(fmt.Sprintf("card stack: %v idle, %d logins, %d removals and insertions through pcscd and OpenSC", o.Idle, o.CardLogins, o.Removals))
		cardStack(ctx, o, rig, rep)
	}
	if want("cold") {
		step(fmt.Sprintf("cold start: %d starts of each", o.ColdStarts))
		if err := coldStart(ctx, o, rig, rep); err != nil {
			return nil, fmt.Errorf("cold start: %w", err)
		}
	}
	if want("roundtrip") {
		step(fmt.Sprintf("round trips: %d status requests", o.Roundtrips))
		if err := roundtrips(ctx, o, rig, rep); err != nil {
			return nil, fmt.Errorf("round trips: %w", err)
		}
	}
	if want("memory") {
		step(fmt.Sprintf("memory: %d login and logout cycles", o.Cycles))
		if err := memory(ctx, o, rig, rep); err != nil {
			return nil, fmt.Errorf("memory: %w", err)
		}
	}
	if want("page") {
		step(fmt.Sprintf("page to ticket: a login in headless Chromium, then %d getTicketNoAuth, through the in-process reference and through relay and agent", o.PageCalls))
		pageFigures(ctx, o, rig, rep)
	}
	return rep, nil
}

// pageFigures times getTicketNoAuth from a page through the in-process
// reference host, then through oia-host and the agent, each in a headless
// Chromium of its own, and reports their ratio. The reference runs first,
// so that its session has ended (its host exits with its browser) before
// the agent, which outlives its browser, logs in.
func pageFigures(ctx context.Context, o Options, rig *load.Rig, rep *Report) {
	var ref []time.Duration
	var refErr error
	if o.InProcessBinary == "" {
		refErr = errors.New("no in-process reference built")
	} else {
		ref, refErr = pageToTicket(ctx, o, rig, o.InProcessBinary)
	}
	ts, err := pageToTicket(ctx, o, rig, o.HostBinary)
	if err != nil {
		rep.Figures = append(rep.Figures, Figure{Name: "page_to_ticket_ms", Unit: "ms", Target: "≤ 20", NA: true, Note: err.Error()})
	} else {
		m := ms(median(ts))
		rep.add("page_to_ticket_ms", m, "ms", "≤ 20", le(m, 20),
			fmt.Sprintf("getTicketNoAuth in headless Chromium through oia-host and the agent, page library to ticket, median of %d; p99 %.2f ms", len(ts), ms(percentile(ts, 99))))
	}
	if refErr != nil {
		rep.Figures = append(rep.Figures, Figure{Name: "page_to_ticket_ratio", Target: "≤ 1.2", NA: true, Note: refErr.Error()})
		return
	}
	r := ms(median(ref))
	rep.add("page_to_ticket_inprocess_ms", r, "ms", "", nil, fmt.Sprintf("the same through the in-process reference (the host before the agent), median of %d", len(ref)))
	if err == nil {
		ratio := ms(median(ts)) / r
		rep.add("page_to_ticket_ratio", ratio, "", "≤ 1.2", le(ratio, 1.2), "relay and agent / in-process")
	}
}

func (r *Report) add(name string, v float64, unit, target string, met *bool, note string) {
	r.Figures = append(r.Figures, Figure{Name: name, Value: v, Unit: unit, Target: target, Met: met, Note: note})
}

func le(v, limit float64) *bool { b := v <= limit; return &b }

// hostConfig is the host's configuration for the bench: the rig's, with
// the default card poll, as deployed.
func hostConfig(rig *load.Rig) map[string]any {
	cfg := rig.Config()
	cfg["cardPollMilliseconds"] = 500
	return cfg
}

func startHost(ctx context.Context, o Options, rig *load.Rig) (*load.Host, error) {
	dir, err := os.MkdirTemp(o.Dir, "host")
	if err != nil {
		return nil, err
	}
	h, err := load.Start(load.Options{Binary: o.HostBinary, Dir: dir, Config: hostConfig(rig), Env: rig.Env()})
	if err != nil {
		return nil, err
	}
	if err := load.WaitCard(ctx, h); err != nil {
		_ = h.Close(3 * time.Second)
		return nil, err
	}
	return h, nil
}

// loginOverhead times logins through oia-host against the floor: the same
// passcode check, challenge signature and broker calls made directly in
// this process with host/card, host/cms and host/broker. The two alternate
// so that drift on the machine hits both alike. Each host login runs from
// getTicket to its result, answering the passcode prompt at once; the
// logout that makes the next login possible (destroyTicket) is outside the
// timing, as the floor's broker logout is.
func loginOverhead(ctx context.Context, o Options, rig *load.Rig, rep *Report) error {
	h, err := startHost(ctx, o, rig)
	if err != nil {
		return err
	}
	defer h.Close(3 * time.Second)
	fl, err := newFloor(rig, o.ModulePath)
	if err != nil {
		return err
	}
	defer fl.close()

	hostLogin := func() (time.Duration, error) {
		start := time.Now()
		r, err := load.Login(ctx, h, load.RigOrigin, rig.PIN)
		d := time.Since(start)
		if err != nil || !r.OK {
			return 0, fmt.Errorf("host login: %v %+v", err, r.Error)
		}
		return d, load.Logout(ctx, h, load.RigOrigin)
	}
	const warm = 3
	var hostT, floorT []time.Duration
	for i := range o.Logins + warm {
		hd, err := hostLogin()
		if err != nil {
			return err
		}
		fd, err := fl.login(ctx)
		if err != nil {
			return err
		}
		if i >= warm {
			hostT, floorT = append(hostT, hd), append(floorT, fd)
		}
	}
	hm, fm := median(hostT), median(floorT)
	ratio := float64(hm) / float64(fm)
	diff := ms(hm - fm)
	met := ratio <= 1.10 && diff <= 3
	rep.add("login_overhead_ratio", ratio, "", "≤ 1.10", &met,
		fmt.Sprintf("host median %.2f ms / floor median %.2f ms (n=%d each)", ms(hm), ms(fm), len(hostT)))
	rep.add("login_overhead_ms", diff, "ms", "≤ 3", le(diff, 3), "host median − floor median")
	rep.add("login_host_ms", ms(hm), "ms", "", nil, "through oia-host over stdio")
	rep.add("login_floor_ms", ms(fm), "ms", "", nil, "card login+sign, activate, validate, selectRole in process")
	return nil
}

// floor makes the host's login work directly.
type floor struct {
	mod  *card.Module
	sess *card.Session
	id   card.Identity
	bc   *broker.Client
	pin  string
}

func newFloor(rig *load.Rig, modulePath string) (*floor, error) {
	mod, err := card.Open(modulePath)
	if err != nil {
		return nil, err
	}
	toks, err := mod.Tokens()
	if err != nil || len(toks) == 0 {
		_ = mod.Close()
		return nil, fmt.Errorf("no card in the reader: %v", err)
	}
	sess, err := card.OpenSession(toks[0])
	if err != nil {
		_ = mod.Close()
		return nil, err
	}
	id, err := sess.Identity()
	if err != nil {
		_ = sess.Close()
		_ = mod.Close()
		return nil, err
	}
	base, err := url.Parse(rig.Sim.URL())
	if err != nil {
		return nil, err
	}
	bc, err := broker.New(broker.Options{BaseURL: base, CABundle: rig.Sim.CAFile()})
	if err != nil {
		return nil, err
	}
	return &floor{mod: mod, sess: sess, id: id, bc: bc, pin: rig.PIN}, nil
}

func (f *floor) close() {
	_ = f.sess.Close()
	_ = f.mod.Close()
}

// login is one login with the host's calls, timed; the broker logout after
// it is not timed.
func (f *floor) login(ctx context.Context) (time.Duration, error) {
	start := time.Now()
	if err := f.sess.Login(f.pin); err != nil {
		return 0, err
	}
	ch, err := f.bc.Activate(ctx)
	if err != nil {
		return 0, err
	}
	signer, err := f.sess.Signer()
	if err != nil {
		return 0, err
	}
	der, err := cms.Sign(ch.Data, f.id.Cert, signer, crypto.SHA1)
	if err != nil {
		return 0, err
	}
	if err := f.sess.Logout(); err != nil {
		return 0, err
	}
	bs, err := f.bc.Validate(ctx, ch, f.id.UID, cms.WrapResponse(der))
	if err != nil {
		return 0, err
	}
	if len(bs.Roles) == 0 {
		return 0, fmt.Errorf("the broker offered no role")
	}
	if err := f.bc.SelectRole(ctx, bs.Ticket, bs.Roles[0].ID); err != nil {
		return 0, err
	}
	d := time.Since(start)
	return d, f.bc.Logout(ctx, bs)
}

// coldStart times exec to the hello frame, against a minimal Go program
// that writes one frame, built now.
func coldStart(ctx context.Context, o Options, rig *load.Rig, rep *Report) error {
	ref, err := buildReference(ctx, o.Dir)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp(o.Dir, "cold")
	if err != nil {
		return err
	}
	cfgPath, err := load.WriteConfig(dir, hostConfig(rig))
	if err != nil {
		return err
	}
	env := append(os.Environ(), "OIA_CONFIG="+cfgPath, "OIA_SYSTEM_CONFIG="+filepath.Join(dir, "none.json"))
	env = append(env, rig.Env()...)
	env = append(env, rig.Agent.Env())
	// The first relay starts the agent; the rest, as a browser's later
	// connections do, find it running.
	first, err := timeFirstFrame(exec.CommandContext(ctx, o.HostBinary, load.DevCaller), env)
	if err != nil {
		return fmt.Errorf("oia-host starting the agent: %w", err)
	}
	rep.add("cold_start_agent_ms", ms(first), "ms", "", nil, "exec to hello when the relay must start the agent (card primed)")
	var hostT, refT []time.Duration
	for range o.ColdStarts {
		d, err := timeFirstFrame(exec.CommandContext(ctx, o.HostBinary, load.DevCaller), env)
		if err != nil {
			return fmt.Errorf("oia-host: %w", err)
		}
		hostT = append(hostT, d)
		d, err = timeFirstFrame(exec.CommandContext(ctx, ref), nil)
		if err != nil {
			return fmt.Errorf("reference: %w", err)
		}
		refT = append(refT, d)
	}
	hm, rm := median(hostT), median(refT)
	rep.add("cold_start_ms", ms(hm), "ms", "≤ 15", le(ms(hm), 15), fmt.Sprintf("relay exec to hello with the agent running, median of %d", len(hostT)))
	rep.add("cold_start_reference_ms", ms(rm), "ms", "", nil, "a minimal Go program writing one frame")
	rep.add("cold_start_ratio", float64(hm)/float64(rm), "", "", nil, "oia-host / reference")
	return nil
}

// timeFirstFrame starts cmd and returns the time until its first whole
// frame; then it closes its input and waits for it.
func timeFirstFrame(cmd *exec.Cmd, env []string) (time.Duration, error) {
	if env != nil {
		cmd.Env = env
	}
	in, err := cmd.StdinPipe()
	if err != nil {
		return 0, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return 0, err
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	body, err := nativemsg.ReadMessage(out, nativemsg.MaxOutbound)
	d := time.Since(start)
	_ = in.Close()
	_, _ = io.Copy(io.Discard, out)
	werr := cmd.Wait()
	if err != nil {
		return 0, err
	}
	if !strings.Contains(string(body), `"hello"`) {
		return 0, fmt.Errorf("first frame is not hello: %.100s", body)
	}
	return d, werr
}

// referenceSource is the reference host: it writes a hello frame at once,
// then answers each frame with a result carrying its id, until its input
// ends. It is what any native-messaging host must at least do.
const referenceSource = `package main

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"io"
	"os"
)

func send(w *bufio.Writer, v any) {
	body, _ := json.Marshal(v)
	w.Write(binary.NativeEndian.AppendUint32(nil, uint32(len(body))))
	w.Write(body)
	w.Flush()
}

func main() {
	in, out := bufio.NewReader(os.Stdin), bufio.NewWriter(os.Stdout)
	send(out, map[string]any{"type": "hello", "protocol": "1.0"})
	var hdr [4]byte
	for {
		if _, err := io.ReadFull(in, hdr[:]); err != nil {
			return
		}
		body := make([]byte, binary.NativeEndian.Uint32(hdr[:]))
		if _, err := io.ReadFull(in, body); err != nil {
			return
		}
		var req struct{ ID string }
		json.Unmarshal(body, &req)
		send(out, map[string]any{"id": req.ID, "type": "result", "ok": true, "state": "loggedIn"})
	}
}
`

// buildReference builds the minimal frame-writing program.
func buildReference(ctx context.Context, dir string) (string, error) {
	src := filepath.Join(dir, "reference")
	if err := os.MkdirAll(src, 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(src, "main.go"), []byte(referenceSource), 0o644); err != nil {
		return "", err
	}
	bin := filepath.Join(src, "reference-host")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", bin, "main.go")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "GO111MODULE=off", "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build the reference: %v\n%s", err, out)
	}
	return bin, nil
}

// roundtrips times sequential status requests to a logged-in host, and the
// same requests to the reference host over the same kind of pipes, and to
// the in-process host (the login machine in oia-host's own process, as
// before the agent).
func roundtrips(ctx context.Context, o Options, rig *load.Rig, rep *Report) error {
	ts, total, err := loggedInStatus(ctx, o, rig, o.HostBinary)
	if err != nil {
		return err
	}
	var inTs []time.Duration
	if o.InProcessBinary != "" {
		if inTs, _, err = loggedInStatus(ctx, o, rig, o.InProcessBinary); err != nil {
			return fmt.Errorf("in-process reference: %w", err)
		}
	}
	refBin, err := buildReference(ctx, o.Dir)
	if err != nil {
		return err
	}
	ref, err := load.Start(load.Options{Binary: refBin, Dir: o.Dir})
	if err != nil {
		return err
	}
	defer ref.Close(3 * time.Second)
	refTs, _, err := timeStatus(ctx, ref, o.Roundtrips)
	if err != nil {
		return fmt.Errorf("reference: %w", err)
	}
	p50, p99, r50 := us(median(ts)), us(percentile(ts, 99)), us(median(refTs))
	rep.add("roundtrip_us", p50, "µs", "p50 ≤ 100", le(p50, 100), fmt.Sprintf("status over real pipes through oia-host and the agent, median of %d; reference host %.0f µs", len(ts), r50))
	rep.add("roundtrip_p99_us", p99, "µs", "", nil, fmt.Sprintf("99th percentile; reference host %.0f µs", us(percentile(refTs, 99))))
	rep.add("roundtrip_reference_us", r50, "µs", "", nil, "a minimal Go host answering each frame, same client")
	rep.add("msgs_per_s", float64(len(ts))/total.Seconds(), "/s", "", nil, "sequential status requests and answers")
	if inTs == nil {
		rep.Figures = append(rep.Figures, Figure{Name: "roundtrip_relay_ratio", Target: "≤ 1.2", NA: true, Note: "no in-process reference built"})
		return nil
	}
	in50 := us(median(inTs))
	rep.add("roundtrip_inprocess_us", in50, "µs", "", nil, fmt.Sprintf("status to the in-process host (the host before the agent), median of %d", len(inTs)))
	rep.add("roundtrip_relay_ratio", p50/in50, "", "≤ 1.2", le(p50/in50, 1.2), "through relay and agent / in-process")
	return nil
}

// loggedInStatus starts bin as the host, logs in, times status round
// trips, and stops it (with its agent, and so its session).
func loggedInStatus(ctx context.Context, o Options, rig *load.Rig, bin string) ([]time.Duration, time.Duration, error) {
	o.HostBinary = bin
	h, err := startHost(ctx, o, rig)
	if err != nil {
		return nil, 0, err
	}
	defer h.Close(3 * time.Second)
	if r, err := load.Login(ctx, h, load.RigOrigin, rig.PIN); err != nil || !r.OK {
		return nil, 0, fmt.Errorf("login: %v %+v", err, r.Error)
	}
	h.Drop()
	return timeStatus(ctx, h, o.Roundtrips)
}

// timeStatus warms up, then times n sequential status calls.
func timeStatus(ctx context.Context, h *load.Host, n int) ([]time.Duration, time.Duration, error) {
	status := func() (time.Duration, error) {
		start := time.Now()
		r, err := h.Call(ctx, map[string]any{"type": "status"})
		d := time.Since(start)
		if err != nil || !r.OK {
			return 0, fmt.Errorf("status: %v %+v", err, r.Error)
		}
		return d, nil
	}
	for range 200 { // warm-up
		if _, err := status(); err != nil {
			return nil, 0, err
		}
	}
	ts := make([]time.Duration, 0, n)
	start := time.Now()
	for range n {
		d, err := status()
		if err != nil {
			return nil, 0, err
		}
		ts = append(ts, d)
	}
	return ts, time.Since(start), nil
}

// memory reads the resident memory of the agent, which holds the session
// and does the work, after the first and the last of many login and logout
// cycles of one agent and one relay; the relay's is reported beside it.
func memory(ctx context.Context, o Options, rig *load.Rig, rep *Report) error {
	h, err := startHost(ctx, o, rig)
	if err != nil {
		return err
	}
	defer h.Close(3 * time.Second)
	agentPid, err := h.AgentPid()
	if err != nil {
		return err
	}
	var first, mid, last, relayFirst, relayLast load.Proc
	midAt := min(100, o.Cycles) - 1
	for i := range o.Cycles {
		r, err := load.Login(ctx, h, load.RigOrigin, rig.PIN)
		if err != nil || !r.OK {
			return fmt.Errorf("cycle %d: %v %+v", i, err, r.Error)
		}
		if err := load.Logout(ctx, h, load.RigOrigin); err != nil {
			return fmt.Errorf("cycle %d: %w", i, err)
		}
		if i == 0 || i == midAt || i == o.Cycles-1 {
			p, err := load.ReadProc(agentPid)
			if err != nil {
				return err
			}
			rp, err := load.ReadProc(h.Pid())
			if err != nil {
				return err
			}
			if i == 0 {
				first, relayFirst = p, rp
			}
			if i == midAt {
				mid = p
			}
			last, relayLast = p, rp
		}
	}
	growth := 100 * (last.RSSMiB() - first.RSSMiB()) / first.RSSMiB()
	rep.add("rss_mib_1", first.RSSMiB(), "MiB", "≤ 25", le(first.RSSMiB(), 25), fmt.Sprintf("the agent after 1 cycle (threads %d, fds %d)", first.Threads, first.FDs))
	rep.add(fmt.Sprintf("rss_mib_%d", o.Cycles), last.RSSMiB(), "MiB", "≤ 25", le(last.RSSMiB(), 25), fmt.Sprintf("the agent after %d cycles (threads %d, fds %d)", o.Cycles, last.Threads, last.FDs))
	rep.add("rss_growth_pct", growth, "%", "< 10", le(growth, 9.999), fmt.Sprintf("the agent between cycle 1 and cycle %d; %.1f MiB after cycle %d (warm-up)", o.Cycles, mid.RSSMiB(), midAt+1))
	rep.add("rss_relay_mib", relayLast.RSSMiB(), "MiB", "", nil, fmt.Sprintf("oia-host, the relay, after %d cycles (%.1f after 1; threads %d, fds %d)", o.Cycles, relayFirst.RSSMiB(), relayLast.Threads, relayLast.FDs))
	return nil
}

// Print writes the name=value lines, then a table with the targets.
func (r *Report) Print(w io.Writer) {
	for _, f := range r.Figures {
		if f.NA {
			fmt.Fprintf(w, "%s=unavailable (%s)\n", f.Name, f.Note)
			continue
		}
		fmt.Fprintf(w, "%s=%s\n", f.Name, format(f.Value))
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "figure\tvalue\ttarget\tmet\treference / note")
	for _, f := range r.Figures {
		v := format(f.Value) + " " + f.Unit
		if f.NA {
			v = "unavailable"
		}
		met := ""
		if f.Met != nil {
			met = map[bool]string{true: "yes", false: "NO"}[*f.Met]
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", f.Name, strings.TrimSpace(v), f.Target, met, f.Note)
	}
	_ = tw.Flush()
}

func format(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.3f", v)
	}
}

func median(ts []time.Duration) time.Duration { return percentile(ts, 50) }

// percentile returns the p-th percentile (nearest rank) of ts.
func percentile(ts []time.Duration, p int) time.Duration {
	if len(ts) == 0 {
		return 0
	}
	s := slices.Clone(ts)
	slices.Sort(s)
	i := (p*len(s)+99)/100 - 1
	return s[max(0, min(i, len(s)-1))]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
