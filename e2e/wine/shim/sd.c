// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

/*
 * sd: reads or sets the security descriptor of a file, folder or named
 * pipe, in SDDL (Wine's icacls and cacls are stubs). Test rig only.
 *
 *   sd get PATH          prints the owner and DACL, e.g. O:...D:P(A;;FA;;;S-...)
 *   sd set PATH SDDL     sets the owner and a protected DACL from SDDL
 *
 * get opens PATH with READ_CONTROL only; for a named pipe that takes one
 * instance, as a client's open does.
 */

#define WIN32_LEAN_AND_MEAN
#include <windows.h>
#include <aclapi.h>
#include <sddl.h>
#include <stdio.h>
#include <string.h>

static int get(const char *path)
{
	HANDLE h = CreateFileA(path, READ_CONTROL, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
		OPEN_EXISTING, FILE_FLAG_BACKUP_SEMANTICS, NULL);
	if (h == INVALID_HANDLE_VALUE) {
		fprintf(stderr, "sd: open %s: error %lu\n", path, GetLastError());
		return 1;
	}
	PSECURITY_DESCRIPTOR sd = NULL;
	const SECURITY_INFORMATION what = OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION;
	DWORD rc = GetSecurityInfo(h, SE_FILE_OBJECT, what, NULL, NULL, NULL, NULL, &sd);
	CloseHandle(h);
	if (rc != ERROR_SUCCESS) {
		fprintf(stderr, "sd: GetSecurityInfo %s: error %lu\n", path, rc);
		return 1;
	}
	LPSTR s = NULL;
	if (!ConvertSecurityDescriptorToStringSecurityDescriptorA(sd, SDDL_REVISION_1, what, &s, NULL)) {
		fprintf(stderr, "sd: convert: error %lu\n", GetLastError());
		return 1;
	}
	printf("%s\n", s);
	LocalFree(s);
	LocalFree(sd);
	return 0;
}

static int set(const char *path, const char *sddl)
{
	PSECURITY_DESCRIPTOR sd = NULL;
	if (!ConvertStringSecurityDescriptorToSecurityDescriptorA(sddl, SDDL_REVISION_1, &sd, NULL)) {
		fprintf(stderr, "sd: parse %s: error %lu\n", sddl, GetLastError());
		return 1;
	}
	PSID owner = NULL;
	PACL dacl = NULL;
	BOOL defaulted = FALSE, present = FALSE;
	GetSecurityDescriptorOwner(sd, &owner, &defaulted);
	GetSecurityDescriptorDacl(sd, &present, &dacl, &defaulted);
	DWORD rc = SetNamedSecurityInfoA((LPSTR)path, SE_FILE_OBJECT,
		OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION, owner,
		NULL, dacl, NULL);
	LocalFree(sd);
	if (rc != ERROR_SUCCESS) {
		fprintf(stderr, "sd: SetNamedSecurityInfo %s: error %lu\n", path, rc);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "get") == 0)
		return get(argv[2]);
	if (argc == 4 && strcmp(argv[1], "set") == 0)
		return set(argv[2], argv[3]);
	fprintf(stderr, "usage: sd get PATH | sd set PATH SDDL\n");
	return 2;
}
