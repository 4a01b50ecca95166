package store

import (
	"errors"
	"slices"
	"strings"
)

// Viewers by email (issue 13): a page whose Access is AccessEmail admits a
// visitor who proves, by a link emailed to them, an address on the page's
// list of viewers. The list holds addresses (ana@example.com) and whole
// domains (@example.com): the one home of the rule is Page.AdmitsEmail.

// AccessEmail is a page for the viewers the page lists by email.
const AccessEmail = "email"

// MaxViewers bounds a page's list of addresses and domains.
const MaxViewers = 1000

// AdmitsEmail reports whether an AccessEmail page admits the address
// email: listed itself, or its domain listed whole. A page of another kind
// admits nobody by address. email is compared in lower case, as the list
// is kept.
func (p Page) AdmitsEmail(email string) bool {
	if p.Access != AccessEmail {
		return false
	}
	email = strings.ToLower(strings.TrimSpace(email))
	at := strings.LastIndexByte(email, '@')
	if at <= 0 {
		return false
	}
	return slices.Contains(p.Viewers, email) || slices.Contains(p.Viewers, email[at:])
}

// checkViewers validates a page's list of viewers: each an address, by
// the one rule for an address Herald mails (checkAddress), or a domain,
// written @example.com or example.com, by the one rule for a domain
// (checkDNSName), kept as @example.com. The list is kept whatever the
// access, so it is checked whatever it is; a page for viewers by email
// needs at least one.
func checkViewers(access string, viewers []string) ([]string, error) {
	out := make([]string, 0, len(viewers))
	for _, v := range viewers {
		v = strings.TrimSpace(v)
		if v == "" {
			continue
		}
		if at := strings.IndexByte(v, '@'); at > 0 {
			addr, err := checkAddress(v, true)
			var ve *ValidationError
			if errors.As(err, &ve) {
				// The address rule's own words, on this field.
				return nil, invalid("viewers", "%s (a viewer is an address such as ana@example.com or a domain such as @example.com)", ve.Message)
			}
			if err != nil {
				return nil, err
			}
			v = addr
		} else {
			domain := strings.ToLower(strings.TrimPrefix(v, "@"))
			if msg := checkDNSName(domain, true); msg != "" {
				return nil, invalid("viewers", "%q is not an email address such as ana@example.com, nor a domain such as @example.com: %s", v, msg)
			}
			v = "@" + domain
		}
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	if len(out) > MaxViewers {
		return nil, invalid("viewers", "%d addresses and domains are more than the %d a page may have", len(out), MaxViewers)
	}
	if access == AccessEmail && len(out) == 0 {
		return nil, invalid("viewers", "a page for viewers by email needs at least one address or domain")
	}
	return out, nil
}
