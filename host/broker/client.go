// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package broker

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/openidentityagent/oia/host/protocol"
	"github.com/openidentityagent/oia/host/spine"
)

// DefaultUserAgent is the genuine Identity Agent's User-Agent, odd spaces
// included (docs/references.md, "Broker: transport and User-Agent"). The
// broker may key behaviour on it, so OIA sends it unchanged.
const DefaultUserAgent = "Mozilla/4.0(compatible;IE;GACv7. 2. 2. 21)"

// DefaultTimeout bounds each call (all its attempts) when
// [Options].Timeout is zero.
const DefaultTimeout = spine.DefaultTimeout

// maxCABundle bounds the extra CA bundle file.
const maxCABundle = 4 << 20

// Options configure a [Client]. Only BaseURL is required.
type Options struct {
	// BaseURL is the broker's base URL, usually from [ResolveBaseURL]. It
	// must be https.
	BaseURL *url.URL
	// HTTPClient makes the requests. When nil, New builds one that
	// verifies TLS 1.2+ against the system roots plus CABundle, follows
	// redirects only to https URLs on allowed hosts, and uses the
	// environment's proxy settings. A caller-supplied client is used as
	// is; it must verify TLS.
	HTTPClient *http.Client
	// CABundle is the path of a PEM file of extra trust anchors (the NHS
	// roots on machines that lack them, or the simulator's test root).
	// Ignored when HTTPClient is set.
	CABundle string
	// UserAgent replaces [DefaultUserAgent].
	UserAgent string
	// DeviceID is the 8 hexadecimal digits that start the device_id
	// parameter ("b02edd24,ClientIP=…"). When empty, New picks a random
	// one; callers that want it stable across runs store it.
	DeviceID string
	// ClientIP is the address reported in device_id. When empty, each
	// Activate uses the local address of the route to the broker.
	ClientIP string
	// AllowedHosts are further hosts (host or host:port) that the broker
	// may send the client to in reply_url and sso_logout_url. By default
	// only the base URL's host is allowed (docs/broker.md explains why).
	AllowedHosts []string
	// TrainingMode sends ssbMode=1 on role selection (a training session);
	// otherwise ssbMode=0 (live, clinical).
	TrainingMode bool
	// Timeout bounds each call, retries included; zero means
	// [DefaultTimeout].
	Timeout time.Duration
	// MaxAttempts bounds the attempts of the calls that are safe to retry
	// (activate, role selection, role assertion); zero means 3. Validate
	// is never retried and logout is tried at most twice.
	MaxAttempts int
	// Log, when set, is called once per HTTP attempt. A [LogEvent] holds no
	// secret by construction.
	Log func(LogEvent)
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// LogEvent describes one HTTP attempt, for the log. It never holds a
// ticket, a challenge, a signature or a signed response: only names, sizes
// and outcomes.
type LogEvent struct {
	Op       string        // "activate", "validate", …
	Attempt  int           // 1 for the first try
	Method   string        // GET or POST
	Host     string        // the broker host (no path, no query)
	Status   int           // HTTP status, 0 when none arrived
	Bytes    int           // size of the answer read
	Fields   []string      // names of the gpPARAM fields of the answer
	Duration time.Duration // time taken by the attempt
	Err      error         // the attempt's error (an *Error), if any
}

// Client talks to one Spine Security Broker. It is safe for concurrent use.
type Client struct {
	base        *url.URL
	hc          *http.Client
	ua          string
	device      string
	clientIP    string
	allowed     map[string]bool
	ssbMode     string
	timeout     time.Duration
	maxAttempts int
	backoffBase time.Duration // the first retry's wait; doubles after
	log         func(LogEvent)
	now         func() time.Time

	ipMu     sync.Mutex // guards the detected client address
	ipCached string
	ipExpiry time.Time
}

var reDeviceID = regexp.MustCompile(`^[0-9a-fA-F]{8}$`)

// New returns a client for opts.BaseURL.
func New(opts Options) (*Client, error) {
	if opts.BaseURL == nil {
		return nil, errors.New("broker: no base url: set environment or brokerUrl")
	}
	base, err := spine.ResolveBaseURL("", opts.BaseURL.String())
	if err != nil {
		return nil, err
	}
	c := &Client{
		base:        base,
		ua:          opts.UserAgent,
		device:      opts.DeviceID,
		clientIP:    opts.ClientIP,
		allowed:     map[string]bool{hostKey(base): true},
		ssbMode:     "0",
		timeout:     opts.Timeout,
		maxAttempts: opts.MaxAttempts,
		backoffBase: 250 * time.Millisecond,
		log:         opts.Log,
		now:         opts.Now,
	}
	if c.ua == "" {
		c.ua = DefaultUserAgent
	}
	if len(c.ua) > 256 || strings.ContainsAny(c.ua, "\r\n") {
		return nil, errors.New("broker: user agent is longer than 256 characters or holds a line break: fix userAgent")
	}
	if c.device == "" {
		var b [4]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, err
		}
		c.device = hex.EncodeToString(b[:])
	} else if !reDeviceID.MatchString(c.device) {
		return nil, fmt.Errorf("broker: device id %q is not 8 hexadecimal digits: fix deviceId", c.device)
	}
	if c.clientIP != "" && net.ParseIP(c.clientIP) == nil {
		return nil, fmt.Errorf("broker: client ip %q is not an ip address: fix clientIp or leave it empty", c.clientIP)
	}
	for _, h := range opts.AllowedHosts {
		k, err := allowedHostKey(h)
		if err != nil {
			return nil, err
		}
		c.allowed[k] = true
	}
	if opts.TrainingMode {
		c.ssbMode = "1"
	}
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	if c.maxAttempts <= 0 {
		c.maxAttempts = 3
	}
	if c.now == nil {
		c.now = time.Now
	}
	c.hc = opts.HTTPClient
	if c.hc == nil {
		if c.hc, err = c.defaultHTTPClient(opts.CABundle); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// BaseURL returns a copy of the broker's base URL.
func (c *Client) BaseURL() *url.URL {
	u := *c.base
	return &u
}

// defaultHTTPClient builds the client New uses when none is given. The CA
// bundle is read and checked now; the system's trust store is loaded in
// the background (see lazyTransport).
func (c *Client) defaultHTTPClient(caBundle string) (*http.Client, error) {
	var pem []byte
	if caBundle != "" {
		f, err := os.Open(caBundle)
		if err != nil {
			return nil, fmt.Errorf("broker: ca bundle: %w: fix caBundle", err)
		}
		pem, err = io.ReadAll(io.LimitReader(f, maxCABundle+1))
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("broker: ca bundle %s: %w", caBundle, err)
		}
		if len(pem) > maxCABundle {
			return nil, fmt.Errorf("broker: ca bundle %s is larger than 4 MiB: give a PEM file of CA certificates", caBundle)
		}
		if !x509.NewCertPool().AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("broker: ca bundle %s holds no PEM certificate: give a PEM file of CA certificates", caBundle)
		}
	}
	build := sync.OnceValue(func() *http.Transport {
		roots, err := x509.SystemCertPool()
		if err != nil || roots == nil {
			roots = x509.NewCertPool()
		}
		if pem != nil {
			roots.AppendCertsFromPEM(pem)
		}
		dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
		return &http.Transport{
			Proxy:       http.ProxyFromEnvironment,
			DialContext: dialer.DialContext,
			TLSClientConfig: &tls.Config{
				MinVersion: tls.VersionTLS12,
				RootCAs:    roots,
			},
			TLSHandshakeTimeout:    10 * time.Second,
			ResponseHeaderTimeout:  30 * time.Second,
			ExpectContinueTimeout:  time.Second,
			IdleConnTimeout:        90 * time.Second,
			MaxIdleConns:           4,
			MaxResponseHeaderBytes: 64 << 10,
		}
	})
	go build()
	tr := &lazyTransport{get: build}
	return &http.Client{
		Transport: tr,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 5 {
				return &redirectError{"more than 5 redirects"}
			}
			if req.URL.Scheme != "https" || !c.allowed[hostKey(req.URL)] {
				return &redirectError{fmt.Sprintf("redirect to %s://%s refused: not https on the broker's host (see allowedHosts)", req.URL.Scheme, req.URL.Host)}
			}
			return nil
		},
	}, nil
}

