// Package twiliosig signs and checks Twilio's webhook signatures
// (X-Twilio-Signature): Herald checks them on inbound messages, and the
// tests' stand-in for Twilio signs with them.
package twiliosig

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"maps"
	"net/url"
	"slices"
)

// Sign is the X-Twilio-Signature Twilio sends with a webhook,
// as it documents it: the base64 of the HMAC-SHA1, keyed with the auth
// token, of the full URL Twilio requested followed by each POST parameter
// — sorted by name (byte order), a name's values sorted too — as its name
// then its value.
func Sign(authToken, fullURL string, form url.Values) string {
	mac := hmac.New(sha1.New, []byte(authToken))
	mac.Write([]byte(fullURL))
	names := slices.Sorted(maps.Keys(form))
	for _, name := range names {
		values := slices.Clone(form[name])
		slices.Sort(values)
		for _, v := range slices.Compact(values) {
			mac.Write([]byte(name))
			mac.Write([]byte(v))
		}
	}
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// Check reports whether sig is Twilio's signature of the
// request; an empty one never is.
func Check(authToken, fullURL string, form url.Values, sig string) bool {
	if sig == "" || authToken == "" {
		return false
	}
	return hmac.Equal([]byte(Sign(authToken, fullURL, form)), []byte(sig))
}
