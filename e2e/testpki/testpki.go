// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

// Package testpki makes a throw-away public-key infrastructure shaped like the
// NHS one, for tests and the demo: a root and an issuing authority named like
// the NHS G2 ones, smartcard user certificates whose CN is a 12-digit user id,
// and TLS server certificates for loopback servers (the broker simulator, the
// sample app). All keys are RSA-2048, made at run time; none is committed.
//
// A PKI is made in memory with [New], or kept in a directory with [Save] and
// [Load] so that separate processes (host, simulator, sample app) share one
// trust anchor. [LoadOrCreate] does either.
package testpki

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"time"
)

// Names of the test authorities, after "NHS Root Authority G2" and
// "NHS Authentication G2".
const (
	RootName    = "OIA Test Root Authority G2"
	IssuingName = "OIA Test Authentication G2"
)

// File names inside a PKI directory.
const (
	RootCertFile    = "root.pem"    // the trust anchor: give this to clients as the CA bundle
	RootKeyFile     = "root.key"    // PKCS#8
	IssuingCertFile = "issuing.pem" // the authority that signs user certificates
	IssuingKeyFile  = "issuing.key" // PKCS#8
	ChainFile       = "chain.pem"   // issuing then root, for verifying user certificates
)

// KeyBits is the size of every RSA key the package makes.
const KeyBits = 2048

// Authority is a certificate with its private key.
type Authority struct {
	Cert *x509.Certificate
	Key  *rsa.PrivateKey
}

// PKI is a root authority and the issuing authority below it.
type PKI struct {
	Root    Authority
	Issuing Authority
}

// User is a smartcard holder's authentication certificate and key.
type User struct {
	UID  string
	Name string
	Cert *x509.Certificate
	Key  *rsa.PrivateKey
}

var uidPattern = regexp.MustCompile(`^[0-9]{12}$`)

// New makes a fresh PKI in memory.
func New() (*PKI, error) {
	now := time.Now()
	rootKey, err := rsa.GenerateKey(rand.Reader, KeyBits)
	if err != nil {
		return nil, err
	}
	root := &x509.Certificate{
		Subject:               pkix.Name{Organization: []string{"nhs"}, OrganizationalUnit: []string{"CA"}, CommonName: RootName},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	rootCert, err := sign(root, root, &rootKey.PublicKey, rootKey)
	if err != nil {
		return nil, err
	}
	issKey, err := rsa.GenerateKey(rand.Reader, KeyBits)
	if err != nil {
		return nil, err
	}
	iss := &x509.Certificate{
		Subject:               pkix.Name{Organization: []string{"nhs"}, OrganizationalUnit: []string{"CA"}, CommonName: IssuingName},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(5, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	issCert, err := sign(iss, rootCert, &issKey.PublicKey, rootKey)
	if err != nil {
		return nil, err
	}
	return &PKI{Root: Authority{rootCert, rootKey}, Issuing: Authority{issCert, issKey}}, nil
}

func sign(tmpl, parent *x509.Certificate, pub crypto.PublicKey, key *rsa.PrivateKey) (*x509.Certificate, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 126))
	if err != nil {
		return nil, err
	}
	tmpl.SerialNumber = serial
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, key)
	if err != nil {
		return nil, fmt.Errorf("testpki: sign %q: %w", tmpl.Subject.CommonName, err)
	}
	return x509.ParseCertificate(der)
}

// IssueUser makes a smartcard authentication certificate for uid (12 digits),
// with subject O=nhs, OU=people, CN=uid as on real NHS cards. name is kept
// with the user for tests; real cards do not carry it in the certificate.
func (p *PKI) IssueUser(uid, name string) (*User, error) {
	if !uidPattern.MatchString(uid) {
		return nil, fmt.Errorf("testpki: user id %q is not 12 digits", uid)
	}
	key, err := rsa.GenerateKey(rand.Reader, KeyBits)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{Organization: []string{"nhs"}, OrganizationalUnit: []string{"people"}, CommonName: uid},
		NotBefore:   now.Add(-time.Hour),
		NotAfter:    now.AddDate(2, 0, 0),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	cert, err := sign(tmpl, p.Issuing.Cert, &key.PublicKey, p.Issuing.Key)
	if err != nil {
		return nil, err
	}
	return &User{UID: uid, Name: name, Cert: cert, Key: key}, nil
}

