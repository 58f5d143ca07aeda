// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

/* Signing with the card's key (CKM_RSA_PKCS, CKM_SHA1_RSA_PKCS,
 * CKM_SHA256_RSA_PKCS), in one part or several, and C_GenerateRandom. */

#include "vcard.h"

#include <limits.h>
#include <string.h>

#include <openssl/rand.h>
#include <openssl/rsa.h>

/* ENTER_SIGN is ENTER for the calls that end a sign operation when they fail
 * (PKCS#11 v2.40 §5.12): an injected fault ends it too. */
#define ENTER_SIGN(fn, h)                                   \
	pthread_mutex_lock(&mu);                            \
	CK_RV rv = initialized ? refresh() : CKR_CRYPTOKI_NOT_INITIALIZED; \
	if (rv != CKR_OK)                                   \
		goto out;                                   \
	if ((rv = fault(fn)) != CKR_OK) {                   \
		struct session *fs;                         \
		if (get_session(h, &fs) == CKR_OK)          \
			end_operations(fs);                 \
		goto out;                                   \
	}

static const unsigned char sha1_prefix[] = {0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e,
					    0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14};
static const unsigned char sha256_prefix[] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
					      0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20};

CK_RV C_SignInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism, CK_OBJECT_HANDLE hKey)
{
	ENTER("C_SignInit");
	struct session *s;
	if ((rv = get_session(hSession, &s)) != CKR_OK)
		goto out;
	if (pMechanism == NULL) {
		rv = CKR_ARGUMENTS_BAD;
		goto out;
	}
	if (s->sign_active) {
		rv = CKR_OPERATION_ACTIVE;
		goto out;
	}
	if (!mechanism_ok(pMechanism->mechanism)) {
		rv = CKR_MECHANISM_INVALID;
		goto out;
	}
	if (pMechanism->pParameter != NULL || pMechanism->ulParameterLen != 0) {
		rv = CKR_MECHANISM_PARAM_INVALID;
		goto out;
	}
	if (!is_logged_in()) {
		rv = CKR_USER_NOT_LOGGED_IN;
		goto out;
	}
	int idx = object_index(hKey);
	if (idx == OBJ_PUB) {
		rv = CKR_KEY_FUNCTION_NOT_PERMITTED;
		goto out;
	}
	if (idx != OBJ_PRIV) {
		rv = CKR_KEY_HANDLE_INVALID;
		goto out;
	}
	end_operations(s);
	s->sign_active = 1;
	s->sign_mech = pMechanism->mechanism;
	if (s->sign_mech != CKM_RSA_PKCS) {
		s->md = EVP_MD_CTX_new();
		if (s->md == NULL ||
		    !EVP_DigestInit_ex(s->md, s->sign_mech == CKM_SHA1_RSA_PKCS ? EVP_sha1() : EVP_sha256(), NULL)) {
			end_operations(s);
			rv = CKR_HOST_MEMORY;
		}
	}
	LEAVE
}

/* rsa_sign makes a PKCS#1 v1.5 signature over in (a DigestInfo, or raw data
 * for CKM_RSA_PKCS) into out, which holds the modulus length. */
static CK_RV rsa_sign(const unsigned char *in, size_t inlen, unsigned char *out, CK_ULONG_PTR outlen)
{
	size_t k = (size_t)card.modulus_len;
	if (k < 11 || inlen > k - 11)
		return CKR_DATA_LEN_RANGE;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(card.key, NULL);
	size_t n = k;
	CK_RV rv = CKR_FUNCTION_FAILED;
	if (ctx != NULL && EVP_PKEY_sign_init(ctx) > 0 && EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) > 0 &&
	    EVP_PKEY_sign(ctx, out, &n, in, inlen) > 0) {
		*outlen = (CK_ULONG)n;
		rv = CKR_OK;
	}
	EVP_PKEY_CTX_free(ctx);
	return rv;
}

/* sign_finish ends a sign operation whose input is complete: for the hash
 * mechanisms s->md holds the digest state, for CKM_RSA_PKCS the input is
 * data. It implements the two-call size query. */
