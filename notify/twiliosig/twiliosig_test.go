package twiliosig

import (
	"net/url"
	"testing"
)

// Twilio's documented example (its security page, and the request
// validator tests of its PHP and C# libraries): auth token 12345, this URL
// and these POST parameters are signed RSOYDt4T1cUTdK1PDd93/VVr8B8=.
func TestDocumentedExample(t *testing.T) {
	t.Parallel()
	const token, u, want = "12345", "https://mycompany.com/myapp.php?foo=1&bar=2", "RSOYDt4T1cUTdK1PDd93/VVr8B8="
	form := url.Values{
		"CallSid": {"CA1234567890ABCDE"}, "Caller": {"+14158675309"}, "Digits": {"1234"},
		"From": {"+14158675309"}, "To": {"+18005551212"},
	}
	if got := Sign(token, u, form); got != want {
		t.Fatalf("Sign = %q, want Twilio's %q", got, want)
	}
	if !Check(token, u, form, want) {
		t.Error("Check refuses Twilio's example")
	}
	tampered := url.Values{}
	for k, v := range form {
		tampered[k] = v
	}
	tampered.Set("Digits", "9999")
	for name, ok := range map[string]bool{
		"another token":     Check("54321", u, form, want),
		"another URL":       Check(token, u+"&baz=3", form, want),
		"a changed value":   Check(token, u, tampered, want),
		"no signature":      Check(token, u, form, ""),
		"a wrong signature": Check(token, u, form, "RSOYDt4T1cUTdK1PDd93/VVr8B8"),
	} {
		if ok {
			t.Errorf("%s passes", name)
		}
	}
}
