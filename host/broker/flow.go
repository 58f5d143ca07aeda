// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package broker

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/openidentityagent/oia/host/protocol"
)

// Paths under the base URL (docs/references.md, "Broker wire format":
// authactivate, authvalidate, logout, role selection, role assertion).
const (
	PathActivate      = "/login/authactivate"
	PathValidate      = "/login/authvalidate"
	PathLogout        = "/login/authlogout"
	PathRoleSelection = "/saml/RoleSelectionGP.jsp"
	PathRoleAssertion = "/saml/RoleAssertion"
)

// Bounds on what the client sends and accepts.
const (
	maxChallenge = 4096      // decoded challenge bytes; the genuine one is 48
	maxTicket    = 1024      // the genuine ticket is about 60 characters
	maxResponse  = 128 << 10 // the wrapped CMS; a genuine one is about 3 KB
	maxFieldLen  = 4096      // any other field we keep
)

// Challenge is the broker's answer to activation: what the card must sign
// and what validation must echo. A Challenge is single-use: [Client.Validate]
// refuses one it has already sent.
type Challenge struct {
	// Raw is the challenge as the broker sent it (base64), echoed back.
	Raw string
	// Data is the decoded challenge: the bytes the card signs.
	Data []byte
	// Signature is the broker's own signature over the challenge, echoed
	// back unchanged.
	Signature string
	// ReplyURL is where validation is posted (checked: https, allowed host).
	ReplyURL *url.URL
	// LogSessionID is the 10-character id the client chose for this login.
	LogSessionID string
	// DeviceID is the device_id sent ("<8 hex>,ClientIP=<ip>").
	DeviceID string
	// ErrorURL is the broker's error page, if it named one.
	ErrorURL string
	// GASVersion is the broker's software version, if given.
	GASVersion string
	// Document holds every field of the answer, known or not.
	Document *Document

	used atomic.Bool
}

// String describes the challenge without its secrets.
func (ch *Challenge) String() string {
	reply := "nowhere"
	if ch.ReplyURL != nil {
		reply = redactedURL(ch.ReplyURL)
	}
	return fmt.Sprintf("broker.Challenge{%d bytes, log_session_id %s, reply to %s}", len(ch.Data), ch.LogSessionID, reply)
}

// Session is a broker login: the answer to a successful validation.
type Session struct {
	// Ticket is the SSO ticket (an OpenSSO token id). Secret: never log it.
	Ticket string
	// UID is the user's 12-digit id (the certificate's CN, as sent).
	UID string
	// Name is the user's name as the broker has it (cn).
	Name string
	// Roles are the user's role profiles, in the broker's order.
	Roles []Role
	// SessionTime and MaxSessionTime are sso_session_time and
	// sso_max_session_time; zero when the broker did not say.
	SessionTime, MaxSessionTime time.Duration
	// KeepAlive is sso_keep_alive.
	KeepAlive bool
	// LogoutURL is where [Client.Logout] posts: sso_logout_url when it is
	// https on an allowed host, otherwise the base URL's /login/authlogout.
	LogoutURL *url.URL
	// SessionURL is sso_session_url as sent (often an internal http URL;
	// never called).
	SessionURL string
	// Domain is sso_domain.
	Domain string
	// ErrorURL is error_url.
	ErrorURL string
	// GASVersion is gas_version.
	GASVersion string
	// LogSessionID and DeviceID are the ids this login was made with.
	LogSessionID, DeviceID string
	// Created is when the client received the session (its own clock).
	Created time.Time
	// Document holds every field of the answer, known or not. It holds
	// the ticket too: never log it.
	Document *Document
}

// ExpiresAt returns when the session ends by the broker's sso_session_time
// (or sso_max_session_time when only that is given), or the zero time when
// the broker gave neither.
func (s *Session) ExpiresAt() time.Time {
	d := s.SessionTime
	if d == 0 {
		d = s.MaxSessionTime
	}
	if d == 0 {
		return time.Time{}
	}
	return s.Created.Add(d)
}

// Role returns the role with id, and whether the user holds it.
func (s *Session) Role(id string) (Role, bool) {
	for _, r := range s.Roles {
		if r.ID == id {
			return r, true
		}
	}
	return Role{}, false
}

