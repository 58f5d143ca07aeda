// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

/* The card's three objects (certificate, public key, private key), their
 * attributes, and C_FindObjects*. */

#include "vcard.h"

#include <string.h>

static CK_OBJECT_HANDLE object_handle(int idx)
{
	return (CK_OBJECT_HANDLE)(st.generation * 4 + (unsigned long)idx);
}

/* object_index maps a handle to OBJ_*; 0 if it is not an object the caller
 * may see on the current card. */
int object_index(CK_OBJECT_HANDLE h)
{
	int idx = (int)(h % 4);
	if (h / 4 != st.generation || idx < OBJ_CERT || idx > OBJ_PRIV || !card.loaded)
		return 0;
	if (idx == OBJ_PRIV && !is_logged_in())
		return 0;
	return idx;
}

enum { ATTR_OK, ATTR_SENSITIVE, ATTR_INVALID };

struct scratch {
	CK_ULONG ul;
	CK_BBOOL b;
};

/* attribute gives the value of attribute t of object idx. */
static int attribute(int idx, CK_ATTRIBUTE_TYPE t, const void **val, CK_ULONG *len, struct scratch *sc)
{
#define UL(v)                      \
	do {                       \
		sc->ul = (v);      \
		*val = &sc->ul;    \
		*len = sizeof sc->ul; \
		return ATTR_OK;    \
	} while (0)
#define BOOL(v)                    \
	do {                       \
		sc->b = (v) ? CK_TRUE : CK_FALSE; \
		*val = &sc->b;     \
		*len = sizeof sc->b; \
		return ATTR_OK;    \
	} while (0)
#define BYTES(p, n)                \
	do {                       \
		*val = (p);        \
		*len = (CK_ULONG)(n); \
		return ATTR_OK;    \
	} while (0)
	/* Attributes every object has. */
	switch (t) {
	case CKA_CLASS:
		UL(idx == OBJ_CERT ? CKO_CERTIFICATE : idx == OBJ_PUB ? CKO_PUBLIC_KEY : CKO_PRIVATE_KEY);
	case CKA_TOKEN:
		BOOL(1);
	case CKA_PRIVATE:
		BOOL(idx == OBJ_PRIV);
	case CKA_MODIFIABLE:
		BOOL(0);
	case CKA_LABEL:
		BYTES(OBJECT_LABEL, strlen(OBJECT_LABEL));
	case CKA_ID:
		BYTES(st.key_id, st.key_id_len);
	case CKA_SUBJECT:
		BYTES(card.subject, card.subject_len);
	}
	if (idx == OBJ_CERT) {
		switch (t) {
		case CKA_CERTIFICATE_TYPE:
			UL(CKC_X_509);
		case CKA_TRUSTED:
			BOOL(0);
		case CKA_CERTIFICATE_CATEGORY:
			UL(1); /* token user */
		case CKA_VALUE:
			BYTES(card.cert, card.cert_len);
		case CKA_ISSUER:
			BYTES(card.issuer, card.issuer_len);
		case CKA_SERIAL_NUMBER:
			BYTES(card.serial, card.serial_len);
		}
		return ATTR_INVALID;
	}
	/* Keys. */
	switch (t) {
	case CKA_KEY_TYPE:
		UL(CKK_RSA);
	case CKA_MODULUS:
		BYTES(card.modulus, card.modulus_len);
	case CKA_PUBLIC_EXPONENT:
		BYTES(card.exponent, card.exponent_len);
	case CKA_MODULUS_BITS:
		UL(card.modulus_bits);
	case CKA_LOCAL:
		BOOL(1);
	case CKA_DERIVE:
		BOOL(0);
	}
	if (idx == OBJ_PUB) {
		switch (t) {
		case CKA_VERIFY:
		case CKA_ENCRYPT:
			BOOL(1);
		case CKA_VERIFY_RECOVER:
		case CKA_WRAP:
		case CKA_TRUSTED:
			BOOL(0);
		}
		return ATTR_INVALID;
	}
	switch (t) {
	case CKA_SIGN:
	case CKA_DECRYPT: /* NHSbuntu selects the key on CKA_DECRYPT */
	case CKA_SENSITIVE:
	case CKA_ALWAYS_SENSITIVE:
	case CKA_NEVER_EXTRACTABLE:
		BOOL(1);
	case CKA_SIGN_RECOVER:
	case CKA_UNWRAP:
	case CKA_EXTRACTABLE:
	case CKA_ALWAYS_AUTHENTICATE:
	case CKA_WRAP_WITH_TRUSTED:
		BOOL(0);
	case CKA_PRIVATE_EXPONENT:
	case CKA_PRIME_1:
	case CKA_PRIME_2:
	case CKA_EXPONENT_1:
	case CKA_EXPONENT_2:
	case CKA_COEFFICIENT:
		return ATTR_SENSITIVE;
	}
	return ATTR_INVALID;
#undef UL
#undef BOOL
#undef BYTES
}

