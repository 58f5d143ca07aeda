// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

// Package cms builds the signed challenge that the Spine Security Broker
// expects in authvalidate, and reads it back for the broker simulator.
//
// # The profile
//
// [Sign] makes a CMS (PKCS#7) SignedData exactly like the genuine NHS
// Identity Agent's (docs/card.md; docs/references.md, "Broker: CMS profile"):
//
//	ContentInfo { pkcs7-signedData
//	  SignedData v1
//	    digestAlgorithms { sha1 (or sha256), NULL }
//	    encapContentInfo { pkcs7-data, [0] OCTET STRING = challenge }  -- attached
//	    certificates [0] { the user's authentication certificate }     -- no chain
//	    signerInfos { v1, issuerAndSerialNumber, sha1/NULL,
//	                  signedAttrs ABSENT, rsaEncryption/NULL,
//	                  signature = RSASSA-PKCS1-v1_5 over SHA-1(challenge) } }
//
// There are no signed or unsigned attributes, no CRLs and no certificates
// other than the signer's.
//
// # The wrapping
//
// [WrapResponse] puts the DER behind an S/MIME-style header and base64-encodes
// the whole again; the result is the authvalidate "response" parameter.
// [UnwrapResponse] is its lenient inverse.
//
// # Signers
//
// Sign takes any [crypto.Signer] over an RSA key whose public half is in the
// certificate. When the signer also implements [crypto.MessageSigner] it is
// given the challenge itself rather than its digest, so that a smartcard can
// hash on the card (CKM_SHA1_RSA_PKCS); otherwise it is given the digest.
// Errors from the signer are returned wrapped, so a smartcard's
// [protocol.Error] code (CARD_REMOVED, …) survives.
package cms

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"

	"github.com/openidentityagent/oia/host/protocol"
	"go.mozilla.org/pkcs7"
)

// MaxChallengeSize bounds the challenge Sign accepts. Observed challenges
// are 48 bytes; anything near this limit is not a broker challenge.
const MaxChallengeSize = 4 << 10

// Sign returns the DER of a CMS SignedData over content in the NHS profile
// (see the package doc): content attached, no signed attributes, cert
// embedded, signed by signer with RSASSA-PKCS1-v1_5.
//
// hash is crypto.SHA1 (what every genuine capture uses, and the default when
// hash is 0) or crypto.SHA256. cert must hold an RSA key, and signer must be
// its private half: the signature is checked against cert before Sign
// returns, so a card whose key does not match its certificate is caught here
// rather than by the broker.
//
// Sign is safe for concurrent use when signer is.
func Sign(content []byte, cert *x509.Certificate, signer crypto.Signer, hash crypto.Hash) ([]byte, error) {
	if hash == 0 {
		hash = crypto.SHA1
	}
	digestOID, ok := digestOIDs[hash]
	if !ok {
		return nil, protocol.Errorf(protocol.CodeInternal, "cms: hash %v is not supported: use sha-1 or sha-256", hash)
	}
	switch {
	case len(content) == 0:
		return nil, protocol.Errorf(protocol.CodeBadRequest, "cms: the challenge is empty")
	case len(content) > MaxChallengeSize:
		return nil, protocol.Errorf(protocol.CodeBadRequest, "cms: the challenge is %d bytes, more than the %d allowed", len(content), MaxChallengeSize)
	case cert == nil || signer == nil:
		return nil, protocol.Errorf(protocol.CodeInternal, "cms: a certificate and a signer are both needed")
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return nil, protocol.Errorf(protocol.CodeCardError, "cms: the certificate holds a %v key, not rsa: the nhs profile needs an rsa authentication certificate", cert.PublicKeyAlgorithm)
	}

	sd, err := pkcs7.NewSignedData(content)
	if err != nil {
		return nil, fmt.Errorf("cms: %w", err)
	}
	sd.SetDigestAlgorithm(digestOID)
	sd.SetEncryptionAlgorithm(pkcs7.OIDEncryptionAlgorithmRSA)
	// SignWithoutAttr is the only pkcs7 entry point that accepts an opaque
	// crypto.Signer (AddSigner type-switches on *rsa.PrivateKey), and it
	// leaves signedAttrs absent, as the profile wants.
	ms := &messageSigner{signer: signer, content: content}
	if err := sd.SignWithoutAttr(cert, ms, pkcs7.SignerInfoConfig{}); err != nil {
		if ms.err != nil {
			return nil, ms.err // the card's own error, with its code
		}
		return nil, fmt.Errorf("cms: sign: %w", err)
	}
	// pkcs7 leaves the AlgorithmIdentifier parameters absent; the genuine
	// capture has NULL, as RFC 3370 §2.1 and §3.2 recommend for rsaEncryption.
	raw := sd.GetSignedData()
	for i := range raw.DigestAlgorithmIdentifiers {
		raw.DigestAlgorithmIdentifiers[i].Parameters = asn1.NullRawValue
	}
	for i := range raw.SignerInfos {
		raw.SignerInfos[i].DigestAlgorithm.Parameters = asn1.NullRawValue
		raw.SignerInfos[i].DigestEncryptionAlgorithm.Parameters = asn1.NullRawValue
	}
	if err := rsa.VerifyPKCS1v15(pub, hash, ms.digest, ms.sig); err != nil {
		return nil, protocol.Errorf(protocol.CodeNoKeyFound, "cms: the card's signature does not match its certificate: %w", err)
	}
	der, err := sd.Finish()
	if err != nil {
		return nil, fmt.Errorf("cms: encode: %w", err)
	}
	return der, nil
}

// digestOIDs are the hashes the profile allows.
var digestOIDs = map[crypto.Hash]asn1.ObjectIdentifier{
	crypto.SHA1:   pkcs7.OIDDigestAlgorithmSHA1,
	crypto.SHA256: pkcs7.OIDDigestAlgorithmSHA256,
}

// messageSigner adapts a crypto.Signer for pkcs7, which calls Sign with the
// digest of content: it hands the signer the whole content when the signer
// can hash it itself, and remembers the digest and signature for the check
// in Sign and the signer's own error for the caller.
type messageSigner struct {
	signer  crypto.Signer
	content []byte

	digest, sig []byte
	err         error
}

var _ crypto.Signer = (*messageSigner)(nil)

func (m *messageSigner) Public() crypto.PublicKey { return m.signer.Public() }

func (m *messageSigner) Sign(rand io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	h := opts.HashFunc().New()
	h.Write(m.content)
	if !bytes.Equal(h.Sum(nil), digest) {
		// pkcs7 signs the content we gave it; anything else is a bug.
		return nil, errors.New("cms: pkcs7 asked to sign a digest of other content")
	}
	m.digest = digest
	sig, err := crypto.SignMessage(m.signer, rand, m.content, opts)
	if err != nil {
		m.err = err
		return nil, err
	}
	m.sig = sig
	return sig, nil
}
