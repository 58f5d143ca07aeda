// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package card

import (
	"crypto"
	"crypto/rsa"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/miekg/pkcs11"
	"github.com/openidentityagent/oia/host/protocol"
)

// MaxSignMessage bounds what [Signer.SignMessage] sends to a card.
const MaxSignMessage = 64 << 10

// digestInfoPrefix is the DER DigestInfo before the digest, for CKM_RSA_PKCS
// (RFC 8017 §9.2 note 1).
var digestInfoPrefix = map[crypto.Hash][]byte{
	crypto.SHA1:   {0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14},
	crypto.SHA256: {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20},
	crypto.SHA384: {0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30},
	crypto.SHA512: {0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40},
}

// hashingMechanism is the mechanism with which the card hashes for itself.
var hashingMechanism = map[crypto.Hash]uint{
	crypto.SHA1:   pkcs11.CKM_SHA1_RSA_PKCS,
	crypto.SHA256: pkcs11.CKM_SHA256_RSA_PKCS,
	crypto.SHA384: pkcs11.CKM_SHA384_RSA_PKCS,
	crypto.SHA512: pkcs11.CKM_SHA512_RSA_PKCS,
}

// Signer signs with the card's login key (RSASSA-PKCS1-v1_5). It is a
// [crypto.MessageSigner]: given the whole message (SignMessage, which
// host/cms uses) it lets the card hash when the card lists the hashing
// mechanism (CKM_SHA1_RSA_PKCS, CKM_SHA256_RSA_PKCS), as the genuine
// Identity Agent did; given a digest (Sign), or when the card cannot hash,
// it signs a DigestInfo built here with CKM_RSA_PKCS. Both give the same
// signature.
//
// Its methods are safe for concurrent use; they share the session's lock.
type Signer struct {
	s      *Session
	key    pkcs11.ObjectHandle
	pub    *rsa.PublicKey
	always bool // CKA_ALWAYS_AUTHENTICATE
	// PIN, when set, gives the passcode for keys that need it for every
	// signature (CKA_ALWAYS_AUTHENTICATE) on cards without a PIN pad. It is
	// called once per signature and its result is not kept.
	PIN func() (string, error)
}

var (
	_ crypto.Signer        = (*Signer)(nil)
	_ crypto.MessageSigner = (*Signer)(nil)
)

