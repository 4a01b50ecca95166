package notify

import (
	"strings"
	"testing"
)

// The dispatcher refuses a setting that would reach a mail header broken,
// whoever builds it; a good one passes, trailing slash trimmed.
func TestNewRefusesSettingsThatBreakEmail(t *testing.T) {
	t.Parallel()
	st := newStore(t)
	sink := newSMTPSink(t, sinkOptions{})
	good := func() Config {
		return Config{BaseURL: "https://status.acme.test/", PageName: "Acme", SMTP: sink.smtpConfig("none")}
	}
	tests := []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"CR in base URL", func(c *Config) { c.BaseURL = "https://status.acme.test\r" }, "control character"},
		{"relative base URL", func(c *Config) { c.BaseURL = "/status" }, "http:// or https://"},
		{"base URL with a password", func(c *Config) { c.BaseURL = "https://u:p@status.acme.test" }, "user name or password"},
		{"no base URL", func(c *Config) { c.BaseURL = "" }, "http:// or https://"},
		{"LF in page name", func(c *Config) { c.PageName = "Acme\nBcc: x@acme.test" }, "control character"},
		{"CR in From", func(c *Config) { c.SMTP.From = "status@acme.test\r" }, "control character"},
		{"domain literal From", func(c *Config) { c.SMTP.From = "status@[127.0.0.1]" }, "brackets"},
		{"control in Reply-To name", func(c *Config) { c.SMTP.ReplyTo = "\"A\x07\" <a@acme.test>" }, "control character"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := good()
			tt.change(&cfg)
			if _, err := New(st, cfg); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New: %v, want a refusal about %s", err, tt.want)
			}
		})
	}
	d, err := New(st, good())
	if err != nil || d.cfg.BaseURL != "https://status.acme.test" {
		t.Errorf("a good configuration: %v, base URL %q", err, d.cfg.BaseURL)
	}
}