// String describes the session without the ticket.
func (s *Session) String() string {
	return fmt.Sprintf("broker.Session{uid %s, %d roles, session %s, ticket %d chars}", s.UID, len(s.Roles), s.SessionTime, len(s.Ticket))
}

var (
	reUID    = regexp.MustCompile(`^[0-9A-Za-z]{1,64}$`)
	reBase64 = regexp.MustCompile(`^[A-Za-z0-9+/=\r\n]+$`)
	reTicket = regexp.MustCompile(`^[\x21-\x7e]+$`)
)

// Activate starts a login: it posts the activation document (auth_method 3,
// app_url NHST, a fresh log_session_id, device_id, service ACTIVATION) and
// returns the challenge to sign. It is retried on connection errors and 5xx.
func (c *Client) Activate(ctx context.Context) (*Challenge, error) {
	const op = "activate"
	logID, err := newLogSessionID()
	if err != nil {
		return nil, newError(op, KindUsage, 0, protocol.CodeInternal, err)
	}
	device := c.device + ",ClientIP=" + c.localIP(ctx)
	body := buildRequest([]requestParam{
		{name: "auth_method", value: "3"},
		{name: "app_url", value: "NHST"},
		{name: "log_session_id", value: logID},
		{name: "device_id", value: device},
		{name: "service", value: "ACTIVATION"},
	})
	ex, cerr := c.call(ctx, op, http.MethodPost, c.endpoint(PathActivate), body, c.maxAttempts)
	if cerr != nil {
		return nil, cerr
	}
	doc, err := ParseDocument(ex.body)
	if err != nil {
		return nil, newError(op, KindMalformed, ex.status, protocol.CodeServerCommFailed, err)
	}
	ch := &Challenge{LogSessionID: logID, DeviceID: device, Document: doc}
	fields := map[string]*string{"challenge": &ch.Raw, "signature": &ch.Signature}
	for _, f := range []string{"challenge", "signature", "reply_url"} {
		v, ok := doc.Get(f)
		if !ok || strings.TrimSpace(v) == "" {
			return nil, newError(op, KindMalformed, ex.status, protocol.CodeServerCommFailed, &MissingFieldError{Field: f})
		}
		if len(v) > maxFieldLen*2 {
			return nil, newError(op, KindMalformed, ex.status, protocol.CodeServerCommFailed, &InvalidFieldError{Field: f, Reason: "too long"})
		}
		if p := fields[f]; p != nil {
			*p = v
		}
	}
	ch.Raw = strings.Join(strings.Fields(ch.Raw), "")
	if ch.Data, err = decodeChallenge(ch.Raw); err != nil {
		return nil, newError(op, KindMalformed, ex.status, protocol.CodeServerCommFailed, &InvalidFieldError{Field: "challenge", Reason: err.Error()})
	}
	reply, _ := doc.Get("reply_url")
	if ch.ReplyURL, err = c.checkURL("reply_url", reply); err != nil {
		return nil, newError(op, KindURL, ex.status, protocol.CodeServerCommFailed, err)
	}
	ch.ErrorURL, _ = doc.Get("error_url")
	ch.GASVersion, _ = doc.Get("gas_version")
	return ch, nil
}

func decodeChallenge(s string) ([]byte, error) {
	if len(s) > base64.StdEncoding.EncodedLen(maxChallenge) {
		return nil, fmt.Errorf("longer than %d bytes", maxChallenge)
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		if b, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(s, "=")); err != nil {
			return nil, fmt.Errorf("not base64")
		}
	}
	if len(b) == 0 {
		return nil, fmt.Errorf("empty")
	}
	return b, nil
}

