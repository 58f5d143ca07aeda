// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package brokersim

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/openidentityagent/oia/host/cms"
	"go.mozilla.org/pkcs7"
)

// Values the genuine broker sends in its activate and validate answers
// (docs/references.md, "Broker: authactivate", "Broker: authvalidate");
// ssoDomain is the simulator's own (INT sends .nis.nhs.uk).
const (
	gasVersion       = "5.2.7"
	downloadGACURL   = "http://www.gemauth.com/authclient"
	latestGACVersion = "3.9.1"
	ssoDomain        = ".oia.test"
)

// maxRequest bounds a request body.
const maxRequest = 256 << 10

// answer is what an endpoint replies.
type answer struct {
	status      int
	contentType string
	body        []byte
}

type endpointFunc func(r *http.Request, e *Entry, f *Fault) answer

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("POST /login/authactivate", s.endpoint(EndpointActivate, s.activate))
	mux.Handle("POST /login/authvalidate", s.endpoint(EndpointValidate, s.validate))
	mux.Handle("GET /saml/RoleSelectionGP.jsp", s.endpoint(EndpointRoleSelect, s.roleSelect))
	mux.Handle("GET /saml/RoleAssertion", s.endpoint(EndpointRoleAssertion, s.roleAssertion))
	mux.Handle("POST /login/authlogout", s.endpoint(EndpointLogout, s.logout))
	mux.HandleFunc("GET /login/error", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(w, "<html><head><title>Authentication error</title></head><body><p>Authentication failed. Contact your local registration authority.</p></body></html>\n")
	})
	mux.HandleFunc("GET /login/dtd", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/xml-dtd")
		_, _ = io.WriteString(w, "<!ELEMENT gpOBJECT (gpPARAM*)>\n<!ELEMENT gpPARAM (#PCDATA)>\n<!ATTLIST gpPARAM name CDATA #REQUIRED id CDATA #IMPLIED orgcode CDATA #IMPLIED encoding CDATA #IMPLIED>\n")
	})
	return mux
}

// endpoint wraps an endpoint with fault injection and the request log.
func (s *Server) endpoint(name string, fn endpointFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e := Entry{Time: s.now(), Endpoint: name, Method: r.Method, Path: r.URL.Path, UserAgent: r.UserAgent()}
		// The entry is logged before the answer goes out (or the
		// connection is cut), so that a client that has its answer finds
		// the entry in the log.
		logged := false
		logNow := func() {
			if !logged {
				logged = true
				s.log.add(e)
			}
		}
		defer logNow()
		f, faulty := s.faults.take(name, false)
		if faulty {
			e.Fault = f.Kind
			switch f.Kind {
			case FaultDelay:
				t := time.NewTimer(f.Delay)
				select {
				case <-t.C:
				case <-r.Context().Done():
					t.Stop()
					e.Outcome = "the client went away during the injected delay"
					return
				}
			case FaultStatus:
				e.Status, e.Outcome = f.Status, "injected http status"
				logNow()
				w.Header().Set("Content-Type", "text/html")
				w.WriteHeader(f.Status)
				fmt.Fprintf(w, "<html><body><h1>%d %s</h1></body></html>\n", f.Status, http.StatusText(f.Status))
				return
			case FaultReset:
				e.Outcome = "connection reset"
				logNow()
				reset(w)
				return
			case FaultMalformed:
				e.Status, e.Outcome = http.StatusOK, "malformed answer"
				logNow()
				w.Header().Set("Content-Type", "text/html")
				w.WriteHeader(http.StatusOK)
				_, _ = w.Write([]byte("<HTML><BODY>Service temporarily unavailable\x00\xff\xfe <gpPARAM name=\"x\">"))
				return
			}
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxRequest)
		a := fn(r, &e, &f)
		if faulty && f.Kind == FaultTruncate {
			e.Outcome += " (answer cut short)"
			logNow()
			truncate(w, a)
			return
		}
		e.Status = a.status
		logNow()
		w.Header().Set("Content-Type", a.contentType)
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Content-Length", strconv.Itoa(len(a.body)))
		w.WriteHeader(a.status)
		_, _ = w.Write(a.body)
	})
}