// lazyTransport is the default client's transport, built on first use.
// x509.SystemCertPool parses every root in the system's store, about 20 ms
// on a 2-core machine: in New it was most of oia-host's time from exec to
// hello. New starts the build at once on its own goroutine, so the first
// login rarely waits for it, and the host answers the browser meanwhile.
type lazyTransport struct {
	get func() *http.Transport
}

// RoundTrip sends r through the transport, once it is built.
func (l *lazyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	return l.get().RoundTrip(r)
}

// CloseIdleConnections lets http.Client.CloseIdleConnections reach the
// transport (Validate drops idle connections first).
func (l *lazyTransport) CloseIdleConnections() { l.get().CloseIdleConnections() }

var _ http.RoundTripper = (*lazyTransport)(nil)

// redirectError is a redirect the default client refuses to follow.
type redirectError struct{ msg string }

func (e *redirectError) Error() string { return e.msg }

// hostKey is the host:port of u, lower-cased, with the default port made
// explicit, for comparing hosts.
func hostKey(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = "443"
		if u.Scheme == "http" {
			port = "80"
		}
	}
	return net.JoinHostPort(strings.ToLower(strings.TrimSuffix(u.Hostname(), ".")), port)
}

func allowedHostKey(h string) (string, error) {
	u, err := url.Parse("https://" + h)
	if err != nil || u.Hostname() == "" || u.Path != "" || u.User != nil {
		return "", fmt.Errorf("broker: allowed host %q is not a host or host:port: fix allowedHosts", h)
	}
	return hostKey(u), nil
}

