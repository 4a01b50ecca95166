package main

import "testing"

// SMS settings that cannot work are refused before anything starts, saying
// which: an unknown provider, Twilio without its secrets in the
// environment or a sender, a gateway URL without its placeholders.
func TestServeRefusesBadSMSSettings(t *testing.T) {
	t.Setenv("HERALD_TWILIO_ACCOUNT_SID", "")
	t.Setenv("HERALD_TWILIO_AUTH_TOKEN", "")
	serveRefuses(t, "use twilio or gateway", "--sms-provider", "pigeon")
	serveRefuses(t, "HERALD_TWILIO_AUTH_TOKEN", "--sms-provider", "twilio", "--sms-from", "+15005550006")
	serveRefuses(t, "{to} and {message}", "--sms-provider", "gateway", "--sms-gateway-url", "https://sms.example/send?to={to}")
	serveRefuses(t, "GET or POST", "--sms-provider", "gateway", "--sms-gateway-url", "https://sms.example/send?to={to}&m={message}", "--sms-gateway-method", "PUT")
	serveRefuses(t, "--sms-max-per-hour", "--sms-provider", "gateway", "--sms-gateway-url", "https://sms.example/send?to={to}&m={message}", "--sms-max-per-hour", "-1")
	t.Setenv("HERALD_TWILIO_ACCOUNT_SID", "AC0")
	t.Setenv("HERALD_TWILIO_AUTH_TOKEN", "token")
	serveRefuses(t, "--sms-from", "--sms-provider", "twilio")
}