// reset takes over the connection and closes it with a TCP reset.
func reset(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return
	}
	raw := conn
	if tc, ok := conn.(*tls.Conn); ok {
		raw = tc.NetConn()
	}
	if tcp, ok := raw.(*net.TCPConn); ok {
		_ = tcp.SetLinger(0)
		_ = tcp.Close()
		return
	}
	_ = conn.Close()
}

// truncate sends the headers of a and half its body, announcing the whole
// length, then closes the connection.
func truncate(w http.ResponseWriter, a answer) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, buf, err := hj.Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	fmt.Fprintf(buf, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n",
		a.status, http.StatusText(a.status), a.contentType, len(a.body))
	_, _ = buf.Write(a.body[:len(a.body)/2])
	_ = buf.Flush()
}

// gpRequest is a parsed request document. Requests come from clients, which
// must send well-formed XML (the genuine one does, and a real broker may
// parse strictly), so the simulator parses them with encoding/xml.
type gpRequest struct {
	XMLName xml.Name `xml:"gpOBJECT"`
	Params  []struct {
		Name     string `xml:"name,attr"`
		Encoding string `xml:"encoding,attr"`
		Value    string `xml:",chardata"`
	} `xml:"gpPARAM"`
}

func readRequest(r *http.Request) (*gpRequest, error) {
	data, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, fmt.Errorf("reading the request: %v", err)
	}
	var g gpRequest
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.Strict = true
	if err := dec.Decode(&g); err != nil {
		return nil, fmt.Errorf("the request is not a well-formed gpOBJECT document: %v", err)
	}
	return &g, nil
}

func (g *gpRequest) get(name string) string {
	for _, p := range g.Params {
		if p.Name == name {
			return strings.TrimSpace(p.Value)
		}
	}
	return ""
}

func (g *gpRequest) redacted() map[string]string {
	m := make(map[string]string, len(g.Params))
	for _, p := range g.Params {
		m[p.Name] = redact(p.Name, strings.TrimSpace(p.Value))
	}
	return m
}

// param is one parameter of an answer. raw values are written unescaped, as
// the genuine broker writes role lines and names (bare &).
type param struct {
	name, value string
	attrs       string
	raw         bool
}

func writeDoc(xmlDecl bool, host string, params []param) []byte {
	var b bytes.Buffer
	if xmlDecl {
		b.WriteString("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n")
	}
	fmt.Fprintf(&b, "<!DOCTYPE USER SYSTEM \"https://%s/login/dtd\">\n<gpOBJECT>\n", host)
	for _, p := range params {
		v := p.value
		if !p.raw {
			v = xmlEscape(v)
		}
		fmt.Fprintf(&b, "<gpPARAM name=\"%s\"%s>%s</gpPARAM>\n", p.name, p.attrs, v)
	}
	b.WriteString("</gpOBJECT>\n")
	return b.Bytes()
}

func xmlEscape(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

func gpAnswer(body []byte) answer {
	return answer{status: http.StatusOK, contentType: "text/xml;charset=UTF-8", body: body}
}

func badRequest(e *Entry, err error) answer {
	e.Outcome = "refused: " + err.Error()
	return answer{status: http.StatusBadRequest, contentType: "text/html", body: []byte("<html><body><h1>400 Bad Request</h1></body></html>\n")}
}

func serverIP(r *http.Request) string {
	if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		if h, _, err := net.SplitHostPort(a.String()); err == nil {
			return h
		}
	}
	return "127.0.0.1"
}

