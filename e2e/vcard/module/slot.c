// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

/* The one slot, its token and the mechanisms it offers. */

#include "vcard.h"

#include <string.h>

CK_RV check_slot(CK_SLOT_ID slot)
{
	return slot == SLOT_ID ? CKR_OK : CKR_SLOT_ID_INVALID;
}

/* check_token is the prologue of the calls about the token in a slot: the
 * slot must exist, out (where the answer goes) be given, and a card be in. */
static CK_RV check_token(CK_SLOT_ID slot, const void *out)
{
	if (check_slot(slot) != CKR_OK)
		return CKR_SLOT_ID_INVALID;
	if (out == NULL)
		return CKR_ARGUMENTS_BAD;
	return st.present ? CKR_OK : CKR_TOKEN_NOT_PRESENT;
}

CK_RV C_GetSlotList(CK_BBOOL tokenPresent, CK_SLOT_ID_PTR pSlotList, CK_ULONG_PTR pulCount)
{
	ENTER("C_GetSlotList");
	if (pulCount == NULL) {
		rv = CKR_ARGUMENTS_BAD;
		goto out;
	}
	CK_ULONG n = (tokenPresent && !st.present) ? 0 : 1;
	if (pSlotList == NULL) {
		*pulCount = n;
		goto out;
	}
	if (*pulCount < n) {
		*pulCount = n;
		rv = CKR_BUFFER_TOO_SMALL;
		goto out;
	}
	if (n == 1)
		pSlotList[0] = SLOT_ID;
	*pulCount = n;
	LEAVE
}

CK_RV C_GetSlotInfo(CK_SLOT_ID slotID, CK_SLOT_INFO_PTR pInfo)
{
	ENTER("C_GetSlotInfo");
	if ((rv = check_slot(slotID)) != CKR_OK)
		goto out;
	if (pInfo == NULL) {
		rv = CKR_ARGUMENTS_BAD;
		goto out;
	}
	memset(pInfo, 0, sizeof *pInfo);
	pad(pInfo->slotDescription, sizeof pInfo->slotDescription, "OIA Virtual Reader 00 00");
	pad(pInfo->manufacturerID, sizeof pInfo->manufacturerID, MANUFACTURER);
	pInfo->flags = CKF_REMOVABLE_DEVICE | CKF_HW_SLOT | (st.present ? CKF_TOKEN_PRESENT : 0);
	pInfo->hardwareVersion.major = 1;
	pInfo->firmwareVersion.major = 1;
	LEAVE
}

CK_RV C_GetTokenInfo(CK_SLOT_ID slotID, CK_TOKEN_INFO_PTR pInfo)
{
	ENTER("C_GetTokenInfo");
	if ((rv = check_token(slotID, pInfo)) != CKR_OK)
		goto out;
	memset(pInfo, 0, sizeof *pInfo);
	pad(pInfo->label, sizeof pInfo->label, st.label);
	pad(pInfo->manufacturerID, sizeof pInfo->manufacturerID, MANUFACTURER);
	pad(pInfo->model, sizeof pInfo->model, MODEL);
	pad(pInfo->serialNumber, sizeof pInfo->serialNumber, st.serial);
	CK_FLAGS f = CKF_RNG | CKF_LOGIN_REQUIRED | CKF_USER_PIN_INITIALIZED | CKF_TOKEN_INITIALIZED;
	/* As OpenSC reports a real card: one of the three, never together. */
	if (st.attempts == 0)
		f |= CKF_USER_PIN_LOCKED;
	else if (st.attempts == 1)
		f |= CKF_USER_PIN_FINAL_TRY;
	else if (st.attempts < MAX_ATTEMPTS)
		f |= CKF_USER_PIN_COUNT_LOW;
	if (st.pinpad)
		f |= CKF_PROTECTED_AUTHENTICATION_PATH;
	if (st.write_protected)
		f |= CKF_WRITE_PROTECTED;
	pInfo->flags = f;
	pInfo->ulMaxSessionCount = MAX_SESSIONS;
	pInfo->ulSessionCount = (CK_ULONG)count_sessions(0);
	pInfo->ulMaxRwSessionCount = MAX_SESSIONS;
	pInfo->ulRwSessionCount = (CK_ULONG)count_sessions(1);
	pInfo->ulMaxPinLen = MAX_PIN_LEN;
	pInfo->ulMinPinLen = MIN_PIN_LEN;
	pInfo->ulTotalPublicMemory = CK_UNAVAILABLE_INFORMATION;
	pInfo->ulFreePublicMemory = CK_UNAVAILABLE_INFORMATION;
	pInfo->ulTotalPrivateMemory = CK_UNAVAILABLE_INFORMATION;
	pInfo->ulFreePrivateMemory = CK_UNAVAILABLE_INFORMATION;
	pInfo->hardwareVersion.major = 1;
	pInfo->firmwareVersion.major = 1;
	memset(pInfo->utcTime, ' ', sizeof pInfo->utcTime);
	LEAVE
}

static const CK_MECHANISM_TYPE mechanisms[] = {CKM_RSA_PKCS, CKM_SHA1_RSA_PKCS, CKM_SHA256_RSA_PKCS};
#define NMECH (sizeof mechanisms / sizeof mechanisms[0])

int mechanism_ok(CK_MECHANISM_TYPE m)
{
	for (size_t i = 0; i < NMECH; i++)
		if (mechanisms[i] == m)
			return 1;
	return 0;
}

CK_RV C_GetMechanismList(CK_SLOT_ID slotID, CK_MECHANISM_TYPE_PTR pMechanismList, CK_ULONG_PTR pulCount)
{
	ENTER("C_GetMechanismList");
	if ((rv = check_token(slotID, pulCount)) != CKR_OK)
		goto out;
	if (pMechanismList == NULL) {
		*pulCount = NMECH;
		goto out;
	}
	if (*pulCount < NMECH) {
		*pulCount = NMECH;
		rv = CKR_BUFFER_TOO_SMALL;
		goto out;
	}
	memcpy(pMechanismList, mechanisms, sizeof mechanisms);
	*pulCount = NMECH;
	LEAVE
}

CK_RV C_GetMechanismInfo(CK_SLOT_ID slotID, CK_MECHANISM_TYPE type, CK_MECHANISM_INFO_PTR pInfo)
{
	ENTER("C_GetMechanismInfo");
	if ((rv = check_token(slotID, pInfo)) != CKR_OK)
		goto out;
	if (!mechanism_ok(type)) {
		rv = CKR_MECHANISM_INVALID;
		goto out;
	}
	pInfo->ulMinKeySize = 1024;
	pInfo->ulMaxKeySize = 4096;
	pInfo->flags = CKF_HW | CKF_SIGN;
	LEAVE
}

CK_RV C_WaitForSlotEvent(CK_FLAGS flags, CK_SLOT_ID_PTR pSlot, CK_VOID_PTR pReserved)
{
	(void)pSlot;
	if (pReserved != NULL)
		return CKR_ARGUMENTS_BAD;
	if (!is_initialized())
		return CKR_CRYPTOKI_NOT_INITIALIZED;
	/* As SoftHSM2 and p11-kit: no events; the host polls the slot. */
	return (flags & CKF_DONT_BLOCK) ? CKR_NO_EVENT : CKR_FUNCTION_NOT_SUPPORTED;
}