// Signer returns a signer over the private key paired with the login
// certificate. It needs a logged-in session: NO_KEY_FOUND when no private
// key has the certificate's CKA_ID (or the session is not logged in, when
// the card hides private objects), CARD_AMBIGUOUS when several do.
//
// It returns a [crypto.Signer], what signing code takes; its dynamic type
// is *[Signer], a [crypto.MessageSigner].
func (s *Session) Signer() (crypto.Signer, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, err := s.loadIdentity()
	if err != nil {
		return nil, err
	}
	pub, ok := id.Cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return nil, protocol.Wrap(protocol.CodeNoCertFound, fmt.Errorf("the login certificate %q holds no rsa key", id.Label))
	}
	if len(id.KeyID) == 0 {
		return nil, protocol.Wrap(protocol.CodeNoKeyFound, fmt.Errorf("the login certificate %q has no CKA_ID to pair it with a key", id.Label))
	}
	hs, err := s.find([]*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_PRIVATE_KEY),
		pkcs11.NewAttribute(pkcs11.CKA_ID, id.KeyID),
	}, 2)
	if err != nil {
		return nil, err
	}
	switch len(hs) {
	case 0:
		if !s.loggedIn {
			return nil, protocol.Errorf(protocol.CodeInvalidState, "the card's key is only found after login: %w", fmt.Errorf("no private key with CKA_ID %x visible before login", id.KeyID))
		}
		return nil, protocol.Wrap(protocol.CodeNoKeyFound, fmt.Errorf("no private key with CKA_ID %x for certificate %q on %v", id.KeyID, id.Label, s.token))
	case 1:
	default:
		return nil, protocol.Wrap(protocol.CodeCardAmbiguous, fmt.Errorf("several private keys have CKA_ID %x on %v", id.KeyID, s.token))
	}
	sg := &Signer{s: s, key: hs[0], pub: pub}
	var attrs []*pkcs11.Attribute
	err = s.do(opGetAttribute, func(p p11) (err error) {
		attrs, err = p.GetAttributeValue(s.sh, hs[0], []*pkcs11.Attribute{
			pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, nil),
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	if kt, ok := ulong(attrs[0].Value); ok && kt != pkcs11.CKK_RSA {
		return nil, protocol.Wrap(protocol.CodeNoKeyFound, fmt.Errorf("the key with CKA_ID %x is not rsa (key type %#x)", id.KeyID, kt))
	}
	// CKA_ALWAYS_AUTHENTICATE is absent on many tokens (an error): false.
	_ = s.do(opGetAttribute, func(p p11) error {
		a, err := p.GetAttributeValue(s.sh, hs[0], []*pkcs11.Attribute{
			pkcs11.NewAttribute(pkcs11.CKA_ALWAYS_AUTHENTICATE, nil),
		})
		if err == nil && len(a) == 1 && len(a[0].Value) == 1 {
			sg.always = a[0].Value[0] != 0
		}
		return nil
	})
	if s.mechs == nil {
		var ms []*pkcs11.Mechanism
		err := s.do(opGetMechanismList, func(p p11) (err error) {
			ms, err = p.GetMechanismList(s.token.Slot)
			return err
		})
		if err != nil {
			return nil, err
		}
		s.mechs = map[uint]bool{}
		for _, m := range ms {
			s.mechs[m.Mechanism] = true
		}
	}
	return sg, nil
}

// ulong decodes a CK_ULONG attribute, which is 4 or 8 bytes in the
// platform's byte order.
func ulong(v []byte) (uint, bool) {
	switch len(v) {
	case 4:
		return uint(binary.NativeEndian.Uint32(v)), true
	case 8:
		return uint(binary.NativeEndian.Uint64(v)), true
	}
	return 0, false
}

// Public returns the public key from the login certificate.
func (g *Signer) Public() crypto.PublicKey { return g.pub }

// Sign signs digest, the opts.HashFunc() hash of a message, with CKM_RSA_PKCS
// over its DigestInfo. With a zero hash, digest is signed as given (the
// caller built the DigestInfo). RSA-PSS is not supported: NHS cards and the
// broker use PKCS#1 v1.5.
func (g *Signer) Sign(_ io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	if _, pss := opts.(*rsa.PSSOptions); pss {
		return nil, protocol.Errorf(protocol.CodeInternal, "card: rsa-pss is not supported: sign with pkcs#1 v1.5")
	}
	h := opts.HashFunc()
	var input []byte
	if h == 0 {
		if len(digest) > g.pub.Size()-11 {
			return nil, protocol.Errorf(protocol.CodeInternal, "card: %d bytes are too many to sign with a %d-bit key", len(digest), g.pub.Size()*8)
		}
		input = digest
	} else {
		prefix, ok := digestInfoPrefix[h]
		if !ok {
			return nil, protocol.Errorf(protocol.CodeInternal, "card: hash %v is not supported: use sha-1 or sha-2", h)
		}
		if len(digest) != h.Size() {
			return nil, protocol.Errorf(protocol.CodeInternal, "card: the digest is %d bytes, not the %d of %v", len(digest), h.Size(), h)
		}
		input = append(append(make([]byte, 0, len(prefix)+len(digest)), prefix...), digest...)
	}
	g.s.mu.Lock()
	defer g.s.mu.Unlock()
	if !g.s.mechs[pkcs11.CKM_RSA_PKCS] {
		return nil, protocol.Wrap(protocol.CodeCardError, fmt.Errorf("card %v does not list CKM_RSA_PKCS, so it cannot sign a digest: sign the message (SignMessage)", g.s.token))
	}
	return g.sign(pkcs11.CKM_RSA_PKCS, input)
}

// SignMessage signs msg with the hash opts.HashFunc(), letting the card
// hash when it lists the matching CKM_SHAx_RSA_PKCS mechanism, else hashing
// here and calling [Signer.Sign].
func (g *Signer) SignMessage(rand io.Reader, msg []byte, opts crypto.SignerOpts) ([]byte, error) {
	if len(msg) > MaxSignMessage {
		return nil, protocol.Errorf(protocol.CodeInternal, "card: a %d-byte message is more than the %d a card is given", len(msg), MaxSignMessage)
	}
	h := opts.HashFunc()
	if _, pss := opts.(*rsa.PSSOptions); !pss && h != 0 {
		g.s.mu.Lock()
		mech, ok := hashingMechanism[h]
		if ok && g.s.mechs[mech] {
			defer g.s.mu.Unlock()
			return g.sign(mech, msg)
		}
		g.s.mu.Unlock()
	}
	if h == 0 || !h.Available() {
		return nil, protocol.Errorf(protocol.CodeInternal, "card: hash %v is not supported for a message", h)
	}
	d := h.New()
	d.Write(msg)
	return g.Sign(rand, d.Sum(nil), opts)
}

// sign runs C_SignInit (with a context-specific login for
// always-authenticate keys) and C_Sign. The caller holds the session lock.
func (g *Signer) sign(mech uint, input []byte) ([]byte, error) {
	s := g.s
	if !s.loggedIn {
		return nil, protocol.Errorf(protocol.CodeInvalidState, "card: sign before login: log in first")
	}
	err := s.do(opSignInit, func(p p11) error {
		return p.SignInit(s.sh, []*pkcs11.Mechanism{pkcs11.NewMechanism(mech, nil)}, g.key)
	})
	if err != nil {
		return nil, err
	}
	if g.always {
		if err := g.contextLogin(); err != nil {
			return nil, err
		}
	}
	var sig []byte
	err = s.do(opSign, func(p p11) (err error) {
		sig, err = p.Sign(s.sh, input)
		return err
	})
	return sig, err
}

// contextLogin gives the passcode again for an always-authenticate key.
func (g *Signer) contextLogin() error {
	st, err := g.s.pinStatus()
	if err != nil {
		return err
	}
	pin := ""
	if !st.PINPad {
		if g.PIN == nil {
			return protocol.Wrap(protocol.CodeCardError, fmt.Errorf("the key on %v needs the passcode for every signature (CKA_ALWAYS_AUTHENTICATE) and no passcode source is set", g.s.token))
		}
		if pin, err = g.PIN(); err != nil {
			return err
		}
		if err := CheckPIN(pin, st); err != nil {
			return loginError(protocol.CodePINInvalid, st, err)
		}
	}
	err = g.s.do(opLogin, func(p p11) error { return p.Login(g.s.sh, pkcs11.CKU_CONTEXT_SPECIFIC, pin) })
	if err != nil {
		after, serr := g.s.pinStatus()
		if serr != nil {
			return err
		}
		var cause error = err
		if pe, ok := err.(*protocol.Error); ok {
			cause = pe.Err
		}
		return loginError(protocol.CodeOf(err), after, cause)
	}
	return nil
}
