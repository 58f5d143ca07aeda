// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package pkg

import (
	"archive/zip"
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/template"
	"time"
)

// CRX3 layout (Chromium components/crx_file/crx3.proto, crx_creator.cc):
//
//	"Cr24" | uint32le 3 | uint32le len(header) | header | zip
//
// header is a CrxFileHeader protobuf: field 2 (sha256_with_rsa) holds an
// AsymmetricKeyProof {1: public_key (SPKI DER), 2: signature}, and field
// 10000 (signed_header_data) holds a SignedData {1: crx_id}. The signature
// is RSASSA-PKCS1-v1_5 with SHA-256 over
//
//	"CRX3 SignedData\x00" | uint32le len(signed_header_data) | signed_header_data | zip
const (
	crxMagic          = "Cr24"
	crxVersion        = 3
	crxSignedDataTag  = "CRX3 SignedData\x00"
	fieldRSAProof     = 2
	fieldSignedHeader = 10000
	fieldPublicKey    = 1
	fieldSignature    = 2
	fieldCrxID        = 1
	// maxCRXHeader bounds the header when reading a CRX back.
	maxCRXHeader = 1 << 16
)

// ReadRSAKey reads a PKCS#8 (or PKCS#1) PEM RSA private key: CRX_KEY.
func ReadRSAKey(path string) (*rsa.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, fmt.Errorf("%s is not PEM; give a PKCS#8 PEM RSA key (openssl genpkey -algorithm RSA)", path)
	}
	if k, err := x509.ParsePKCS8PrivateKey(blk.Bytes); err == nil {
		rk, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("%s holds a %T key; CRX3 here needs RSA", path, k)
		}
		return rk, nil
	}
	k, err := x509.ParsePKCS1PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: not a PKCS#8 or PKCS#1 RSA key", path)
	}
	return k, nil
}

// ExtensionID is the Chrome extension id of a public key (SPKI DER): the
// first 16 bytes of its SHA-256, each hex digit 0-f written as a-p.
func ExtensionID(spki []byte) string {
	sum := sha256.Sum256(spki)
	return idFromCrxID(sum[:16])
}

func idFromCrxID(b []byte) string {
	var s strings.Builder
	for _, c := range b {
		s.WriteByte('a' + c>>4)
		s.WriteByte('a' + c&0x0f)
	}
	return s.String()
}

// ZipDir zips dir with sorted names, fixed times and modes, so the archive
// is the same bytes for the same files.
func ZipDir(dir string, mtime time.Time) ([]byte, error) {
	var names []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			rel, err := filepath.Rel(dir, p)
			if err != nil {
				return err
			}
			names = append(names, filepath.ToSlash(rel))
		} else if !d.IsDir() {
			return fmt.Errorf("%s is not a regular file; the extension must hold only files", p)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("%s is empty; run 'make extension' first", dir)
	}
	slices.Sort(names)
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, n := range names {
		h := &zip.FileHeader{Name: n, Method: zip.Deflate, Modified: mtime.UTC()}
		h.SetMode(0o644)
		w, err := zw.CreateHeader(h)
		if err != nil {
			return nil, err
		}
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(n)))
		if err != nil {
			return nil, err
		}
		if _, err := w.Write(b); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// CRX3 returns a CRX3 file holding zipData, signed with key, and the
// extension id that the key gives.
func CRX3(zipData []byte, key *rsa.PrivateKey) (crx []byte, id string, err error) {
	spki, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return nil, "", err
	}
	sum := sha256.Sum256(spki)
	crxID := sum[:16]
	signedData := pbBytes(fieldCrxID, crxID)
	digest := sha256.Sum256(signedMessage(signedData, zipData))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, digest[:])
	if err != nil {
		return nil, "", err
	}
	proof := append(pbBytes(fieldPublicKey, spki), pbBytes(fieldSignature, sig)...)
	header := append(pbBytes(fieldRSAProof, proof), pbBytes(fieldSignedHeader, signedData)...)

	var b bytes.Buffer
	b.WriteString(crxMagic)
	binary.Write(&b, binary.LittleEndian, uint32(crxVersion))
	binary.Write(&b, binary.LittleEndian, uint32(len(header)))
	b.Write(header)
	b.Write(zipData)
	return b.Bytes(), idFromCrxID(crxID), nil
}

func signedMessage(signedData, zipData []byte) []byte {
	m := make([]byte, 0, len(crxSignedDataTag)+4+len(signedData)+len(zipData))
	m = append(m, crxSignedDataTag...)
	m = binary.LittleEndian.AppendUint32(m, uint32(len(signedData)))
	m = append(m, signedData...)
	return append(m, zipData...)
}

