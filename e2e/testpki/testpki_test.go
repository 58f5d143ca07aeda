// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package testpki

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestPKI_UserChainsToRoot(t *testing.T) {
	p, err := New()
	if err != nil {
		t.Fatal(err)
	}
	u, err := p.IssueUser("555000111222", "Jane Smith")
	if err != nil {
		t.Fatal(err)
	}
	if u.Cert.Subject.CommonName != "555000111222" {
		t.Errorf("CN = %q, want the user id", u.Cert.Subject.CommonName)
	}
	if err := p.VerifyUser(u.Cert); err != nil {
		t.Errorf("user certificate does not verify: %v", err)
	}
	other, err := New()
	if err != nil {
		t.Fatal(err)
	}
	if err := other.VerifyUser(u.Cert); err == nil {
		t.Error("a user certificate verified against another PKI's root")
	}
	if _, err := p.IssueUser("12345", "x"); err == nil {
		t.Error("a user id that is not 12 digits was accepted")
	}
}

func TestPKI_SaveLoad(t *testing.T) {
	dir := t.TempDir()
	p, err := LoadOrCreate(dir)
	if err != nil {
		t.Fatal(err)
	}
	q, err := LoadOrCreate(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !p.Root.Cert.Equal(q.Root.Cert) || !p.Issuing.Key.Equal(q.Issuing.Key) {
		t.Error("LoadOrCreate made a new PKI where one was saved")
	}
}

func TestPKI_ServerCertificate(t *testing.T) {
	p, err := New()
	if err != nil {
		t.Fatal(err)
	}
	cert, err := p.IssueServer("127.0.0.1", "localhost")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.StartTLS()
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: p.RootPool()}}}
	resp, err := client.Get(srv.URL)
	if err != nil {
		t.Fatalf("verified TLS to the test server failed: %v", err)
	}
	resp.Body.Close()
	if _, err := (&http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: x509.NewCertPool()}}}).Get(srv.URL); err == nil {
		t.Error("TLS succeeded without trusting the test root")
	}
	if ip := net.ParseIP("127.0.0.1"); !cert.Leaf.IPAddresses[0].Equal(ip) {
		t.Errorf("IP SAN = %v", cert.Leaf.IPAddresses)
	}
}
