package notify

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/herald-status/herald/store"
)

// SMSStopPath is the short stop link every text message carries; the web
// package serves it.
const SMSStopPath = "/s/"

// SMSConfig turns text messages on: a provider, and the caps that protect
// the operator's bill.
type SMSConfig struct {
	Provider SMSProvider
	// MaxPerIncident is the most messages one subscriber is sent about one
	// incident or maintenance; later ones are skipped and counted.
	// Default 5.
	MaxPerIncident int
	// MaxPerHour is the most messages sent in any hour, to everyone,
	// codes included; 0 means no cap.
	MaxPerHour int
	// Retry is the wait before each retry of a message the provider could
	// not take. Default 1m, 5m, 30m.
	Retry []time.Duration
}

// SMSProvider sends one text message.
type SMSProvider interface {
	Name() string
	Send(ctx context.Context, to, body string) (SMSReceipt, error)
}

// SMSReceipt is what a provider says of a message it took: its id and,
// when it reports one, its price as it wrote it.
type SMSReceipt struct {
	ID, Price, PriceUnit string
}

// SMSError is a provider's refusal. Temporary ones (throttling, the
// provider's own trouble, the network) are retried; others fail for good.
type SMSError struct {
	Status    int // HTTP status, 0 when there was no answer
	Temporary bool
	Message   string
}

func (e *SMSError) Error() string { return e.Message }

// smsSender is the SMS channel's worker: one at a time, so that the caps
// count every message before the next.
type smsSender struct {
	d   *Dispatcher
	cfg SMSConfig
}

func newSMSSender(d *Dispatcher, cfg SMSConfig) (*smsSender, error) {
	if cfg.Provider == nil {
		return nil, errors.New("sms: no provider")
	}
	if cfg.MaxPerIncident <= 0 {
		cfg.MaxPerIncident = 5
	}
	if cfg.MaxPerHour < 0 {
		return nil, fmt.Errorf("sms: the most messages an hour must be 0 (no cap) or more, not %d", cfg.MaxPerHour)
	}
	if len(cfg.Retry) == 0 {
		cfg.Retry = []time.Duration{time.Minute, 5 * time.Minute, 30 * time.Minute}
	}
	return &smsSender{d: d, cfg: cfg}, nil
}

func (s *smsSender) close() {}

func (s *smsSender) send(ctx context.Context, batch []outgoing) []store.DeliveryResult {
	results := make([]store.DeliveryResult, len(batch))
	for i, o := range batch {
		results[i] = s.sendOne(ctx, o.job, o.Delivery)
	}
	return results
}

func (s *smsSender) sendOne(ctx context.Context, job *preparedJob, dl store.Delivery) store.DeliveryResult {
	res := store.DeliveryResult{Delivery: dl}
	code := job.Kind == store.JobSMSCode
	switch {
	case dl.SMSStatus == "":
		res.Outcome, res.Error = store.Skipped, "the subscriber was removed"
		return res
	case code && (dl.SMSStatus != store.SMSPending || job.Payload.SMSCode == ""):
		res.Outcome, res.Error = store.Skipped, "the subscription is "+string(dl.SMSStatus)
		return res
	case !code && dl.SMSStatus != store.SMSConfirmed:
		res.Outcome, res.Error = store.Skipped, "the subscription is "+string(dl.SMSStatus)
		return res
	}
	forObject, lastHour, err := s.d.st.SMSSentCounts(ctx, dl.JobID, dl.RecipientID, time.Now().Add(-time.Hour))
	if err != nil {
		res.Outcome, res.RetryIn, res.Error = store.Retry, time.Minute, err.Error()
		return res
	}
	capped := ""
	switch {
	case !code && forObject >= s.cfg.MaxPerIncident:
		capped = fmt.Sprintf("cap: %d messages about this %s sent already", forObject, job.ObjectType)
	case s.cfg.MaxPerHour > 0 && lastHour >= s.cfg.MaxPerHour:
		capped = fmt.Sprintf("cap: %d messages sent in the last hour", lastHour)
	}
	if capped != "" {
		res.Outcome, res.Error = store.Skipped, capped
		if err := s.d.st.LogSMS(ctx, res, capped); err != nil {
			s.d.log.Error("sms skipped by a cap, not counted", "err", err)
		}
		return res
	}
	site, _, _, err := s.d.pageSite(ctx, dl.PageID)
	if err != nil {
		res.Outcome, res.RetryIn, res.Error = store.Retry, time.Minute, err.Error()
		return res
	}
	var body string
	if code {
		body = smsCodeText(site.Name, job.Payload.SMSCode)
	} else {
		sc, err := s.d.st.PageScope(ctx, dl.PageID)
		if err != nil {
			res.Outcome, res.RetryIn, res.Error = store.Retry, time.Minute, err.Error()
			return res
		}
		m, err := s.d.chatMessageOf(asPageShows(job.Job, sc), site)
		if err != nil {
			res.Outcome, res.Error = store.Failed, err.Error()
			return res
		}
		body = smsText(m, s.d.cfg.BaseURL+SMSStopPath+dl.ManageToken)
	}
	start := time.Now()
	rc, err := s.cfg.Provider.Send(ctx, dl.Phone, body)
	res.Latency = time.Since(start)
	if err != nil {
		var se *SMSError
		res.Error = err.Error()
		if errors.As(err, &se) {
			res.Status = se.Status
			if !se.Temporary {
				res.Outcome = store.Failed
				return res
			}
		}
		wait, ok := s.d.retryIn(s.cfg.Retry, dl.Attempt)
		if !ok {
			res.Outcome = store.Failed
			return res
		}
		res.Outcome, res.RetryIn = store.Retry, wait
		return res
	}
	res.Outcome, res.Status = store.Sent, 200
	res.ProviderID, res.Price, res.PriceUnit = rc.ID, rc.Price, rc.PriceUnit
	if err := s.d.st.LogSMS(ctx, res, ""); err != nil {
		// Sent all the same: only the caps and the console's count miss it.
		s.d.log.Error("sms sent, not logged", "err", err)
	}
	return res
}