func (s *Server) activate(r *http.Request, e *Entry, f *Fault) answer {
	req, err := readRequest(r)
	if err != nil {
		return badRequest(e, err)
	}
	e.Fields = req.redacted()
	base := "https://" + r.Host
	common := []param{
		{name: "gas_version", value: gasVersion},
	}
	if req.get("service") != "ACTIVATION" || req.get("auth_method") != "3" || req.get("log_session_id") == "" || req.get("device_id") == "" {
		e.Outcome = "refused: not an activation request (service ACTIVATION, auth_method 3, log_session_id and device_id needed)"
		return gpAnswer(writeDoc(false, r.Host, append(common,
			param{name: "log_session_id", value: req.get("log_session_id")},
			param{name: "error_url", value: base + "/login/error"},
		)))
	}
	ch, sig, err := s.chals.issue(s.now())
	if err != nil {
		e.Outcome = "failed: " + err.Error()
		return answer{status: http.StatusInternalServerError, contentType: "text/html", body: []byte("<html><body>internal error</body></html>")}
	}
	reply := base + "/login/authvalidate"
	if f.Kind == FaultForeignURL {
		reply = "https://broker.invalid/login/authvalidate"
	}
	e.Outcome = "challenge issued"
	return gpAnswer(writeDoc(false, r.Host, append(common,
		param{name: "signature", value: sig},
		param{name: "server_ip", value: serverIP(r)},
		param{name: "ssp_url", value: ""},
		param{name: "app_url", value: req.get("app_url")},
		param{name: "log_session_id", value: req.get("log_session_id")},
		param{name: "service", value: "ACTIVATION"},
		param{name: "error_url", value: base + "/login/error"},
		param{name: "ticket", value: ""},
		param{name: "auth_method", value: "3"},
		param{name: "reply_url", value: reply},
		param{name: "challenge", value: ch},
		param{name: "download_gac_url", value: downloadGACURL},
		param{name: "latest_gac_version", value: latestGACVersion},
	)))
}

// checkLogin verifies an authvalidate request; it returns the user, or the
// reason for refusal.
func (s *Server) checkLogin(req *gpRequest) (User, error) {
	if req.get("service") != "AUTHENTICATION" {
		return User{}, errors.New("service is not AUTHENTICATION")
	}
	for _, f := range []string{"challenge", "signature", "uid", "response", "log_session_id", "device_id"} {
		if req.get(f) == "" {
			return User{}, fmt.Errorf("no %s", f)
		}
	}
	challenge, err := s.chals.redeem(req.get("challenge"), req.get("signature"), s.now())
	if err != nil {
		return User{}, err
	}
	der, err := cms.UnwrapResponse(req.get("response"))
	if err != nil {
		return User{}, fmt.Errorf("response: %v", err)
	}
	p7, err := pkcs7.Parse(der)
	if err != nil {
		return User{}, fmt.Errorf("response is not cms signed data: %v", err)
	}
	if !bytes.Equal(p7.Content, challenge) {
		return User{}, errors.New("the signed content is not the challenge")
	}
	if err := p7.Verify(); err != nil {
		return User{}, fmt.Errorf("the signature does not verify: %v", err)
	}
	cert := p7.GetOnlySigner()
	if cert == nil {
		return User{}, errors.New("the signed data does not have exactly one signer")
	}
	if _, err := cert.Verify(x509.VerifyOptions{
		Roots:         s.pki.RootPool(),
		Intermediates: s.pki.IntermediatePool(),
		CurrentTime:   s.now(),
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}); err != nil {
		return User{}, fmt.Errorf("the certificate does not chain to the root: %v", err)
	}
	uid := req.get("uid")
	if cert.Subject.CommonName != uid {
		return User{}, fmt.Errorf("uid %s is not the certificate's CN %s", uid, cert.Subject.CommonName)
	}
	u, ok := s.users[uid]
	if !ok {
		return User{}, fmt.Errorf("unknown user %s", uid)
	}
	return u, nil
}

