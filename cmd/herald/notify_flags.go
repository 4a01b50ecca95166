package main

import (
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/herald-status/herald/notify"
	"github.com/herald-status/herald/store"
)

// notifyFlags are the serve flags for delivering notifications: the SMTP
// relay for email subscribers, and the webhook SSRF allow list.
type notifyFlags struct {
	smtpHost, smtpPort, smtpUser, smtpPassword, smtpTLS *string
	smtpFrom, smtpReplyTo, smtpConcurrency, smtpRate    *string
	webhookAllow, webhookConcurrency                    *string
	chatSubscriptions                                   *bool
	outboxLease                                         *time.Duration
	deliveryRetention, failedRetention                  *time.Duration
}

func addNotifyFlags(fs *flagSet) *notifyFlags {
	keep := store.DefaultOutboxRetention()
	return &notifyFlags{
		smtpHost:           fs.String("smtp-host", "", "SMTP relay for email subscribers (default: email is off and the subscribe form hidden)"),
		smtpPort:           fs.String("smtp-port", "", "SMTP port (default 587 for starttls, 465 for tls, 25 for none)"),
		smtpUser:           fs.String("smtp-username", "", "SMTP AUTH user name (PLAIN, or LOGIN when that is all the relay offers)"),
		smtpPassword:       fs.String("smtp-password", "", "SMTP AUTH password"),
		smtpTLS:            fs.String("smtp-tls", "starttls", "SMTP transport security: none, starttls or tls (implicit)"),
		smtpFrom:           fs.String("smtp-from", "", `sender of notification emails, e.g. "Acme Status <status@acme.com>"`),
		smtpReplyTo:        fs.String("smtp-reply-to", "", "Reply-To of notification emails (default: none)"),
		smtpConcurrency:    fs.String("smtp-concurrency", "4", "SMTP connections sending at once"),
		smtpRate:           fs.String("smtp-rate", "0", "at most this many emails per second (0: no limit)"),
		webhookAllow:       fs.String("webhook-allow", "", "hosts or CIDRs webhooks may reach although internal, comma-separated (e.g. 10.1.2.3,hooks.internal)"),
		chatSubscriptions:  fs.Bool("chat-subscriptions", false, "offer visitors chat subscriptions on the subscribe page: a Slack, Microsoft Teams, Discord or Google Chat incoming webhook URL, confirmed from the channel"),
		webhookConcurrency: fs.String("webhook-concurrency", "200", "webhook requests in flight at once"),
		outboxLease:        fs.Duration("outbox-lease", 2*time.Minute, "how long a notification claimed by a dispatcher stays claimed: after a crash another replica sends it once this has passed; it must exceed the slowest send"),
		deliveryRetention:  fs.Duration("delivery-retention", keep.Delivered, "how long sent (and skipped) deliveries are kept, one per recipient; how many each notification sent, failed and skipped is kept for good"),
		failedRetention:    fs.Duration("failed-delivery-retention", keep.Failed, "how long failed deliveries, the jobs they belong to and webhook attempt logs are kept, for the delivery log and replays (at least --delivery-retention)"),
	}
}

// retention is how long the outbox keeps finished deliveries.
func (f *notifyFlags) retention() (store.OutboxRetention, error) {
	r := store.OutboxRetention{Delivered: *f.deliveryRetention, Failed: *f.failedRetention}
	if err := r.Check(); err != nil {
		return r, fmt.Errorf("--delivery-retention %s, --failed-delivery-retention %s: %w", r.Delivered, r.Failed, err)
	}
	return r, nil
}

// check refuses the mail settings that would make every email fail, before
// anything starts.
func (f *notifyFlags) check() error {
	for _, m := range []struct{ flag, value string }{{"smtp-from", *f.smtpFrom}, {"smtp-reply-to", *f.smtpReplyTo}} {
		if m.value == "" {
			continue
		}
		if _, err := notify.CheckMailbox(m.value); err != nil {
			return fmt.Errorf("--%s (%s) %q %w", m.flag, envName(m.flag), m.value, err)
		}
	}
	return nil
}

// build makes the dispatcher and what the web server needs to know of it.
func (f *notifyFlags) build(st *store.Store, baseURL, pageName string, logger *slog.Logger, sms *notify.SMSConfig) (*notify.Dispatcher, *notify.Guard, bool, error) {
	guard, err := notify.NewGuard(*f.webhookAllow)
	if err != nil {
		return nil, nil, false, fmt.Errorf("--webhook-allow: %w", err)
	}
	hooks, err := positive("--webhook-concurrency", *f.webhookConcurrency)
	if err != nil {
		return nil, nil, false, err
	}
	if *f.outboxLease < time.Second {
		return nil, nil, false, fmt.Errorf("--outbox-lease %s: give at least a second, e.g. 2m", *f.outboxLease)
	}
	cfg := notify.Config{BaseURL: baseURL, PageName: pageName, Logger: logger, Lease: *f.outboxLease,
		Webhooks: &notify.WebhookConfig{Guard: guard, Concurrency: hooks}, SMS: sms}
	if *f.smtpHost != "" {
		port := 0
		if *f.smtpPort != "" {
			if port, err = positive("--smtp-port", *f.smtpPort); err != nil {
				return nil, nil, false, err
			}
		}
		conc, err := positive("--smtp-concurrency", *f.smtpConcurrency)
		if err != nil {
			return nil, nil, false, err
		}
		rate, err := strconv.ParseFloat(*f.smtpRate, 64)
		if err != nil || rate < 0 {
			return nil, nil, false, fmt.Errorf("--smtp-rate %q: want a number of emails per second, 0 for no limit", *f.smtpRate)
		}
		cfg.SMTP = &notify.SMTPConfig{Host: *f.smtpHost, Port: port, Username: *f.smtpUser, Password: *f.smtpPassword, TLS: *f.smtpTLS,
			From: *f.smtpFrom, ReplyTo: *f.smtpReplyTo, Concurrency: conc, Rate: rate, Timeout: 30 * time.Second}
	}
	d, err := notify.New(st, cfg)
	if err != nil {
		return nil, nil, false, fmt.Errorf("notifications: %w", err)
	}
	return d, guard, cfg.SMTP != nil, nil
}

func positive(flag, v string) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("%s %q: want a whole number from 1", flag, v)
	}
	return n, nil
}
