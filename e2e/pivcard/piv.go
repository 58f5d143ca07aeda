// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package pivcard

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"sync"
)

// Instruction bytes the card implements.
const (
	insSelect      = 0xA4
	insGetData     = 0xCB
	insVerify      = 0x20
	insGenAuth     = 0x87
	insGetResponse = 0xC0
)

// Key and PIN references (SP 800-73-4 Part 1, table 4).
const (
	keyAuth   = 0x9A // PIV authentication
	keyAdmin  = 0x9B // card management (only its challenge is answered)
	pinPIV    = 0x80
	algRSA2K  = 0x07
	algTDES   = 0x03
	maxChain  = 4096 // bytes a chained command may carry in all
	maxPINLen = 8
)

// MaxTries is how many wrong passcodes block the PIN, as on NHS cards.
const MaxTries = 3

// AID is the PIV application identifier (SP 800-73-4 Part 1, 2.2).
var AID = []byte{0xA0, 0x00, 0x00, 0x03, 0x08, 0x00, 0x00, 0x10, 0x00, 0x01, 0x00}

// ATR is the card's answer to reset: T=1, with the PIV AID in the
// historical bytes (compact-TLV tag F), from which OpenSC's PIV driver
// recognises a PIV card without a vendor quirk list
// (OpenSC src/libopensc/card-piv.c, piv_match_card_continued: SC_CARD_TYPE_PIV_II_HIST).
var ATR = func() []byte {
	hist := append([]byte{0x80, 0xF9}, AID[:9]...)
	atr := append([]byte{0x3B, 0x80 | byte(len(hist)), 0x80, 0x01}, hist...)
	var tck byte
	for _, b := range atr[1:] {
		tck ^= b
	}
	return append(atr, tck)
}()

// Card is one virtual PIV card: a cardholder certificate and RSA-2048 key
// in slot 9A, a PIN with a retry counter, and a GUID that OpenSC uses as
// the token serial. Its methods are safe for concurrent use; its state
// survives removal (a card keeps its counter in the reader and out).
type Card struct {
	// GUID is the card's identity in its CHUID.
	GUID [16]byte
	cert *x509.Certificate
	key  *rsa.PrivateKey

	mu       sync.Mutex
	pin      []byte
	tries    int
	verified bool   // PIN verified since power-on
	chain    []byte // data of a chained command so far
	chainHdr [4]byte
	pending  []byte // response data waiting for GET RESPONSE
	verifies int    // VERIFY commands that carried a passcode
}

// New makes a card for cert and key with passcode pin (4 to 8 digits).
func New(cert *x509.Certificate, key *rsa.PrivateKey, pin string) (*Card, error) {
	if len(pin) < 4 || len(pin) > maxPINLen {
		return nil, fmt.Errorf("pivcard: the PIN must have 4 to 8 characters")
	}
	if key.N.BitLen() != 2048 {
		return nil, fmt.Errorf("pivcard: the key must be RSA-2048, not %d bits", key.N.BitLen())
	}
	c := &Card{cert: cert, key: key, pin: []byte(pin), tries: MaxTries}
	if _, err := rand.Read(c.GUID[:]); err != nil {
		return nil, err
	}
	return c, nil
}

// Serial is the token serial OpenSC shows for the card: the GUID in hex,
// cut to the last 16 characters of CK_TOKEN_INFO.serialNumber.
func (c *Card) Serial() string { return hex.EncodeToString(c.GUID[8:]) }

// Certificate is the certificate in slot 9A.
func (c *Card) Certificate() *x509.Certificate { return c.cert }

// TriesLeft is the PIN retry counter.
func (c *Card) TriesLeft() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.tries
}

// Verifies counts VERIFY commands that carried a passcode (not the empty
// ones that read the counter).
func (c *Card) Verifies() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.verifies
}

// Lock blocks the PIN, as three wrong passcodes do.
func (c *Card) Lock() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.tries, c.verified = 0, false
}