// Validate completes a login: it posts uid and the wrapped CMS response
// (cms.WrapResponse of the signed ch.Data) to ch.ReplyURL, echoing the
// challenge and the broker's signature. It is never retried: a challenge is
// good for one try. An answer without sso_ticket is AUTHENTICATION_FAILED.
//
// A session whose Roles is empty is returned without error: the ticket
// exists at the broker, and the caller should log it out.
func (c *Client) Validate(ctx context.Context, ch *Challenge, uid string, response string) (*Session, error) {
	const op = "validate"
	if ch == nil || ch.ReplyURL == nil {
		return nil, newError(op, KindUsage, 0, protocol.CodeInternal, fmt.Errorf("no challenge: call Activate first"))
	}
	if !reUID.MatchString(uid) {
		return nil, newError(op, KindUsage, 0, protocol.CodeInternal, fmt.Errorf("uid is not 1-64 letters and digits"))
	}
	if len(response) == 0 || len(response) > maxResponse || !reBase64.MatchString(response) {
		return nil, newError(op, KindUsage, 0, protocol.CodeInternal, fmt.Errorf("response is empty, over %d bytes or not base64", maxResponse))
	}
	if !ch.used.CompareAndSwap(false, true) {
		return nil, newError(op, KindUsage, 0, protocol.CodeInternal, fmt.Errorf("challenge already used: start again with Activate"))
	}
	body := buildRequest([]requestParam{
		{name: "auth_method", value: "3"},
		{name: "app_url", value: "NHST"},
		{name: "log_session_id", value: ch.LogSessionID},
		{name: "device_id", value: ch.DeviceID},
		{name: "service", value: "AUTHENTICATION"},
		{name: "challenge", value: ch.Raw},
		{name: "signature", value: ch.Signature},
		{name: "uid", value: uid},
		{name: "card_type", value: "p11"},
		{name: "response", value: response, base64: true},
		{name: "mobility", value: "0"},
	})
	// Validate cannot be retried, so it must not meet a kept-alive
	// connection that the broker closed while the user typed the passcode
	// (Go does not resend a POST that failed that way). A fresh connection
	// costs one handshake per login.
	c.hc.CloseIdleConnections()
	ex, cerr := c.call(ctx, op, http.MethodPost, ch.ReplyURL, body, 1)
	if cerr != nil {
		return nil, cerr
	}
	doc, err := ParseDocument(ex.body)
	if err != nil {
		return nil, newError(op, KindMalformed, ex.status, protocol.CodeServerCommFailed, err)
	}
	ticket, _ := doc.Get("sso_ticket")
	ticket = strings.TrimSpace(ticket)
	if ticket == "" {
		return nil, newError(op, KindRefused, ex.status, protocol.CodeAuthenticationFailed, &MissingFieldError{Field: "sso_ticket"})
	}
	if len(ticket) > maxTicket || !reTicket.MatchString(ticket) {
		return nil, newError(op, KindMalformed, ex.status, protocol.CodeServerCommFailed, &InvalidFieldError{Field: "sso_ticket", Reason: "over 1024 characters or not printable ascii"})
	}
	s := &Session{
		Ticket:       ticket,
		UID:          uid,
		Roles:        rolesOf(doc),
		LogSessionID: ch.LogSessionID,
		DeviceID:     ch.DeviceID,
		Created:      c.now(),
		Document:     doc,
	}
	s.Name, _ = doc.Get("cn")
	s.Name = bounded(strings.TrimSpace(s.Name))
	s.SessionTime = seconds(doc, "sso_session_time")
	s.MaxSessionTime = seconds(doc, "sso_max_session_time")
	ka, _ := doc.Get("sso_keep_alive")
	s.KeepAlive = strings.EqualFold(strings.TrimSpace(ka), "true")
	s.SessionURL, _ = doc.Get("sso_session_url")
	s.Domain, _ = doc.Get("sso_domain")
	s.ErrorURL, _ = doc.Get("error_url")
	s.GASVersion, _ = doc.Get("gas_version")
	s.LogoutURL = c.endpoint(PathLogout)
	if v, ok := doc.Get("sso_logout_url"); ok && strings.TrimSpace(v) != "" {
		if u, err := c.checkURL("sso_logout_url", v); err == nil {
			s.LogoutURL = u
		}
	}
	return s, nil
}

func bounded(s string) string {
	if len(s) > maxFieldLen {
		return strings.ToValidUTF8(s[:maxFieldLen], "")
	}
	return s
}

// seconds reads a whole number of seconds, or 0 when absent or invalid.
func seconds(d *Document, name string) time.Duration {
	v, _ := d.Get(name)
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 32)
	if err != nil || n <= 0 {
		return 0
	}
	return time.Duration(n) * time.Second
}

var reStatus = regexp.MustCompile(`(?is)<STATUS>\s*([^<]*?)\s*</STATUS>`)
var reOK = regexp.MustCompile(`\bOK\b`)

