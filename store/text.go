package store

import (
	"crypto/rand"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits on user-supplied text.
const (
	MaxNameLength        = 255
	MaxDescriptionLength = 2000
	MaxBodyLength        = 64 * 1024
)

// checkText trims s and checks it is valid UTF-8, within max runes, and (when
// required) not empty.
func checkText(field, s string, max int, required bool) (string, error) {
	s = strings.TrimSpace(s)
	if !utf8.ValidString(s) {
		return "", invalid(field, "must be valid UTF-8")
	}
	if required && s == "" {
		return "", invalid(field, "is required")
	}
	if n := utf8.RuneCountInString(s); n > max {
		return "", invalid(field, "is %d characters long; the limit is %d", n, max)
	}
	if strings.ContainsRune(s, 0) {
		return "", invalid(field, "must not contain NUL characters")
	}
	return s, nil
}

// checkLine is checkText for one-line text — a name, a title, an address —
// which must also hold no control character: C0 (tab and line breaks
// included), DEL or C1. They draw nothing a reader could check, make the
// SVG badge malformed XML, and a terminal or mail header takes them as
// commands (herald watch, List-Unsubscribe).
func checkLine(field, s string, max int, required bool) (string, error) {
	s, err := checkText(field, s, max, required)
	if err != nil {
		return "", err
	}
	if r, i, ok := FirstControl(s); ok {
		return "", invalid(field, "must not contain control characters (it holds %U at byte %d); keep it to one line of text", r, i)
	}
	return s, nil
}

// FirstControl finds the first control character in s (C0, DEL, C1): the
// one rule for text that must stay on one line, in a field or a header.
func FirstControl(s string) (r rune, at int, ok bool) {
	i := strings.IndexFunc(s, unicode.IsControl)
	if i < 0 {
		return 0, 0, false
	}
	r, _ = utf8.DecodeRuneInString(s[i:])
	return r, i, true
}

// OneLine makes text from elsewhere (an alert's summary) fit a one-line
// field: every run of white space and control characters becomes one
// space, and the ends are trimmed.
func OneLine(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }), " ")
}

const idAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

// newID returns a random 12-character id, like Statuspage's object ids.
func newID() string { return randomString(12) }

func randomString(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("store: crypto/rand failed: %v", err)) // never happens on supported platforms
	}
	for i := range b {
		// 256 % 36 != 0, so this is very slightly biased; irrelevant for ids.
		b[i] = idAlphabet[int(b[i])%len(idAlphabet)]
	}
	return string(b)
}
