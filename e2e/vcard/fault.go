// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package vcard

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Fault is an error the module injects into one PKCS#11 function: it returns
// RV from it, or, with Remove, takes the card out during the call and returns
// CKR_DEVICE_REMOVED. A fault with Once fires at the next call only; without
// it, at every call until cleared.
type Fault struct {
	Function string `json:"function"`         // a name from [FaultFunctions], e.g. "C_Sign"
	RV       uint   `json:"rv,omitempty"`     // the CK_RV to return, unless Remove
	Remove   bool   `json:"remove,omitempty"` // remove the card during the call
	Once     bool   `json:"once"`             // clear the fault once it has fired
}

// FaultFunctions lists the functions a fault can be put on: every function
// of the module that touches the token.
var FaultFunctions = []string{
	"C_GetSlotList", "C_GetSlotInfo", "C_GetTokenInfo", "C_GetMechanismList", "C_GetMechanismInfo",
	"C_OpenSession", "C_CloseSession", "C_CloseAllSessions", "C_GetSessionInfo",
	"C_Login", "C_Logout",
	"C_FindObjectsInit", "C_FindObjects", "C_FindObjectsFinal", "C_GetAttributeValue",
	"C_SignInit", "C_Sign", "C_SignUpdate", "C_SignFinal", "C_GenerateRandom",
}

// rvNames are the CK_RV values worth injecting, by their PKCS#11 names.
var rvNames = map[string]uint{
	"CKR_OK":                        0x000,
	"CKR_HOST_MEMORY":               0x002,
	"CKR_GENERAL_ERROR":             0x005,
	"CKR_FUNCTION_FAILED":           0x006,
	"CKR_ARGUMENTS_BAD":             0x007,
	"CKR_DEVICE_ERROR":              0x030,
	"CKR_DEVICE_MEMORY":             0x031,
	"CKR_DEVICE_REMOVED":            0x032,
	"CKR_FUNCTION_CANCELED":         0x050,
	"CKR_FUNCTION_NOT_SUPPORTED":    0x054,
	"CKR_KEY_HANDLE_INVALID":        0x060,
	"CKR_MECHANISM_INVALID":         0x070,
	"CKR_OBJECT_HANDLE_INVALID":     0x082,
	"CKR_OPERATION_ACTIVE":          0x090,
	"CKR_OPERATION_NOT_INITIALIZED": 0x091,
	"CKR_PIN_INCORRECT":             0x0A0,
	"CKR_PIN_EXPIRED":               0x0A3,
	"CKR_PIN_LOCKED":                0x0A4,
	"CKR_SESSION_CLOSED":            0x0B0,
	"CKR_SESSION_COUNT":             0x0B1,
	"CKR_SESSION_HANDLE_INVALID":    0x0B3,
	"CKR_TOKEN_NOT_PRESENT":         0x0E0,
	"CKR_TOKEN_NOT_RECOGNIZED":      0x0E1,
	"CKR_TOKEN_WRITE_PROTECTED":     0x0E2,
	"CKR_USER_NOT_LOGGED_IN":        0x101,
	"CKR_BUFFER_TOO_SMALL":          0x150,
	"CKR_CRYPTOKI_NOT_INITIALIZED":  0x190,
}

// ParseRV reads a CK_RV given by name ("CKR_DEVICE_ERROR", or without the
// CKR_ prefix, any case) or as a number ("0x30").
func ParseRV(s string) (uint, error) {
	name := strings.ToUpper(strings.TrimSpace(s))
	if !strings.HasPrefix(name, "CKR_") && !strings.HasPrefix(name, "0X") && name != "" && (name[0] < '0' || name[0] > '9') {
		name = "CKR_" + name
	}
	if v, ok := rvNames[name]; ok {
		return v, nil
	}
	v, err := strconv.ParseUint(strings.ToLower(name), 0, 32)
	if err != nil {
		return 0, fmt.Errorf("unknown return value %q; give a name such as CKR_DEVICE_ERROR or a number such as 0x30", s)
	}
	return uint(v), nil
}

// RVName returns the PKCS#11 name of rv, or its hex value if it has none here.
func RVName(rv uint) string {
	for n, v := range rvNames {
		if v == rv {
			return n
		}
	}
	return fmt.Sprintf("0x%x", rv)
}

// ParseFault reads a fault as the command line gives it: a function name and
// an action, which is "remove" or a CK_RV (see [ParseRV]).
func ParseFault(function, action string, once bool) (Fault, error) {
	f := Fault{Function: function, Once: once}
	if strings.EqualFold(action, "remove") {
		f.Remove = true
	} else {
		rv, err := ParseRV(action)
		if err != nil {
			return Fault{}, err
		}
		f.RV = rv
	}
	return f, f.check()
}

func (f Fault) check() error {
	if !slices.Contains(FaultFunctions, f.Function) {
		return fmt.Errorf("cannot put a fault on %q; choose one of %s", f.Function, strings.Join(FaultFunctions, ", "))
	}
	if !f.Remove && f.RV == 0 {
		return fmt.Errorf("a fault that returns CKR_OK does nothing; give an error such as CKR_DEVICE_ERROR")
	}
	return nil
}

// String describes f for people, e.g. "C_Sign returns CKR_DEVICE_ERROR once".
func (f Fault) String() string {
	what := "returns " + RVName(f.RV)
	if f.Remove {
		what = "removes the card"
	}
	when := "every time"
	if f.Once {
		when = "once"
	}
	return f.Function + " " + what + " " + when
}

// MarshalJSON adds the name of RV ("rvName") for people reading
// `oia-vcard status --json`.
func (f Fault) MarshalJSON() ([]byte, error) {
	type plain Fault
	name := ""
	if !f.Remove {
		name = RVName(f.RV)
	}
	return json.Marshal(struct {
		plain
		RVName string `json:"rvName,omitempty"`
	}{plain(f), name})
}
