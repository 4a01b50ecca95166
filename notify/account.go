package notify

import (
	"fmt"
	"strings"

	"github.com/herald-status/herald/store"
)

// The words of account notices (store.AccountJobKinds), one place for
// each kind.

func accountHeadline(kind string) string {
	switch kind {
	case store.JobAccountFactorsReset:
		return "Your second factors were reset"
	}
	return "About your account"
}

func accountIntro(kind string, a store.AccountNotice) string {
	switch kind {
	case store.JobAccountFactorsReset:
		var gone []string
		if a.App {
			gone = append(gone, "your authenticator app and its recovery codes")
		}
		switch {
		case a.Passkeys == 1:
			gone = append(gone, "your passkey")
		case a.Passkeys > 1:
			gone = append(gone, fmt.Sprintf("your %d passkeys", a.Passkeys))
		}
		return fmt.Sprintf("%s reset the second factors of your account %s at %s: %s no longer sign you in. Sign in with your password and add a second factor again. If you did not ask for this, tell your admins at once.",
			a.By, a.Email, a.At.UTC().Format("2 Jan 2006, 15:04 UTC"), strings.Join(gone, " and "))
	}
	return ""
}
