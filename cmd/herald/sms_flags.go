package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/herald-status/herald/notify"
)

// smsFlags are the serve flags for text messages. The provider's secrets
// come from the environment only (HERALD_TWILIO_ACCOUNT_SID,
// HERALD_TWILIO_AUTH_TOKEN), never from a flag that ps would show.
type smsFlags struct {
	provider, from, messagingService, gatewayURL, gatewayMethod, twilioAPI *string
	maxPerHour, maxPerIncident                                             *string
}

func addSMSFlags(fs *flagSet) *smsFlags {
	return &smsFlags{
		provider:         fs.String("sms-provider", "", "send text messages to SMS subscribers through twilio or gateway (default: SMS is off and the subscribe form offers no phone number)"),
		from:             fs.String("sms-from", "", "Twilio: the number (E.164) or alphanumeric sender id messages come from"),
		messagingService: fs.String("sms-messaging-service", "", "Twilio: a Messaging Service SID to send with instead of --sms-from"),
		twilioAPI:        fs.String("twilio-api-url", "https://api.twilio.com", "Twilio's API (for a test double or a regional edge)"),
		gatewayURL:       fs.String("sms-gateway-url", "", "gateway: the URL to call for each message, with {to} and {message} (URL-encoded), e.g. https://sms.example/send?to={to}&text={message}"),
		gatewayMethod:    fs.String("sms-gateway-method", "POST", "gateway: GET or POST"),
		maxPerHour:       fs.String("sms-max-per-hour", "100", "at most this many text messages an hour, to everyone, codes included (0: no cap); the rest are skipped and counted"),
		maxPerIncident:   fs.String("sms-max-per-incident", "5", "at most this many text messages to one subscriber about one incident or maintenance"),
	}
}

// config is the dispatcher's SMS configuration (nil when SMS is off) and
// the Twilio auth token that signs inbound messages ("" unless Twilio).
func (f *smsFlags) config() (*notify.SMSConfig, string, error) {
	if *f.provider == "" {
		return nil, "", nil
	}
	perHour, err := strconv.Atoi(*f.maxPerHour)
	if err != nil || perHour < 0 {
		return nil, "", fmt.Errorf("--sms-max-per-hour %q: want a whole number, 0 for no cap", *f.maxPerHour)
	}
	perIncident, err := positive("--sms-max-per-incident", *f.maxPerIncident)
	if err != nil {
		return nil, "", err
	}
	cfg := &notify.SMSConfig{MaxPerHour: perHour, MaxPerIncident: perIncident}
	switch strings.ToLower(*f.provider) {
	case "twilio":
		tw := &notify.Twilio{BaseURL: *f.twilioAPI, AccountSID: strings.TrimSpace(os.Getenv("HERALD_TWILIO_ACCOUNT_SID")),
			AuthToken: strings.TrimSpace(os.Getenv("HERALD_TWILIO_AUTH_TOKEN")), From: *f.from, MessagingServiceSID: *f.messagingService}
		if err := tw.Check(); err != nil {
			return nil, "", fmt.Errorf("--sms-provider twilio: %w", err)
		}
		cfg.Provider = tw
		return cfg, tw.AuthToken, nil
	case "gateway":
		gw := &notify.Gateway{URL: *f.gatewayURL, Method: *f.gatewayMethod}
		if err := gw.Check(); err != nil {
			return nil, "", fmt.Errorf("--sms-provider gateway: --sms-gateway-url: %w", err)
		}
		cfg.Provider = gw
		return cfg, "", nil
	}
	return nil, "", fmt.Errorf("--sms-provider %q: use twilio or gateway", *f.provider)
}