// statusOK reads the broker's <HTML><STATUS>OK</STATUS></HTML> answers. It
// returns ok when the answer says OK, and known=false when the answer is
// not one of these documents at all (garbage, an unrelated page).
func statusOK(body []byte) (ok, known bool) {
	if m := reStatus.FindSubmatch(body); m != nil {
		return strings.EqualFold(string(m[1]), "OK"), true
	}
	if reOK.Match(body) {
		return true, true
	}
	return false, false
}

// SelectRole makes roleID the session's role (GET RoleSelectionGP.jsp). A
// role the broker refuses is ROLE_SELECTION_FAILED. It is retried on
// connection errors and 5xx: selecting the same role twice is harmless.
func (c *Client) SelectRole(ctx context.Context, ticket, roleID string) error {
	const op = "roleselect"
	if err := checkTicket(op, ticket); err != nil {
		return err
	}
	if !reUID.MatchString(roleID) {
		return newError(op, KindUsage, 0, protocol.CodeBadRequest, fmt.Errorf("role id is not 1-64 letters and digits"))
	}
	u := c.endpoint(PathRoleSelection)
	q := url.Values{}
	q.Set("token", ticket)
	q.Set("selectedRoleUid", roleID)
	q.Set("ssbMode", c.ssbMode)
	q.Set("fallbackStatus", "0")
	if v := gacVersion(c.ua); v != "" {
		q.Set("gacVersion", v)
	}
	u.RawQuery = encodeQuery(q, "token", "selectedRoleUid", "ssbMode", "fallbackStatus", "gacVersion")
	ex, cerr := c.call(ctx, op, http.MethodGet, u, nil, c.maxAttempts)
	if cerr != nil {
		return cerr
	}
	ok, known := statusOK(ex.body)
	switch {
	case ok:
		return nil
	case known:
		return newError(op, KindRefused, ex.status, protocol.CodeRoleSelectionFailed, fmt.Errorf("the broker did not accept role %s", roleID))
	default:
		return newError(op, KindMalformed, ex.status, protocol.CodeServerCommFailed, fmt.Errorf("the role selection answer is neither OK nor a status"))
	}
}

// encodeQuery encodes q in the given key order (the genuine client's), with
// spaces as %20 as the genuine client sends them (gacVersion=GACv10.%200.%200.%201).
func encodeQuery(q url.Values, order ...string) string {
	var parts []string
	for _, k := range order {
		if v, ok := q[k]; ok {
			parts = append(parts, queryEscape(k)+"="+queryEscape(v[0]))
		}
	}
	return strings.Join(parts, "&")
}

// queryEscape is url.QueryEscape with spaces as %20 (a literal + is %2B).
func queryEscape(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}

var reGAC = regexp.MustCompile(`GACv[0-9][0-9. ]*[0-9]`)

// gacVersion is the GACv… token of the User-Agent, sent as gacVersion.
func gacVersion(ua string) string { return reGAC.FindString(ua) }

func checkTicket(op, ticket string) error {
	if ticket == "" || len(ticket) > maxTicket || !reTicket.MatchString(ticket) {
		return newError(op, KindUsage, 0, protocol.CodeInternal, fmt.Errorf("ticket is empty, over %d characters or not printable ascii", maxTicket))
	}
	return nil
}

// Logout ends the session at the broker: a POST of the LOGOUT document to
// s.LogoutURL (never a GET). It is tried at most twice. Success is an
// answer saying OK, or an empty one. A broker that answers with another
// status (the ticket was already dead) gives SESSION_EXPIRED; the session is
// over either way.
func (c *Client) Logout(ctx context.Context, s *Session) error {
	const op = "logout"
	if s == nil {
		return newError(op, KindUsage, 0, protocol.CodeInternal, fmt.Errorf("no session"))
	}
	if err := checkTicket(op, s.Ticket); err != nil {
		return err
	}
	u := s.LogoutURL
	if u == nil {
		u = c.endpoint(PathLogout)
	}
	body := buildRequest([]requestParam{
		{name: "service", value: "LOGOUT"},
		{name: "sso_ticket", value: s.Ticket},
		{name: "log_session_id", value: s.LogSessionID},
		{name: "device_id", value: s.DeviceID},
		{name: "uid", value: s.UID},
	})
	ex, cerr := c.call(ctx, op, http.MethodPost, u, body, 2)
	if cerr != nil {
		return cerr
	}
	ok, known := statusOK(ex.body)
	switch {
	case ok, len(strings.TrimSpace(string(ex.body))) == 0:
		// An empty 2xx is taken as success too: the genuine answer is
		// unconfirmed, only a mock's OK is known (docs/references.md,
		// "Broker: logout").
		return nil
	case known:
		return newError(op, KindRefused, ex.status, protocol.CodeSessionExpired, fmt.Errorf("the broker did not confirm the logout: the ticket was not live"))
	default:
		return newError(op, KindMalformed, ex.status, protocol.CodeServerCommFailed, fmt.Errorf("the logout answer is neither OK nor a status"))
	}
}