func (s *Server) validate(r *http.Request, e *Entry, f *Fault) answer {
	req, err := readRequest(r)
	if err != nil {
		return badRequest(e, err)
	}
	e.Fields = req.redacted()
	e.UID = req.get("uid")
	base := "https://" + r.Host
	head := []param{
		{name: "log_session_id", value: req.get("log_session_id")},
		{name: "error_url", value: base + "/login/error"},
		{name: "server_ip", value: serverIP(r)},
	}
	tail := []param{
		{name: "auth_method", value: "3"},
		{name: "app_url", value: req.get("app_url")},
		{name: "service", value: "AUTHENTICATION"},
	}
	user, err := s.checkLogin(req)
	if err != nil {
		// The genuine broker's refusal: the answer has no sso_ticket and
		// keeps error_url.
		e.Outcome = "refused: " + err.Error()
		return gpAnswer(writeDoc(true, r.Host, append(append(head, param{name: "gas_version", value: gasVersion}), tail...)))
	}
	ticket, err := newTicket()
	if err != nil {
		e.Outcome = "failed: " + err.Error()
		return answer{status: http.StatusInternalServerError, contentType: "text/html", body: []byte("<html><body>internal error</body></html>")}
	}
	now := s.now()
	if err := s.tickets.add(ticket, &session{UID: user.UID, LogSessionID: req.get("log_session_id"), Created: now, LastUsed: now}, now); err != nil {
		e.Outcome = "failed: saving the ticket: " + err.Error()
		return answer{status: http.StatusInternalServerError, contentType: "text/html", body: []byte("<html><body>internal error</body></html>")}
	}
	params := append(head, param{name: "cn", value: user.Name, raw: true})
	for i, role := range user.Roles {
		params = append(params, param{
			name:  "nhsjobrole" + strconv.Itoa(i),
			attrs: fmt.Sprintf(` id="%s" orgcode="%s"`, xmlEscape(role.ID), xmlEscape(role.OrgCode)),
			value: role.line(),
			raw:   true,
		})
	}
	logout := base + "/login/authlogout"
	if f.Kind == FaultForeignURL {
		logout = "https://broker.invalid/login/authlogout"
	}
	secs := strconv.Itoa(int(s.opts.SessionTime / time.Second))
	params = append(params,
		param{name: "gas_version", value: gasVersion},
		param{name: "sso_ticket", value: ticket},
		param{name: "sso_domain", value: ssoDomain},
		param{name: "sso_session_url", value: base + "/sessionmanager/session/update"},
		param{name: "sso_max_session_time", value: strconv.Itoa(int(s.opts.MaxSessionTime / time.Second))},
		param{name: "sso_keep_alive", value: "false"},
		param{name: "sso_session_time", value: secs},
		param{name: "sso_logout_url", value: logout},
	)
	e.Outcome = "ticket issued"
	return gpAnswer(writeDoc(true, r.Host, append(params, tail...)))
}

func statusPage(ok bool) answer {
	status := "OK"
	if !ok {
		status = "FAILED"
	}
	return answer{status: http.StatusOK, contentType: "text/html", body: []byte("<HTML><STATUS>" + status + "</STATUS></HTML>")}
}

func queryFields(r *http.Request) map[string]string {
	m := map[string]string{}
	for k, v := range r.URL.Query() {
		if len(v) > 0 {
			m[k] = redact(k, v[0])
		}
	}
	return m
}

func (s *Server) roleSelect(r *http.Request, e *Entry, _ *Fault) answer {
	e.Fields = queryFields(r)
	q := r.URL.Query()
	ticket, roleID := q.Get("token"), q.Get("selectedRoleUid")
	var refusal string
	sess := s.tickets.use(ticket, s.now(), func(ss *session) {
		u := s.users[ss.UID]
		for _, role := range u.Roles {
			if role.ID == roleID {
				ss.RoleID = roleID
				return
			}
		}
		refusal = "refused: the user does not hold role " + roleID
	})
	switch {
	case sess == nil:
		e.Outcome = "refused: unknown or expired ticket"
		return statusPage(false)
	case refusal != "":
		e.UID, e.Outcome = sess.UID, refusal
		return statusPage(false)
	}
	e.UID, e.Outcome = sess.UID, "role "+roleID+" selected"
	return statusPage(true)
}

func (s *Server) logout(r *http.Request, e *Entry, _ *Fault) answer {
	req, err := readRequest(r)
	if err != nil {
		return badRequest(e, err)
	}
	e.Fields = req.redacted()
	e.UID = req.get("uid")
	if req.get("service") != "LOGOUT" {
		e.Outcome = "refused: service is not LOGOUT"
		return statusPage(false)
	}
	if !s.tickets.remove(req.get("sso_ticket"), s.now()) {
		e.Outcome = "refused: unknown or expired ticket"
		return statusPage(false)
	}
	e.Outcome = "ticket destroyed"
	return statusPage(true)
}