// checkURL parses a URL the broker sent in field and checks that the client
// may follow it: absolute https on an allowed host.
func (c *Client) checkURL(field, s string) (*url.URL, error) {
	s = strings.TrimSpace(s)
	if len(s) > spine.MaxURLLen {
		return nil, &InvalidFieldError{Field: field, Reason: "longer than 2048 characters"}
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, &InvalidFieldError{Field: field, Reason: "not a url"}
	}
	if u.Scheme != "https" {
		return nil, &InvalidFieldError{Field: field, Reason: fmt.Sprintf("scheme %q is not https", u.Scheme)}
	}
	if u.User != nil || u.Hostname() == "" {
		return nil, &InvalidFieldError{Field: field, Reason: "no host, or user information"}
	}
	if !c.allowed[hostKey(u)] {
		return nil, &InvalidFieldError{Field: field, Reason: fmt.Sprintf("host %s is not the broker's (%s); add it to allowedHosts if this is intended", u.Host, c.base.Host)}
	}
	return u, nil
}

// endpoint returns the base URL joined with path.
func (c *Client) endpoint(path string) *url.URL {
	u := *c.base
	u.Path = c.base.Path + path
	return &u
}

// exchange is one request's outcome: the answer's status and body.
type exchange struct {
	status int
	body   []byte
}

// call makes a request with retries and returns the 2xx answer. attempts
// bounds the tries; a try is repeated only after a connection error, a
// read error or a 5xx, never after a TLS failure or a timeout of the call.
func (c *Client) call(ctx context.Context, op, method string, u *url.URL, body []byte, attempts int) (*exchange, error) {
	if attempts > c.maxAttempts {
		attempts = c.maxAttempts
	}
	if attempts < 1 {
		attempts = 1
	}
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var lastErr *Error
	for attempt := 1; attempt <= attempts; attempt++ {
		start := c.now()
		ex, retryAfter, err := c.once(ctx, parent, op, method, u, body)
		if c.log != nil {
			ev := LogEvent{Op: op, Attempt: attempt, Method: method, Host: u.Host, Duration: c.now().Sub(start)}
			if ex != nil {
				ev.Status, ev.Bytes = ex.status, len(ex.body)
				if d, perr := ParseDocument(ex.body); perr == nil {
					ev.Fields = d.Names()
				}
			}
			if err != nil {
				ev.Err = err
				ev.Status = err.Status
			}
			c.log(ev)
		}
		if err == nil {
			return ex, nil
		}
		lastErr = err
		if !retryable(err) || attempt == attempts {
			break
		}
		wait := backoff(c.backoffBase, attempt, retryAfter)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, c.ctxError(op, parent, ctx.Err())
		case <-t.C:
		}
	}
	return nil, lastErr
}

func retryable(e *Error) bool {
	switch e.Kind {
	case KindTransport:
		return true
	case KindStatus:
		return e.Status >= 500
	}
	return false
}