static CK_RV sign_finish(struct session *s, const unsigned char *data, size_t len, CK_BYTE_PTR sig,
			 CK_ULONG_PTR siglen)
{
	CK_ULONG k = (CK_ULONG)card.modulus_len;
	if (sig == NULL) {
		*siglen = k;
		return CKR_OK; /* the operation stays active */
	}
	if (*siglen < k) {
		*siglen = k;
		return CKR_BUFFER_TOO_SMALL; /* the operation stays active */
	}
	CK_RV rv;
	if (s->sign_mech == CKM_RSA_PKCS) {
		rv = rsa_sign(data, len, sig, siglen);
	} else {
		unsigned char di[19 + EVP_MAX_MD_SIZE];
		unsigned int dl = 0;
		const unsigned char *prefix = s->sign_mech == CKM_SHA1_RSA_PKCS ? sha1_prefix : sha256_prefix;
		size_t pl = s->sign_mech == CKM_SHA1_RSA_PKCS ? sizeof sha1_prefix : sizeof sha256_prefix;
		memcpy(di, prefix, pl);
		rv = CKR_FUNCTION_FAILED;
		if ((len == 0 || EVP_DigestUpdate(s->md, data, len)) && EVP_DigestFinal_ex(s->md, di + pl, &dl))
			rv = rsa_sign(di, pl + dl, sig, siglen);
	}
	end_operations(s);
	return rv;
}

static CK_RV sign_state(CK_SESSION_HANDLE h, struct session **out)
{
	CK_RV rv = get_session(h, out);
	if (rv != CKR_OK)
		return rv;
	if (!(*out)->sign_active)
		return CKR_OPERATION_NOT_INITIALIZED;
	if (!is_logged_in()) {
		end_operations(*out);
		return CKR_USER_NOT_LOGGED_IN;
	}
	return CKR_OK;
}

CK_RV C_Sign(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen, CK_BYTE_PTR pSignature,
	     CK_ULONG_PTR pulSignatureLen)
{
	ENTER_SIGN("C_Sign", hSession);
	struct session *s;
	if ((rv = sign_state(hSession, &s)) != CKR_OK)
		goto out;
	if (pulSignatureLen == NULL || (pData == NULL && ulDataLen > 0)) {
		end_operations(s);
		rv = CKR_ARGUMENTS_BAD;
		goto out;
	}
	if (s->sign_multipart) {
		end_operations(s);
		rv = CKR_OPERATION_ACTIVE; /* C_Sign after C_SignUpdate */
		goto out;
	}
	rv = sign_finish(s, pData, ulDataLen, pSignature, pulSignatureLen);
	LEAVE
}

CK_RV C_SignUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen)
{
	ENTER_SIGN("C_SignUpdate", hSession);
	struct session *s;
	if ((rv = sign_state(hSession, &s)) != CKR_OK)
		goto out;
	if (pPart == NULL && ulPartLen > 0) {
		end_operations(s);
		rv = CKR_ARGUMENTS_BAD;
		goto out;
	}
	s->sign_multipart = 1;
	if (s->sign_mech == CKM_RSA_PKCS) {
		if (ulPartLen > MAX_MULTIPART - s->buflen) {
			end_operations(s);
			rv = CKR_DATA_LEN_RANGE;
			goto out;
		}
		memcpy(s->buf + s->buflen, pPart, ulPartLen);
		s->buflen += ulPartLen;
	} else if (ulPartLen > 0 && !EVP_DigestUpdate(s->md, pPart, ulPartLen)) {
		end_operations(s);
		rv = CKR_FUNCTION_FAILED;
	}
	LEAVE
}

CK_RV C_SignFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSignature, CK_ULONG_PTR pulSignatureLen)
{
	ENTER_SIGN("C_SignFinal", hSession);
	struct session *s;
	if ((rv = sign_state(hSession, &s)) != CKR_OK)
		goto out;
	if (pulSignatureLen == NULL) {
		end_operations(s);
		rv = CKR_ARGUMENTS_BAD;
		goto out;
	}
	if (s->sign_mech == CKM_RSA_PKCS)
		rv = sign_finish(s, s->buf, s->buflen, pSignature, pulSignatureLen);
	else
		rv = sign_finish(s, NULL, 0, pSignature, pulSignatureLen);
	LEAVE
}

CK_RV C_GenerateRandom(CK_SESSION_HANDLE hSession, CK_BYTE_PTR RandomData, CK_ULONG ulRandomLen)
{
	ENTER("C_GenerateRandom");
	struct session *s;
	if ((rv = get_session(hSession, &s)) != CKR_OK)
		goto out;
	if (RandomData == NULL && ulRandomLen > 0) {
		rv = CKR_ARGUMENTS_BAD;
		goto out;
	}
	if (ulRandomLen > INT_MAX || (ulRandomLen > 0 && RAND_bytes(RandomData, (int)ulRandomLen) != 1))
		rv = CKR_FUNCTION_FAILED;
	LEAVE
}