// IssueServer makes a TLS server certificate for hosts (names or IP
// addresses), signed by the issuing authority. The returned certificate
// carries the issuing certificate as its chain.
func (p *PKI) IssueServer(hosts ...string) (tls.Certificate, error) {
	key, err := rsa.GenerateKey(rand.Reader, KeyBits)
	if err != nil {
		return tls.Certificate{}, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{Organization: []string{"nhs"}, CommonName: hosts[0]},
		NotBefore:   now.Add(-time.Hour),
		NotAfter:    now.AddDate(1, 0, 0),
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	cert, err := sign(tmpl, p.Issuing.Cert, &key.PublicKey, p.Issuing.Key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{
		Certificate: [][]byte{cert.Raw, p.Issuing.Cert.Raw},
		PrivateKey:  key,
		Leaf:        cert,
	}, nil
}

// RootPool returns a pool holding only the root: what a client of a test
// server trusts.
func (p *PKI) RootPool() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(p.Root.Cert)
	return pool
}

// IntermediatePool returns a pool holding the issuing authority, for
// verifying user certificates with [x509.VerifyOptions].
func (p *PKI) IntermediatePool() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(p.Issuing.Cert)
	return pool
}

// VerifyUser checks that cert chains to the root through the issuing
// authority and is valid now for client authentication.
func (p *PKI) VerifyUser(cert *x509.Certificate) error {
	_, err := cert.Verify(x509.VerifyOptions{
		Roots:         p.RootPool(),
		Intermediates: p.IntermediatePool(),
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
	return err
}

// Save writes the PKI to dir (made if missing), keys with mode 0600.
func (p *PKI) Save(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		data []byte
		mode os.FileMode
	}{
		{RootCertFile, CertPEM(p.Root.Cert), 0o644},
		{IssuingCertFile, CertPEM(p.Issuing.Cert), 0o644},
		{ChainFile, append(CertPEM(p.Issuing.Cert), CertPEM(p.Root.Cert)...), 0o644},
		{RootKeyFile, KeyPEM(p.Root.Key), 0o600},
		{IssuingKeyFile, KeyPEM(p.Issuing.Key), 0o600},
	} {
		if err := os.WriteFile(filepath.Join(dir, f.name), f.data, f.mode); err != nil {
			return err
		}
	}
	return nil
}

// Load reads a PKI written by [Save].
func Load(dir string) (*PKI, error) {
	var p PKI
	var err error
	if p.Root.Cert, err = ReadCert(filepath.Join(dir, RootCertFile)); err != nil {
		return nil, err
	}
	if p.Root.Key, err = ReadKey(filepath.Join(dir, RootKeyFile)); err != nil {
		return nil, err
	}
	if p.Issuing.Cert, err = ReadCert(filepath.Join(dir, IssuingCertFile)); err != nil {
		return nil, err
	}
	if p.Issuing.Key, err = ReadKey(filepath.Join(dir, IssuingKeyFile)); err != nil {
		return nil, err
	}
	return &p, nil
}

// LoadOrCreate loads the PKI in dir, or makes and saves a new one when dir
// holds none.
func LoadOrCreate(dir string) (*PKI, error) {
	p, err := Load(dir)
	if err == nil {
		return p, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if p, err = New(); err != nil {
		return nil, err
	}
	return p, p.Save(dir)
}

// CertPEM encodes cert as PEM.
func CertPEM(cert *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})
}

// KeyPEM encodes key as PKCS#8 PEM.
func KeyPEM(key *rsa.PrivateKey) []byte {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		panic(err) // cannot happen for a valid RSA key
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// ReadCert reads the first certificate of a PEM file.
func ReadCert(path string) (*x509.Certificate, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("testpki: %s holds no PEM certificate", path)
	}
	return x509.ParseCertificate(blk.Bytes)
}

// ReadKey reads a PKCS#8 (or PKCS#1) RSA private key from a PEM file.
func ReadKey(path string) (*rsa.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, fmt.Errorf("testpki: %s holds no PEM key", path)
	}
	if k, err := x509.ParsePKCS1PrivateKey(blk.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("testpki: %s: %w", path, err)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("testpki: %s is not an rsa key", path)
	}
	return rk, nil
}