// backoff is the wait before try attempt+1: base (250 ms) doubling, at most
// 2 s, with jitter, or the server's Retry-After when it asks for at most 5 s.
func backoff(base time.Duration, attempt int, retryAfter time.Duration) time.Duration {
	if retryAfter > 0 && retryAfter <= 5*time.Second {
		return retryAfter
	}
	d := base << (attempt - 1)
	if d > 2*time.Second {
		d = 2 * time.Second
	}
	var b [1]byte
	_, _ = rand.Read(b[:])
	return d/2 + time.Duration(int64(d/2)*int64(b[0])/255)
}

// once makes one attempt. The error is always an *Error (or nil).
func (c *Client) once(ctx, parent context.Context, op, method string, u *url.URL, body []byte) (*exchange, time.Duration, *Error) {
	var rd io.Reader
	if body != nil {
		rd = strings.NewReader(string(body))
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return nil, 0, newError(op, KindUsage, 0, protocol.CodeInternal, fmt.Errorf("building the request: %v", redactURLError(err)))
	}
	req.Header.Set("User-Agent", c.ua)
	req.Header.Set("Cache-Control", "no-cache")
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, 0, c.transportError(op, parent, ctx, method, u, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxBodySize+1))
	ex := &exchange{status: resp.StatusCode, body: data}
	if err != nil {
		e := c.transportError(op, parent, ctx, method, u, fmt.Errorf("reading the answer after %d bytes: %w", len(data), err))
		e.Status = resp.StatusCode
		return ex, 0, e
	}
	if len(data) > MaxBodySize {
		return ex, 0, newError(op, KindTooLarge, resp.StatusCode, protocol.CodeServerCommFailed, errTooLarge)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return ex, retryAfter(resp.Header.Get("Retry-After")), newError(op, KindStatus, resp.StatusCode, protocol.CodeServerCommFailed,
			fmt.Errorf("%s %s answered %s", method, redactedURL(u), resp.Status))
	}
	return ex, 0, nil
}

func retryAfter(h string) time.Duration {
	if n, err := strconv.Atoi(strings.TrimSpace(h)); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	return 0
}

// transportError classifies a failure to get or read an answer.
func (c *Client) transportError(op string, parent, ctx context.Context, method string, u *url.URL, err error) *Error {
	cause := fmt.Errorf("%s %s: %w", method, redactedURL(u), redactURLError(err))
	if ctx.Err() != nil {
		return c.ctxError(op, parent, ctx.Err())
	}
	var certErr *tls.CertificateVerificationError
	var unknownAuth x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var invalid x509.CertificateInvalidError
	var alert tls.AlertError
	var recHdr tls.RecordHeaderError
	switch {
	case errors.As(err, &certErr), errors.As(err, &unknownAuth), errors.As(err, &hostErr), errors.As(err, &invalid):
		return newError(op, KindTLS, 0, protocol.CodeServerCommFailed, fmt.Errorf("%w: the broker's certificate is not trusted; check caBundle and the system's NHS roots", cause))
	case errors.As(err, &alert), errors.As(err, &recHdr):
		return newError(op, KindTLS, 0, protocol.CodeServerCommFailed, cause)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return newError(op, KindTimeout, 0, protocol.CodeServerCommFailed, cause)
	}
	var re *redirectError
	if errors.As(err, &re) {
		return newError(op, KindURL, 0, protocol.CodeServerCommFailed, cause)
	}
	return newError(op, KindTransport, 0, protocol.CodeServerCommFailed, cause)
}

// ctxError reports the end of the call's context: the caller's cancellation,
// or a deadline (the caller's or the call's own timeout).
func (c *Client) ctxError(op string, parent context.Context, err error) *Error {
	switch {
	case errors.Is(parent.Err(), context.Canceled):
		return newError(op, KindCanceled, 0, protocol.CodeUserAbort, parent.Err())
	case parent.Err() != nil:
		return newError(op, KindTimeout, 0, protocol.CodeServerCommFailed, fmt.Errorf("no answer before the caller's deadline: %w", context.DeadlineExceeded))
	}
	return newError(op, KindTimeout, 0, protocol.CodeServerCommFailed, fmt.Errorf("no answer within %s: %w", c.timeout, context.DeadlineExceeded))
}

// redactedURL is u without its query, which may hold a ticket.
func redactedURL(u *url.URL) string {
	r := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}
	return r.String()
}

// redactURLError strips the *url.Error wrapper, whose text holds the full
// URL and so the ticket of a role selection or role assertion.
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