// smsCodeText is the message carrying a confirmation code.
func smsCodeText(page, code string) string {
	return gsmText(fmt.Sprintf("%s: your code is %s. It expires in %d minutes. If you did not ask for it, ignore this message.", page, code, int(store.SMSCodeLifetime/time.Minute)))
}

// SMS lengths: one segment holds 160 GSM-7 characters or 70 UCS-2 ones; a
// message of several segments 153 or 67 in each (the rest carries the
// header that joins them).
const (
	gsmSingle, gsmPart   = 160, 153
	ucs2Single, ucs2Part = 70, 67
)

// smsText words a job's message: the page and what happened, as much of the
// update as fits, then always the link to it and the stop link. It is one
// segment when it fits in one; otherwise the news is cut at a word so that
// the whole takes two segments at most (the two links alone take most of
// one).
func smsText(m chatMessage, stop string) string {
	head := m.Page + ": " + m.Title
	if m.Status != "" {
		head += " - " + m.Status
	}
	head = gsmText(head)
	body := gsmText(strings.Join(strings.Fields(m.Body), " "))
	tail := gsmText(" " + m.Link + " Stop: " + stop)
	full := head
	if body != "" {
		full += ". " + body
	}
	gsm := isGSM(full + tail)
	single, part := gsmSingle, gsmPart
	if !gsm {
		single, part = ucs2Single, ucs2Part
	}
	if smsLen(full+tail, gsm) <= single {
		return full + tail
	}
	return cutSMS(full, 2*part-smsLen(tail, gsm), gsm) + tail
}

// cutSMS cuts s to at most room (in its encoding's characters), at a word,
// marking the cut with "...".
func cutSMS(s string, room int, gsm bool) string {
	if smsLen(s, gsm) <= room {
		return s
	}
	if room <= 3 {
		return ""
	}
	runes := []rune(s)
	n := 0
	cut := 0
	for i, r := range runes {
		w := charLen(r, gsm)
		if n+w > room-3 {
			break
		}
		n += w
		cut = i + 1
	}
	out := string(runes[:cut])
	if sp := strings.LastIndexByte(out, ' '); sp > len(out)/2 {
		out = out[:sp]
	}
	return strings.TrimRight(out, " .,;:-") + "..."
}

// gsmReplacer makes typographic punctuation GSM-7, so that a message
// typed in a word processor still fits 160 characters a segment.
var gsmReplacer = strings.NewReplacer(
	"\u2018", "'", "\u2019", "'", "\u201a", "'", "\u201b", "'", "\u2032", "'",
	"\u201c", `"`, "\u201d", `"`, "\u201e", `"`, "\u00ab", `"`, "\u00bb", `"`,
	"\u2013", "-", "\u2014", "-", "\u2012", "-", "\u2015", "-", "\u2212", "-", "\u2010", "-", "\u2011", "-",
	"\u2026", "...", "\u00a0", " ", "\u2009", " ", "\u202f", " ", "\u200b", "", "\u2022", "-", "\u00b7", "-",
	"\t", " ", "\r", "", "\n", " ",
)

func gsmText(s string) string { return gsmReplacer.Replace(s) }

// The GSM 03.38 default alphabet and its extension table (whose characters
// take two).
const (
	gsmBasic = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
	gsmExt   = "^{}\\[~]|€\f"
)

func isGSM(s string) bool {
	for _, r := range s {
		if !strings.ContainsRune(gsmBasic, r) && !strings.ContainsRune(gsmExt, r) {
			return false
		}
	}
	return true
}

func charLen(r rune, gsm bool) int {
	if gsm {
		if strings.ContainsRune(gsmExt, r) {
			return 2
		}
		return 1
	}
	return len(utf16.Encode([]rune{r}))
}

// smsLen is s's length in its encoding's characters.
func smsLen(s string, gsm bool) int {
	n := 0
	for _, r := range s {
		n += charLen(r, gsm)
	}
	return n
}

// smsSegments is how many segments a message takes, and whether it is
// GSM-7.
func smsSegments(s string) (int, bool) {
	gsm := isGSM(s)
	n := smsLen(s, gsm)
	single, part := gsmSingle, gsmPart
	if !gsm {
		single, part = ucs2Single, ucs2Part
	}
	if n <= single {
		return 1, gsm
	}
	return (n + part - 1) / part, gsm
}
