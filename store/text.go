package store

import (
	"crypto/rand"
	"fmt"
	"strings"
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
