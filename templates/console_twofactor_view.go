package templates

import (
	"slices"
	"strings"

	"github.com/herald-status/herald/store"
)

// LoginCodePage is sign-in's second step.
type LoginCodePage struct {
	Site  Site
	CSRF  string
	Token string // the pending sign-in, carried by the form only
	Next  string
	Error string
	CSS   string
	JS    string // passkey.js, for the passkey button
	// What the user can finish with: their app's code (or a recovery
	// code), a passkey, or both.
	App, Passkey bool
}

// TwoFactorPage is the user's own second-factor page.
type TwoFactorPage struct {
	Console       Console
	State         store.TwoFactor
	Secret        string   // a begun enrolment's key, to type by hand
	RecoveryCodes []string // just made: shown on this response only
	Errors        FormErrors
}

// groupSecret spaces a base32 key in fours, as people copy it.
func groupSecret(s string) string {
	var b strings.Builder
	for i, r := range s {
		if i > 0 && i%4 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(r)
	}
	return b.String()
}

func hasRole(roles []store.Role, r store.Role) bool { return slices.Contains(roles, r) }
