// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package config

import "testing"

// TestACLProblem: the Windows rule on the access lists Windows gives its
// folders by default and on the mistakes a deployment can make. The API
// that reads them (trust_windows.go) is exercised only on Windows.
func TestACLProblem(t *testing.T) {
	const (
		users         = "S-1-5-32-545"
		authenticated = "S-1-5-11"
		creatorOwner  = "S-1-3-0"
		alice         = "S-1-5-21-1-2-3-1001"
		readExec      = 0x1200a9
		full          = 0x1f01ff
		modify        = 0x1301bf
	)
	admins := []ace{{sid: sidSystem, mask: full, allow: true}, {sid: sidAdministrators, mask: full, allow: true}}
	with := func(extra ...ace) []ace { return append(append([]ace{}, admins...), extra...) }
	tests := []struct {
		name      string
		si        securityInfo
		dir, leaf bool
		o         checkOptions
		wantOK    bool
	}{
		{"the folder oia install --system makes: administrators full, users read", securityInfo{owner: sidAdministrators, aces: with(ace{sid: users, mask: readExec, allow: true})}, true, false, checkOptions{}, true},
		{"C:\\ProgramData: users may add folders, and CREATOR OWNER's grant is inherit-only", securityInfo{owner: sidSystem, aces: with(
			ace{sid: users, mask: readExec, allow: true},
			ace{sid: users, mask: accWriteData | accAppendData, allow: true},
			ace{sid: creatorOwner, mask: full, allow: true, inheritOnly: true})}, true, false, checkOptions{}, true},
		{"a folder users may delete entries of lets them replace the file", securityInfo{owner: sidAdministrators, aces: with(ace{sid: users, mask: accDeleteChild, allow: true})}, true, false, checkOptions{}, false},
		{"a file authenticated users may modify", securityInfo{owner: sidAdministrators, aces: with(ace{sid: authenticated, mask: modify, allow: true})}, false, true, checkOptions{}, false},
		{"the file a user planted under ProgramData is theirs", securityInfo{owner: alice, aces: with(ace{sid: alice, mask: full, allow: true})}, false, true, checkOptions{}, false},
		{"a folder a user may re-ACL", securityInfo{owner: sidAdministrators, aces: with(ace{sid: alice, mask: accWriteDAC, allow: true})}, true, false, checkOptions{}, false},
		{"no access list at all grants everyone everything", securityInfo{owner: sidAdministrators, nullDACL: true}, false, true, checkOptions{}, false},
		{"a generic-write grant on the file", securityInfo{owner: sidAdministrators, aces: with(ace{sid: users, mask: accGenericWrite, allow: true})}, false, true, checkOptions{}, false},
		{"a deny entry is not a grant", securityInfo{owner: sidAdministrators, aces: with(ace{sid: users, mask: full})}, false, true, checkOptions{}, true},
		{"the user's own private file", securityInfo{owner: alice, aces: with(ace{sid: alice, mask: full, allow: true})}, false, true, checkOptions{trustUser: true, private: true}, true},
		{"a user file others may read is not private", securityInfo{owner: alice, aces: with(ace{sid: alice, mask: full, allow: true}, ace{sid: users, mask: readExec, allow: true})}, false, true, checkOptions{trustUser: true, private: true}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := aclProblem(tt.si, tt.dir, tt.leaf, tt.o, alice)
			if (got == "") != tt.wantOK {
				t.Errorf("problem = %q, want ok=%v", got, tt.wantOK)
			}
		})
	}
}