// pbBytes encodes one protobuf length-delimited field.
func pbBytes(field int, v []byte) []byte {
	b := binary.AppendUvarint(nil, uint64(field)<<3|2)
	b = binary.AppendUvarint(b, uint64(len(v)))
	return append(b, v...)
}

// pbFields decodes a protobuf message of length-delimited fields only (all
// that CRX3 headers use) into field number -> values.
func pbFields(b []byte) (map[int][][]byte, error) {
	out := map[int][][]byte{}
	for len(b) > 0 {
		key, n := binary.Uvarint(b)
		if n <= 0 {
			return nil, errors.New("bad protobuf key")
		}
		b = b[n:]
		if key&7 != 2 {
			return nil, fmt.Errorf("protobuf field %d has wire type %d, want 2", key>>3, key&7)
		}
		l, n := binary.Uvarint(b)
		if n <= 0 || l > uint64(len(b)-n) {
			return nil, errors.New("bad protobuf length")
		}
		b = b[n:]
		out[int(key>>3)] = append(out[int(key>>3)], b[:l])
		b = b[l:]
	}
	return out, nil
}

// VerifyCRX3 parses a CRX3 file, checks every RSA proof's signature and
// that the signed crx_id matches the first key, and returns the extension
// id and the zip.
func VerifyCRX3(crx []byte) (id string, zipData []byte, err error) {
	if len(crx) < 12 || string(crx[:4]) != crxMagic {
		return "", nil, errors.New("not a CRX file (no Cr24 magic)")
	}
	if v := binary.LittleEndian.Uint32(crx[4:]); v != crxVersion {
		return "", nil, fmt.Errorf("CRX version %d, want 3", v)
	}
	hl := binary.LittleEndian.Uint32(crx[8:])
	if hl > maxCRXHeader || int(hl) > len(crx)-12 {
		return "", nil, fmt.Errorf("CRX header length %d is out of range", hl)
	}
	header, zipData := crx[12:12+hl], crx[12+hl:]
	f, err := pbFields(header)
	if err != nil {
		return "", nil, err
	}
	if len(f[fieldSignedHeader]) != 1 || len(f[fieldRSAProof]) == 0 {
		return "", nil, errors.New("CRX header lacks signed_header_data or an RSA proof")
	}
	signedData := f[fieldSignedHeader][0]
	sd, err := pbFields(signedData)
	if err != nil || len(sd[fieldCrxID]) != 1 || len(sd[fieldCrxID][0]) != 16 {
		return "", nil, errors.New("CRX signed_header_data lacks a 16-byte crx_id")
	}
	digest := sha256.Sum256(signedMessage(signedData, zipData))
	for i, p := range f[fieldRSAProof] {
		pf, err := pbFields(p)
		if err != nil || len(pf[fieldPublicKey]) != 1 || len(pf[fieldSignature]) != 1 {
			return "", nil, fmt.Errorf("CRX proof %d is malformed", i)
		}
		pub, err := x509.ParsePKIXPublicKey(pf[fieldPublicKey][0])
		if err != nil {
			return "", nil, fmt.Errorf("CRX proof %d: %v", i, err)
		}
		rk, ok := pub.(*rsa.PublicKey)
		if !ok {
			return "", nil, fmt.Errorf("CRX proof %d is not RSA", i)
		}
		if err := rsa.VerifyPKCS1v15(rk, crypto.SHA256, digest[:], pf[fieldSignature][0]); err != nil {
			return "", nil, fmt.Errorf("CRX proof %d: signature does not verify", i)
		}
		if i == 0 {
			sum := sha256.Sum256(pf[fieldPublicKey][0])
			if !bytes.Equal(sum[:16], sd[fieldCrxID][0]) {
				return "", nil, errors.New("CRX crx_id does not match the signing key")
			}
		}
	}
	return idFromCrxID(sd[fieldCrxID][0]), zipData, nil
}

var updateManifest = template.Must(template.New("").Parse(`<?xml version='1.0' encoding='UTF-8'?>
<gupdate xmlns='http://www.google.com/update2/response' protocol='2.0'>
  <app appid='{{.ID}}'>
    <updatecheck codebase='{{html .Codebase}}' version='{{.Version}}' />
  </app>
</gupdate>
`))

// UpdateManifest returns the gupdate XML that Chrome and Edge fetch from a
// policy's update_url: it names the CRX's URL and version.
func UpdateManifest(id, version, crxURL string) ([]byte, error) {
	if !strings.HasPrefix(crxURL, "https://") {
		return nil, fmt.Errorf("CRX URL %q is not https; browsers fetch extensions only over https", crxURL)
	}
	var b bytes.Buffer
	err := updateManifest.Execute(&b, struct{ ID, Codebase, Version string }{id, crxURL, version})
	return b.Bytes(), err
}
