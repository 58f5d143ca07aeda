// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package doctor

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/openidentityagent/oia/host/config"
)

// TLSProber checks the broker with one HEAD request to its base URL,
// verified against the system roots plus the configuration's caBundle (the
// trust the host's broker client uses). HEAD of the base URL creates no
// session or challenge on the broker, unlike the login calls; any HTTP
// answer proves the broker is reachable over verified TLS.
type TLSProber struct {
	// Timeout bounds the request; zero means 10 seconds.
	Timeout time.Duration
}

var _ BrokerProber = TLSProber{}

// maxCABundle bounds the CA bundle file.
const maxCABundle = 4 << 20

// Probe implements [BrokerProber].
func (p TLSProber) Probe(ctx context.Context, cfg *config.Config) (string, error) {
	u, err := cfg.BrokerBaseURL()
	if err != nil {
		return "", err
	}
	if u.Scheme != "https" {
		return "", fmt.Errorf("broker URL %s is not https", u)
	}
	roots, err := x509.SystemCertPool()
	if err != nil || roots == nil {
		roots = x509.NewCertPool()
	}
	if cfg.CABundle != "" {
		f, err := os.Open(cfg.CABundle)
		if err != nil {
			return "", fmt.Errorf("caBundle: %w", err)
		}
		pem, err := io.ReadAll(io.LimitReader(f, maxCABundle))
		f.Close()
		if err != nil {
			return "", fmt.Errorf("caBundle: %w", err)
		}
		if !roots.AppendCertsFromPEM(pem) {
			return "", fmt.Errorf("caBundle %s holds no PEM certificate", cfg.CABundle)
		}
	}
	timeout := p.Timeout
	if timeout == 0 {
		timeout = 10 * time.Second
	}
	hc := &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			Proxy:           http.ProxyFromEnvironment,
			TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	defer hc.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, u.String(), nil)
	if err != nil {
		return "", err
	}
	resp, err := hc.Do(req)
	if err != nil {
		var uerr x509.UnknownAuthorityError
		if errors.As(err, &uerr) {
			return "", fmt.Errorf("TLS certificate not trusted (%v)", uerr)
		}
		return "", err
	}
	resp.Body.Close()
	return fmt.Sprintf("answers over verified TLS (%s, HTTP %d)", tlsVersion(resp.TLS), resp.StatusCode), nil
}

func tlsVersion(s *tls.ConnectionState) string {
	if s == nil {
		return "no TLS"
	}
	return tls.VersionName(s.Version)
}