// Unlock resets the retry counter (a PUK reset, done by the test).
func (c *Card) Unlock() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.tries = MaxTries
}

// reset is power-on: the PIN is no longer verified and half-done
// exchanges are forgotten.
func (c *Card) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.verified, c.chain, c.pending = false, nil, nil
}

// Process answers one command APDU with response data and a status word.
func (c *Card) Process(apdu []byte) ([]byte, uint16) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cmd, err := ParseCommand(apdu)
	if err != nil {
		return nil, SWWrongLength
	}
	if cmd.INS == insGetResponse && cmd.CLA&0xEF == 0 {
		return c.getResponse(cmd)
	}
	c.pending = nil
	if cmd.CLA&^0x10 != 0 {
		return nil, SWClaNotSupported
	}
	hdr := [4]byte{cmd.CLA &^ 0x10, cmd.INS, cmd.P1, cmd.P2}
	if c.chain != nil && hdr != c.chainHdr {
		c.chain = nil // a different command ends the chain
	}
	if cmd.CLA&0x10 != 0 { // more to come
		if cmd.INS != insGenAuth && cmd.INS != insVerify {
			return nil, SWChainUnsupported
		}
		if len(c.chain)+len(cmd.Data) > maxChain {
			c.chain = nil
			return nil, SWWrongLength
		}
		c.chain = append(append([]byte{}, c.chain...), cmd.Data...)
		c.chainHdr = hdr
		return nil, SWOK
	}
	if c.chain != nil {
		if len(c.chain)+len(cmd.Data) > maxChain {
			c.chain = nil
			return nil, SWWrongLength
		}
		cmd.Data = append(c.chain, cmd.Data...)
		c.chain = nil
	}
	var data []byte
	var sw uint16
	switch cmd.INS {
	case insSelect:
		data, sw = c.sel(cmd)
	case insGetData:
		data, sw = c.getData(cmd)
	case insVerify:
		data, sw = c.verify(cmd)
	case insGenAuth:
		data, sw = c.generalAuthenticate(cmd)
	default:
		return nil, SWInsNotSupported
	}
	if sw != SWOK {
		return nil, sw
	}
	return c.respond(data, cmd.Ne)
}

// respond sends at most ne bytes of data now and keeps the rest for GET
// RESPONSE, with 61xx saying how much is left (xx = 00 for 256 or more).
func (c *Card) respond(data []byte, ne int) ([]byte, uint16) {
	if len(data) == 0 {
		return nil, SWOK
	}
	if ne == 0 { // no Le: all of it through GET RESPONSE
		c.pending = data
		return nil, moreData(len(data))
	}
	if len(data) <= ne {
		return data, SWOK
	}
	c.pending = data[ne:]
	return data[:ne:ne], moreData(len(c.pending))
}

func moreData(n int) uint16 {
	if n >= 256 {
		return 0x6100
	}
	return 0x6100 | uint16(n)
}

func (c *Card) getResponse(cmd Command) ([]byte, uint16) {
	if c.pending == nil {
		return nil, SWNoPrecise
	}
	data := c.pending
	c.pending = nil
	ne := cmd.Ne
	if ne == 0 {
		ne = 256
	}
	return c.respond(data, ne)
}

// sel answers SELECT of the PIV application with its application property
// template (SP 800-73-4 Part 1, 3.1.1): 61 { 4F PIX, 79 { 4F AID } }.
func (c *Card) sel(cmd Command) ([]byte, uint16) {
	if cmd.P1 != 0x04 || len(cmd.Data) < 5 || !bytes.HasPrefix(AID, cmd.Data) && !bytes.HasPrefix(cmd.Data, AID[:9]) {
		return nil, SWNotFound
	}
	body := tlv(0x4F, AID[5:])
	body = append(body, tlv(0x79, tlv(0x4F, AID[:5]))...)
	body = append(body, tlv(0x50, []byte("OIA virtual PIV"))...)
	return tlv(0x61, body), SWOK
}

