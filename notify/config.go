package notify

import (
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"strings"

	"github.com/herald-status/herald/store"
)

// The settings that reach a mail header — the base URL (List-Unsubscribe),
// the page name (Subject), the sender and Reply-To — are checked once, when
// the dispatcher is made: a bad one would otherwise start a server that
// looks healthy while every email it tries fails for good.

// CheckBaseURL validates the public URL of the status page and returns it
// without a trailing slash: an absolute http or https URL with a host, no
// user name or password, no query or fragment (links are made by
// appending paths to it), and no control characters (a CR from a CRLF
// environment file would end the List-Unsubscribe header).
func CheckBaseURL(raw string) (string, error) {
	if err := noControl(raw); err != nil {
		return "", err
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("is not a URL: %w", err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return "", errors.New("must start with http:// or https://")
	case u.Host == "" || u.Hostname() == "":
		return "", errors.New("must name a host, as in https://status.example.com")
	case u.User != nil:
		return "", errors.New("must not carry a user name or password")
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(raw, "#"):
		return "", errors.New("must not have a query (?) or fragment (#): links are made by adding paths to it")
	case u.Opaque != "":
		return "", errors.New("must be of the form https://host[:port][/path]")
	}
	return strings.TrimRight(raw, "/"), nil
}

// CheckHeaderText refuses text for a mail header (the page name, in every
// Subject) that holds a control character: a line break would end the
// header, and the others have no business in one.
func CheckHeaderText(v string) error { return noControl(v) }

// noControl refuses C0 and C1 control characters and DEL, naming the first.
func noControl(v string) error {
	if r, i, ok := store.FirstControl(v); ok {
		return fmt.Errorf("contains the control character %U (%q) at byte %d", r, r, i)
	}
	return nil
}

// CheckMailbox validates a sender or Reply-To, "Name <address>" or a bare
// address: no control characters, and an address that follows the rule for
// every address Herald mails (store.CheckEmail).
func CheckMailbox(v string) (mail.Address, error) {
	if err := CheckHeaderText(v); err != nil {
		return mail.Address{}, err
	}
	a, err := mail.ParseAddress(v)
	if err != nil {
		return mail.Address{}, fmt.Errorf("is not an address such as \"Acme Status <status@acme.com>\": %w", err)
	}
	if err := CheckHeaderText(a.Name); err != nil {
		return mail.Address{}, err
	}
	if _, err := store.CheckEmail(a.Address); err != nil {
		var ve *store.ValidationError
		if errors.As(err, &ve) {
			return mail.Address{}, fmt.Errorf("is not an address mail can be sent from: %s", ve.Message)
		}
		return mail.Address{}, err
	}
	return *a, nil
}
