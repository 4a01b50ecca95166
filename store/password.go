package store

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// argon2id parameters: OWASP's recommended minimum (19 MiB, 2 passes, 1
// lane). They are written into every hash, so raising them later only
// affects new passwords and old hashes keep verifying.
const (
	argonTime    = 2
	argonMemory  = 19 * 1024 // KiB
	argonThreads = 1
	argonKeyLen  = 32
	argonSaltLen = 16
)

// Password length limits. Long passphrases are welcome; the upper bound only
// stops a megabyte "password" from costing a megabyte of hashing.
const (
	MinPasswordLength = 12
	MaxPasswordLength = 256
)

// hashSlots bounds concurrent hashing: each argon2id call holds 19 MiB, and
// a burst of sign-ins must not become a burst of memory.
var hashSlots = make(chan struct{}, max(2, runtime.NumCPU()))

// hashPassword returns the PHC string of an argon2id hash of password.
func hashPassword(password string) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("random salt: %w", err)
	}
	hashSlots <- struct{}{}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	<-hashSlots
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}

var errBadHash = errors.New("unrecognised password hash")

// checkPassword reports whether password matches the PHC string encoded,
// comparing in constant time.
func checkPassword(encoded, password string) (bool, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, errBadHash
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, errBadHash
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m == 0 || t == 0 || p == 0 {
		return false, errBadHash
	}
	enc := base64.RawStdEncoding
	salt, err := enc.DecodeString(parts[4])
	if err != nil {
		return false, errBadHash
	}
	want, err := enc.DecodeString(parts[5])
	if err != nil || len(want) == 0 {
		return false, errBadHash
	}
	hashSlots <- struct{}{}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want)))
	<-hashSlots
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// dummyHash is verified against when an email is unknown, so that a
// failed sign-in takes as long whether or not the account exists.
var dummyHash = sync.OnceValue(func() string {
	h, err := hashPassword("not a real password, only for timing")
	if err != nil {
		panic(err)
	}
	return h
})

// checkable reports whether a sign-in's password is worth hashing at all:
// a megabyte "password" is wrong without costing a megabyte of argon2id.
func checkable(password string) bool { return len(password) <= 4*MaxPasswordLength }

// verifySignIn is checkPassword for a sign-in, counted (PasswordChecks)
// and timed (checkCost).
func (s *Store) verifySignIn(encoded, password string) (bool, error) {
	s.passwordChecks.Add(1)
	start := time.Now()
	ok, err := checkPassword(encoded, password)
	s.noteCheckCost(time.Since(start))
	return ok, err
}

// noteCheckCost keeps checkCost, a running mean (weighted 1/8 to the
// newest) of how long a sign-in's check takes here, waiting for a hash
// slot included: what a refusal must take to look like one.
func (s *Store) noteCheckCost(d time.Duration) {
	for {
		old := s.checkCost.Load()
		next := int64(d)
		if old != 0 {
			next = old + (int64(d)-old)/8
		}
		if s.checkCost.CompareAndSwap(old, next) {
			return
		}
	}
}

// firstCheckCost is one check's time, measured once, for a refusal that
// comes before any sign-in was checked.
var firstCheckCost = sync.OnceValue(func() time.Duration {
	hash := dummyHash()
	start := time.Now()
	_, _ = checkPassword(hash, "not the password")
	return time.Since(start)
})

// RefuseSignIn makes a sign-in refused without a check (too many failures)
// take as long as checking it would have, by waiting for as long as
// checks take here (checkCost), or until ctx ends. It does not hash: a
// refusal that answered at once would tell a guesser the account is
// locked, and one that hashed would let anyone burn the server's CPU and
// hash slots, delaying the owner's own sign-in, by posting to a locked
// account.
func (s *Store) RefuseSignIn(ctx context.Context, password string) {
	if !checkable(password) { // a check answers those at once too
		return
	}
	d := time.Duration(s.checkCost.Load())
	if d == 0 {
		d = firstCheckCost()
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-ctx.Done():
	}
}

// PasswordChecks is how many sign-in password verifications this store
// has run (refusals run none): a rise that sign-ins do not explain is
// someone guessing.
func (s *Store) PasswordChecks() int64 { return s.passwordChecks.Load() }

// checkNewPassword validates a password a person chose.
func checkNewPassword(field, pw string) error {
	if !utf8.ValidString(pw) {
		return invalid(field, "must be valid UTF-8")
	}
	n := utf8.RuneCountInString(pw)
	if n < MinPasswordLength {
		return invalid(field, "must be at least %d characters long", MinPasswordLength)
	}
	if n > MaxPasswordLength {
		return invalid(field, "is %d characters long; the limit is %d", n, MaxPasswordLength)
	}
	return nil
}

// oneTimePassword is a random password for a person to type once: 20
// characters from an alphabet without look-alikes (about 100 bits).
func oneTimePassword() string {
	return randomChars("abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789", 20)
}

// randomChars is n characters drawn from alphabet by crypto/rand.
func randomChars(alphabet string, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("store: crypto/rand failed: %v", err))
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}