CK_RV C_GetAttributeValue(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject, CK_ATTRIBUTE_PTR pTemplate,
			  CK_ULONG ulCount)
{
	ENTER("C_GetAttributeValue");
	struct session *s;
	if ((rv = get_session(hSession, &s)) != CKR_OK)
		goto out;
	if (pTemplate == NULL && ulCount > 0) {
		rv = CKR_ARGUMENTS_BAD;
		goto out;
	}
	int idx = object_index(hObject);
	if (idx == 0) {
		rv = CKR_OBJECT_HANDLE_INVALID;
		goto out;
	}
	/* Every attribute is processed; the error reported is the last one
	 * met, as PKCS#11 v2.40 §5.7.5 allows. */
	for (CK_ULONG i = 0; i < ulCount; i++) {
		CK_ATTRIBUTE *a = &pTemplate[i];
		const void *v;
		CK_ULONG n;
		struct scratch sc;
		int r = attribute(idx, a->type, &v, &n, &sc);
		if (r == ATTR_SENSITIVE) {
			a->ulValueLen = CK_UNAVAILABLE_INFORMATION;
			rv = CKR_ATTRIBUTE_SENSITIVE;
		} else if (r == ATTR_INVALID) {
			a->ulValueLen = CK_UNAVAILABLE_INFORMATION;
			rv = CKR_ATTRIBUTE_TYPE_INVALID;
		} else if (a->pValue == NULL) {
			a->ulValueLen = n;
		} else if (a->ulValueLen < n) {
			a->ulValueLen = CK_UNAVAILABLE_INFORMATION;
			rv = CKR_BUFFER_TOO_SMALL;
		} else {
			memcpy(a->pValue, v, n);
			a->ulValueLen = n;
		}
	}
	LEAVE
}

static int matches(int idx, const CK_ATTRIBUTE *tmpl, CK_ULONG n)
{
	for (CK_ULONG i = 0; i < n; i++) {
		const void *v;
		CK_ULONG len;
		struct scratch sc;
		if (attribute(idx, tmpl[i].type, &v, &len, &sc) != ATTR_OK)
			return 0;
		if (tmpl[i].ulValueLen != len || (len > 0 && (tmpl[i].pValue == NULL || memcmp(v, tmpl[i].pValue, len) != 0)))
			return 0;
	}
	return 1;
}

CK_RV C_FindObjectsInit(CK_SESSION_HANDLE hSession, CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount)
{
	ENTER("C_FindObjectsInit");
	struct session *s;
	if ((rv = get_session(hSession, &s)) != CKR_OK)
		goto out;
	if ((pTemplate == NULL && ulCount > 0) || ulCount > MAX_TEMPLATE) {
		rv = CKR_ARGUMENTS_BAD;
		goto out;
	}
	if (s->find_active) {
		rv = CKR_OPERATION_ACTIVE;
		goto out;
	}
	s->nfound = s->foundpos = 0;
	for (int idx = OBJ_CERT; idx <= OBJ_PRIV; idx++) {
		if (idx == OBJ_PRIV && !is_logged_in())
			continue; /* private objects are invisible until login */
		if (matches(idx, pTemplate, ulCount))
			s->found[s->nfound++] = object_handle(idx);
	}
	s->find_active = 1;
	LEAVE
}

CK_RV C_FindObjects(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE_PTR phObject, CK_ULONG ulMaxObjectCount,
		    CK_ULONG_PTR pulObjectCount)
{
	ENTER("C_FindObjects");
	struct session *s;
	if ((rv = get_session(hSession, &s)) != CKR_OK)
		goto out;
	if (phObject == NULL || pulObjectCount == NULL) {
		rv = CKR_ARGUMENTS_BAD;
		goto out;
	}
	if (!s->find_active) {
		rv = CKR_OPERATION_NOT_INITIALIZED;
		goto out;
	}
	CK_ULONG n = 0;
	while (n < ulMaxObjectCount && s->foundpos < s->nfound)
		phObject[n++] = s->found[s->foundpos++];
	*pulObjectCount = n;
	LEAVE
}

CK_RV C_FindObjectsFinal(CK_SESSION_HANDLE hSession)
{
	ENTER("C_FindObjectsFinal");
	struct session *s;
	if ((rv = get_session(hSession, &s)) != CKR_OK)
		goto out;
	if (!s->find_active) {
		rv = CKR_OPERATION_NOT_INITIALIZED;
		goto out;
	}
	s->find_active = 0;
	LEAVE
}