// RoleAssertion asks the broker what it knows of a ticket (GET
// /saml/RoleAssertion) and returns the parsed SAML 1.1 assertion. A ticket
// the broker no longer knows is SESSION_EXPIRED. It is retried on
// connection errors and 5xx.
func (c *Client) RoleAssertion(ctx context.Context, ticket string) (*Assertion, error) {
	const op = "roleassertion"
	if err := checkTicket(op, ticket); err != nil {
		return nil, err
	}
	u := c.endpoint(PathRoleAssertion)
	u.RawQuery = "token=" + url.QueryEscape(ticket)
	ex, cerr := c.call(ctx, op, http.MethodGet, u, nil, c.maxAttempts)
	if cerr != nil {
		return nil, cerr
	}
	a, err := ParseAssertion(ex.body)
	if err != nil {
		kind, code := KindMalformed, protocol.CodeServerCommFailed
		if _, dead := err.(*StatusError); dead {
			kind, code = KindRefused, protocol.CodeSessionExpired
		}
		return nil, newError(op, kind, ex.status, code, err)
	}
	return a, nil
}

const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// newLogSessionID returns 10 random alphanumerics, as the genuine client
// sends (uniform: bytes at or above 248 are drawn again).
func newLogSessionID() (string, error) {
	out := make([]byte, 0, 10)
	var buf [16]byte
	for len(out) < 10 {
		if _, err := rand.Read(buf[:]); err != nil {
			return "", err
		}
		for _, b := range buf {
			if int(b) < 248 && len(out) < 10 {
				out = append(out, alnum[int(b)%len(alnum)])
			}
		}
	}
	return string(out), nil
}

// localIP is the address reported in device_id: the configured one, or the
// local address of the route to the broker (a UDP "connection" sends
// nothing), or the first non-loopback interface address when the broker's
// name does not resolve here (behind a proxy), or 127.0.0.1. A detected
// address is reused for five minutes, so that a slow resolver delays at most
// one login in that time.
func (c *Client) localIP(ctx context.Context) string {
	if c.clientIP != "" {
		return c.clientIP
	}
	c.ipMu.Lock()
	defer c.ipMu.Unlock()
	now := c.now()
	if c.ipCached != "" && now.Before(c.ipExpiry) {
		return c.ipCached
	}
	ip := routeIP(ctx, c.base)
	if ip == "" {
		ip = interfaceIP()
	}
	if ip == "" {
		ip = "127.0.0.1"
	}
	c.ipCached, c.ipExpiry = ip, now.Add(5*time.Minute)
	return ip
}

func routeIP(ctx context.Context, base *url.URL) string {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	port := base.Port()
	if port == "" {
		port = "443"
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "udp", net.JoinHostPort(base.Hostname(), port))
	if err != nil {
		return ""
	}
	defer conn.Close()
	if a, ok := conn.LocalAddr().(*net.UDPAddr); ok && a.IP != nil && !a.IP.IsUnspecified() {
		return a.IP.String()
	}
	return ""
}

// interfaceIP is the first IPv4 address of an up, non-loopback interface.
func interfaceIP() string {
	ifaces, err := net.Interfaces()
	if err != nil {
		return ""
	}
	for _, ifc := range ifaces {
		if ifc.Flags&net.FlagUp == 0 || ifc.Flags&net.FlagLoopback != 0 {
			continue
		}
		addrs, err := ifc.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLinkLocalUnicast() {
				return n.IP.String()
			}
		}
	}
	return ""
}