// Data object tags (SP 800-73-4 Part 1, table 3).
var (
	tagDiscovery = []byte{0x7E}
	tagCHUID     = []byte{0x5F, 0xC1, 0x02}
	tagCCC       = []byte{0x5F, 0xC1, 0x07}
	tagCert9A    = []byte{0x5F, 0xC1, 0x05}
)

// fascn9999 is a FASC-N with agency code 9999 (a non-federal card), after
// which OpenSC takes the GUID as the serial number.
var fascn9999, _ = hex.DecodeString("d4e739da739ced39ce739d836858210842108421c84210c3eb")

func (c *Card) getData(cmd Command) ([]byte, uint16) {
	if cmd.P1 != 0x3F || cmd.P2 != 0xFF {
		return nil, SWIncorrectP1P2
	}
	if len(cmd.Data) < 3 || cmd.Data[0] != 0x5C || int(cmd.Data[1]) != len(cmd.Data)-2 {
		return nil, SWWrongData
	}
	tag := cmd.Data[2:]
	switch {
	case bytes.Equal(tag, tagDiscovery):
		pinPolicy := tlv2(0x5F2F, []byte{0x40, 0x00}) // PIV PIN only
		return tlv(0x7E, append(tlv(0x4F, AID), pinPolicy...)), SWOK
	case bytes.Equal(tag, tagCHUID):
		body := tlv(0x30, fascn9999)
		body = append(body, tlv(0x34, c.GUID[:])...)
		body = append(body, tlv(0x35, []byte("20301231"))...)
		body = append(body, tlv(0x3E, nil)...)
		body = append(body, tlv(0xFE, nil)...)
		return tlv(0x53, body), SWOK
	case bytes.Equal(tag, tagCCC):
		id := append([]byte{0xA0, 0x00, 0x00, 0x01, 0x16, 0xFF, 0x02}, c.GUID[:14]...)
		body := tlv(0xF0, id)
		for _, t := range []struct {
			tag byte
			v   []byte
		}{{0xF1, []byte{0x21}}, {0xF2, []byte{0x21}}, {0xF3, nil}, {0xF4, []byte{0x00}}, {0xF5, []byte{0x10}},
			{0xF6, nil}, {0xF7, nil}, {0xFA, nil}, {0xFB, nil}, {0xFC, nil}, {0xFD, nil}, {0xFE, nil}} {
			body = append(body, tlv(t.tag, t.v)...)
		}
		return tlv(0x53, body), SWOK
	case bytes.Equal(tag, tagCert9A):
		body := tlv(0x70, c.cert.Raw)
		body = append(body, tlv(0x71, []byte{0x00})...) // not compressed
		body = append(body, tlv(0xFE, nil)...)
		return tlv(0x53, body), SWOK
	}
	return nil, SWNotFound
}

// verify is VERIFY (SP 800-73-4 Part 2, 3.2.1): with data it checks the
// PIN (padded with FF to 8 bytes); without, it reports the state: 9000 when
// verified, 63Cx with the tries left, 6983 when blocked. P1 = FF logs out.
func (c *Card) verify(cmd Command) ([]byte, uint16) {
	if cmd.P2 != pinPIV {
		return nil, SWRefNotFound
	}
	switch {
	case cmd.P1 == 0xFF && len(cmd.Data) == 0:
		c.verified = false
		return nil, SWOK
	case cmd.P1 != 0x00:
		return nil, SWIncorrectP1P2
	case len(cmd.Data) == 0:
		switch {
		case c.tries == 0:
			return nil, SWBlocked
		case c.verified:
			return nil, SWOK
		}
		return nil, 0x63C0 | uint16(c.tries)
	case len(cmd.Data) != maxPINLen:
		return nil, SWWrongLength
	}
	c.verifies++
	if c.tries == 0 {
		return nil, SWBlocked
	}
	if bytes.Equal(bytes.TrimRight(cmd.Data, "\xff"), c.pin) {
		c.tries, c.verified = MaxTries, true
		return nil, SWOK
	}
	c.tries--
	c.verified = false
	if c.tries == 0 {
		return nil, SWBlocked
	}
	return nil, 0x63C0 | uint16(c.tries)
}

