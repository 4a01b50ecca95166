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

// mayHear reports whether the address email may subscribe to the page with
// id ("" the default page), and go on hearing from it: anyone for a page
// for everyone or for some networks (its form is only reachable from
// them), a listed viewer for a page for viewers by email, an active
// console user for a page for signed-in people. The one home of the rule
// for subscribers; a page's own visitors are judged by web's pageAccess.
func (t *tx) mayHear(id, email string) (bool, error) {
	if id == "" {
		return true, nil
	}
	p, err := t.page(id)
	if err != nil {
		return false, asFieldError("page_id", err)
	}
	switch p.Access {
	case AccessEmail:
		return p.AdmitsEmail(email), nil
	case AccessSignedIn:
		var n int
		if err := t.QueryRowContext(t.ctx, `SELECT count(*) FROM users WHERE email = ? AND disabled_at IS NULL`, strings.ToLower(email)).Scan(&n); err != nil {
			return false, err
		}
		return n > 0, nil
	}
	return true, nil
}

// dropUnheardEverywhere is dropUnheard for every page of access.
func (t *tx) dropUnheardEverywhere(access string) error {
	pages, err := listPages(t.ctx, t.sqlTx, `WHERE access = ?`, access)
	if err != nil {
		return err
	}
	for _, p := range pages {
		if err := t.dropUnheard(p); err != nil {
			return err
		}
	}
	return nil
}

// dropUnheard unsubscribes the subscribers of page p who may no longer
// hear from it (mayHear), after its access or viewers changed: what it
// shows goes only to those it is for.
func (t *tx) dropUnheard(p Page) error {
	if !p.Private() || p.Access == AccessIP {
		return nil
	}
	rows, err := t.QueryContext(t.ctx, `SELECT id, email FROM subscribers WHERE page_id = ? AND status <> 'unsubscribed'`, p.ID)
	if err != nil {
		return err
	}
	type sub struct{ id, email string }
	var subs []sub
	for rows.Next() {
		var s sub
		if err := rows.Scan(&s.id, &s.email); err != nil {
			rows.Close()
			return err
		}
		subs = append(subs, s)
	}
	if err := errors.Join(rows.Close(), rows.Err()); err != nil {
		return err
	}
	dropped := 0
	for _, s := range subs {
		ok, err := t.mayHear(p.ID, s.email)
		if err != nil {
			return err
		}
		if ok {
			continue
		}
		if _, err := t.exec(`UPDATE subscribers SET status = 'unsubscribed', updated_at = ? WHERE id = ?`, t.now, s.id); err != nil {
			return err
		}
		dropped++
	}
	if dropped > 0 {
		t.record("subscriber.unsubscribe", "page", p.ID, nil, map[string]any{"page": p.ID, "unsubscribed": dropped, "why": "may no longer see the page"})
	}
	return nil
}