// generalAuthenticate signs (raw RSA, the host pads) with key 9A, or
// answers a challenge request for the card management key 9B, which OpenSC
// uses as its random number source.
func (c *Card) generalAuthenticate(cmd Command) ([]byte, uint16) {
	tmpl, ok := parseTLV(cmd.Data)
	if !ok || tmpl.tag != 0x7C {
		return nil, SWWrongData
	}
	fields := map[uint]([]byte){}
	for rest := tmpl.value; len(rest) > 0; {
		f, ok := parseTLV(rest)
		if !ok {
			return nil, SWWrongData
		}
		fields[f.tag] = f.value
		rest = rest[f.size:]
	}
	switch cmd.P2 {
	case keyAdmin:
		if v, ok := fields[0x81]; !ok || len(v) != 0 {
			return nil, SWWrongData
		}
		ch := make([]byte, 8)
		if _, err := rand.Read(ch); err != nil {
			return nil, SWNoPrecise
		}
		return tlv(0x7C, tlv(0x81, ch)), SWOK
	case keyAuth:
	default:
		return nil, SWRefNotFound
	}
	if cmd.P1 != algRSA2K {
		return nil, SWIncorrectP1P2
	}
	block, ok := fields[0x81]
	if _, resp := fields[0x82]; !ok || !resp || len(block) != 256 {
		return nil, SWWrongData
	}
	if !c.verified {
		return nil, SWSecurityStatus
	}
	sig, err := rawRSA(c.key, block)
	if err != nil {
		return nil, SWWrongData
	}
	return tlv(0x7C, tlv(0x82, sig)), SWOK
}

// rawRSA is the private-key operation m^d mod n, as a card does it.
func rawRSA(k *rsa.PrivateKey, block []byte) ([]byte, error) {
	m := new(big.Int).SetBytes(block)
	if m.Cmp(k.N) >= 0 {
		return nil, errors.New("input not below the modulus")
	}
	s := new(big.Int).Exp(m, k.D, k.N)
	return s.FillBytes(make([]byte, k.Size())), nil
}

// tlv encodes a BER-TLV with a one-byte tag.
func tlv(tag byte, v []byte) []byte { return append(append([]byte{tag}, berLen(len(v))...), v...) }

// tlv2 encodes a BER-TLV with a two-byte tag.
func tlv2(tag uint16, v []byte) []byte {
	return append(append([]byte{byte(tag >> 8), byte(tag)}, berLen(len(v))...), v...)
}

func berLen(n int) []byte {
	switch {
	case n < 0x80:
		return []byte{byte(n)}
	case n < 0x100:
		return []byte{0x81, byte(n)}
	}
	return []byte{0x82, byte(n >> 8), byte(n)}
}

type tlvField struct {
	tag   uint
	value []byte
	size  int // bytes the whole TLV took
}

// parseTLV reads one BER-TLV with a one-byte tag and a length of up to
// two bytes.
func parseTLV(b []byte) (tlvField, bool) {
	if len(b) < 2 {
		return tlvField{}, false
	}
	tag, n, off := uint(b[0]), int(b[1]), 2
	switch b[1] {
	case 0x81:
		if len(b) < 3 {
			return tlvField{}, false
		}
		n, off = int(b[2]), 3
	case 0x82:
		if len(b) < 4 {
			return tlvField{}, false
		}
		n, off = int(b[2])<<8|int(b[3]), 4
	default:
		if b[1] >= 0x80 {
			return tlvField{}, false
		}
	}
	if len(b) < off+n {
		return tlvField{}, false
	}
	return tlvField{tag: tag, value: b[off : off+n], size: off + n}, true
}
