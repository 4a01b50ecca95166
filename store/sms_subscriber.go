package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/nyaruka/phonenumbers"
)

// An SMS subscriber is a phone number that asked to hear of what a page
// shows, as an email subscriber does (the same page and components rules:
// checkSubscriberComponents to subscribe, pagesShowing to hear). It
// confirms with a 6-digit code sent to it by SMS, and stops by replying
// STOP or by the stop link every message carries.

// SMSStatus is where an SMS subscription stands.
type SMSStatus string

const (
	SMSPending   SMSStatus = "pending"   // waiting for the code
	SMSConfirmed SMSStatus = "confirmed" // receives notifications
	SMSStopped   SMSStatus = "stopped"   // replied STOP, used its stop link, or an admin stopped it
)

// JobSMSCode is the message carrying a confirmation code; its object is
// the SMS subscriber.
const JobSMSCode = "sms.code"

// The code's rules: how long it lasts, how many tries it takes, and how
// often a number may be sent a new one, whoever fills in the form.
const (
	SMSCodeLifetime = 10 * time.Minute
	SMSCodeTries    = 5
	SMSCodeInterval = time.Minute
)

const purposeSMSStop = "sms-stop"

// SMSSubscriber is a phone number's subscription to a page.
type SMSSubscriber struct {
	ID     string    `json:"id"`
	PageID string    `json:"page_id"` // "" the default page
	Phone  string    `json:"phone"`   // E.164
	Status SMSStatus `json:"status"`
	// Components it follows; empty means every component.
	Components  []string   `json:"components"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
	ConfirmedAt *time.Time `json:"confirmed_at"`
	// What was sent to it: messages, and their cost as the provider
	// reported it (summed per unit, "" when none was reported).
	Sent int    `json:"sent"`
	Cost string `json:"cost"`
}

// MaskedPhone is the number as the console shows it: its country code and
// last two digits.
func (s SMSSubscriber) MaskedPhone() string { return MaskPhone(s.Phone) }

// MaskPhone hides all but a number's first three characters and last two.
func MaskPhone(e164 string) string {
	if len(e164) <= 5 {
		return strings.Repeat("•", len(e164))
	}
	return e164[:3] + strings.Repeat("•", len(e164)-5) + e164[len(e164)-2:]
}

// SMSSubscriberInput is the subscribe form's phone part.
type SMSSubscriberInput struct {
	PageID     string // "" the default page
	Phone      string
	Components []string
}

// CheckPhone validates a phone number a visitor typed, in international
// form (+ and the country code), and returns it as E.164. It refuses what
// does not parse, is not a valid number, and what costs its sender more
// than a message or reaches no person: premium-rate and shared-cost
// numbers and short codes.
func CheckPhone(raw string) (string, error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return "", invalid("phone", "is required")
	}
	if len(s) > 32 {
		return "", invalid("phone", "is %d characters long; a phone number is at most 15 digits", len(s))
	}
	if strings.HasPrefix(s, "00") {
		s = "+" + s[2:]
	}
	if !strings.HasPrefix(s, "+") {
		return "", invalid("phone", "must start with + and the country code, as in +33 6 12 34 56 78")
	}
	n, err := phonenumbers.Parse(s, "")
	if err != nil {
		return "", invalid("phone", "%q is not a phone number: write it with + and the country code, as in +33 6 12 34 56 78", raw)
	}
	region := phonenumbers.GetRegionCodeForNumber(n)
	national := phonenumbers.GetNationalSignificantNumber(n)
	if phonenumbers.IsValidShortNumber(n) || (region != "" && phonenumbers.IsPossibleShortNumberForRegion(n, region) && len(national) <= 6) {
		return "", invalid("phone", "%q is a short code; give a mobile number", raw)
	}
	if !phonenumbers.IsValidNumber(n) {
		return "", invalid("phone", "%q is not a valid phone number", raw)
	}
	switch phonenumbers.GetNumberType(n) {
	case phonenumbers.PREMIUM_RATE:
		return "", invalid("phone", "%q is a premium-rate number; give a mobile number", raw)
	case phonenumbers.SHARED_COST:
		return "", invalid("phone", "%q is a shared-cost number; give a mobile number", raw)
	}
	return phonenumbers.Format(n, phonenumbers.E164), nil
}

// SubscribeSMS handles the phone form: a new number, or one pending or
// stopped, is sent a new code (but not within SMSCodeInterval of the last
// one); a confirmed one is sent nothing. It returns nothing that tells
// whether the number was known.
func (s *Store) SubscribeSMS(ctx context.Context, in SMSSubscriberInput) error {
	in.PageID = subscriberPage(in.PageID)
	err := s.inTx(ctx, func(t *tx) error {
		phone, err := CheckPhone(in.Phone)
		if err != nil {
			return err
		}
		comps, err := t.checkSubscriberComponents(in.PageID, in.Components)
		if err != nil {
			return err
		}
		// A page for some people only hears of them by their email
		// address (mayHear): a number cannot show it is one of them.
		if in.PageID != "" {
			p, err := t.page(in.PageID)
			if err != nil {
				return asFieldError("page_id", err)
			}
			if p.Access != AccessPublic {
				return invalid("phone", "text messages are for public pages only")
			}
		}
		if err := t.lock("sms_phone", in.PageID+" "+phone); err != nil {
			return err
		}
		co, _ := json.Marshal(comps)
		var id string
		var status SMSStatus
		var sent sql.NullTime
		err = t.QueryRowContext(t.ctx, `SELECT id, status, code_sent_at FROM sms_subscribers WHERE page_id = ? AND phone = ?`, in.PageID, phone).Scan(&id, &status, &sent)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			id = newID()
			if _, err := t.exec(`INSERT INTO sms_subscribers (id, page_id, phone, status, components, token_nonce, created_at, updated_at) VALUES (?, ?, ?, 'pending', ?, ?, ?, ?)`,
				id, in.PageID, phone, string(co), randomString(16), t.now, t.now); err != nil {
				return fmt.Errorf("insert sms subscriber: %w", err)
			}
			after, err := t.smsSubscriber(id)
			if err != nil {
				return err
			}
			t.ctx = WithActor(t.ctx, Actor{Type: "visitor", Name: MaskPhone(phone)})
			t.record("sms_subscriber.create", "sms_subscriber", id, nil, after)
		case err != nil:
			return err
		case status == SMSConfirmed:
			return nil
		case sent.Valid && t.now.Sub(sent.Time) < SMSCodeInterval:
			return nil
		default:
			// Stopped: it starts afresh with a new nonce, so that no stop
			// link sent before names it.
			nonce := ""
			if status == SMSStopped {
				nonce = randomString(16)
			}
			if _, err := t.exec(`UPDATE sms_subscribers SET status = 'pending', components = ?, token_nonce = CASE WHEN ? = '' THEN token_nonce ELSE ? END, updated_at = ? WHERE id = ?`,
				string(co), nonce, nonce, t.now, id); err != nil {
				return err
			}
		}
		return t.sendSMSCode(id)
	})
	if err != nil {
		return fmt.Errorf("store: subscribe sms: %w", err)
	}
	return nil
}

// sendSMSCode makes a new code for a subscriber, keeps its hash, and queues
// the message carrying it. The code itself is in the job's payload only
// until the outbox has sent it (sms.go clears it then).
func (t *tx) sendSMSCode(id string) error {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		return fmt.Errorf("sms code: %w", err)
	}
	code := fmt.Sprintf("%06d", n.Int64())
	if _, err := t.exec(`UPDATE sms_subscribers SET code_hash = ?, code_expires_at = ?, code_tries = 0, code_sent_at = ? WHERE id = ?`,
		smsCodeHash(id, code), t.now.Add(SMSCodeLifetime), t.now, id); err != nil {
		return err
	}
	t.jobs = append(t.jobs, pendingJob{Job: Job{Kind: JobSMSCode, ObjectType: "sms_subscriber", ObjectID: id, Payload: JobPayload{SMSCode: code}}, sms: true})
	return nil
}

func smsCodeHash(id, code string) string {
	sum := sha256.Sum256([]byte("herald sms code\x00" + id + "\x00" + code))
	return hex.EncodeToString(sum[:])
}

// ConfirmSMS checks the code typed for a number on a page and, when it is
// the one last sent, unexpired and tried fewer than SMSCodeTries times,
// confirms the subscription. A wrong code counts a try (and that is kept
// though the call fails). An unknown number gets the wrong code's answer.
func (s *Store) ConfirmSMS(ctx context.Context, pageID, rawPhone, code string) (SMSSubscriber, error) {
	pageID = subscriberPage(pageID)
	var out SMSSubscriber
	var refused error
	err := s.inTx(ctx, func(t *tx) error {
		phone, err := CheckPhone(rawPhone)
		if err != nil {
			return err
		}
		code = strings.Join(strings.Fields(code), "")
		if len(code) != 6 || strings.Trim(code, "0123456789") != "" {
			return invalid("code", "is the 6 digits of the text message")
		}
		if err := t.lock("sms_phone", pageID+" "+phone); err != nil {
			return err
		}
		wrong := invalid("code", "is not the code sent to this number")
		var id, hash string
		var status SMSStatus
		var expires sql.NullTime
		var tries int
		err = t.QueryRowContext(t.ctx, `SELECT id, status, code_hash, code_expires_at, code_tries FROM sms_subscribers WHERE page_id = ? AND phone = ?`, pageID, phone).
			Scan(&id, &status, &hash, &expires, &tries)
		if errors.Is(err, sql.ErrNoRows) {
			return wrong
		}
		if err != nil {
			return err
		}
		matches := hash != "" && subtle.ConstantTimeCompare([]byte(hash), []byte(smsCodeHash(id, code))) == 1
		switch {
		case status == SMSConfirmed && matches:
			return invalid("code", "has been used already: this number is subscribed")
		case status != SMSPending || hash == "":
			return wrong
		case tries >= SMSCodeTries:
			return invalid("code", "was tried %d times; ask for a new code", SMSCodeTries)
		case !expires.Valid || !t.now.Before(expires.Time):
			return invalid("code", "has expired; ask for a new code")
		case !matches:
			// The try is kept: the transaction commits, the call fails.
			if _, err := t.exec(`UPDATE sms_subscribers SET code_tries = code_tries + 1 WHERE id = ?`, id); err != nil {
				return err
			}
			left := SMSCodeTries - tries - 1
			if left == 0 {
				refused = invalid("code", "is not the code sent to this number; ask for a new code")
			} else {
				refused = invalid("code", "is not the code sent to this number; %d tries left", left)
			}
			return nil
		}
		before, err := t.smsSubscriber(id)
		if err != nil {
			return err
		}
		if _, err := t.exec(`UPDATE sms_subscribers SET status = 'confirmed', confirmed_at = ?, updated_at = ?, code_expires_at = NULL WHERE id = ?`, t.now, t.now, id); err != nil {
			return err
		}
		if out, err = t.smsSubscriber(id); err != nil {
			return err
		}
		t.ctx = WithActor(t.ctx, Actor{Type: "visitor", Name: MaskPhone(phone)})
		t.record("sms_subscriber.confirm", "sms_subscriber", id, before, out)
		return nil
	})
	if err == nil {
		err = refused
	}
	if err != nil {
		return SMSSubscriber{}, fmt.Errorf("store: confirm sms: %w", err)
	}
	return out, nil
}

// StopSMSNumber stops every subscription of a number: its reply STOP
// (the provider's inbound webhook) speaks for the number on every page.
// It returns how many it stopped; an unknown number stops none.
func (s *Store) StopSMSNumber(ctx context.Context, rawPhone string) (int, error) {
	phone, err := CheckPhone(rawPhone)
	if err != nil {
		return 0, fmt.Errorf("store: stop sms: %w", err)
	}
	n := 0
	err = s.inTx(ctx, func(t *tx) error {
		ids, err := stringsOf(t.QueryContext(t.ctx, `SELECT id FROM sms_subscribers WHERE phone = ? AND status <> 'stopped' ORDER BY seq`, phone))
		if err != nil {
			return err
		}
		t.ctx = WithActor(t.ctx, Actor{Type: "sms", Name: MaskPhone(phone)})
		for _, id := range ids {
			if err := t.stopSMS(id, "sms_subscriber.stop"); err != nil {
				return err
			}
		}
		n = len(ids)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("store: stop sms: %w", err)
	}
	return n, nil
}

// SMSByStopLink returns the subscription a stop link names.
func (s *Store) SMSByStopLink(ctx context.Context, token string) (SMSSubscriber, error) {
	id, _, err := checkLink(ctx, s.read, &s.links, `SELECT token_nonce FROM sms_subscribers WHERE id = ?`, token, purposeSMSStop, false, s.now())
	if err != nil {
		return SMSSubscriber{}, fmt.Errorf("store: sms subscriber by link: %w", err)
	}
	list, err := querySMSSubscribers(ctx, s.read, `WHERE s.id = ?`, id)
	if err != nil || len(list) == 0 {
		return SMSSubscriber{}, fmt.Errorf("store: sms subscriber by link: %w", errors.Join(err, ErrBadLink))
	}
	return list[0], nil
}

// StopSMSByLink stops the subscription a stop link names; stopping it
// again changes nothing.
func (s *Store) StopSMSByLink(ctx context.Context, token string) (SMSSubscriber, error) {
	var out SMSSubscriber
	err := s.inTx(ctx, func(t *tx) error {
		id, _, err := checkLink(t.ctx, t.sqlTx, &t.store.links, `SELECT token_nonce FROM sms_subscribers WHERE id = ?`, token, purposeSMSStop, false, t.now)
		if err != nil {
			return err
		}
		sub, err := t.smsSubscriber(id)
		if err != nil {
			return err
		}
		t.ctx = WithActor(t.ctx, Actor{Type: "sms", ID: id, Name: MaskPhone(sub.Phone)})
		if err := t.stopSMS(id, "sms_subscriber.stop"); err != nil {
			return err
		}
		out, err = t.smsSubscriber(id)
		return err
	})
	if err != nil {
		return SMSSubscriber{}, fmt.Errorf("store: stop sms by link: %w", err)
	}
	return out, nil
}

func (t *tx) stopSMS(id, action string) error {
	before, err := t.smsSubscriber(id)
	if err != nil {
		return err
	}
	if before.Status == SMSStopped {
		return nil
	}
	if _, err := t.exec(`UPDATE sms_subscribers SET status = 'stopped', updated_at = ?, code_expires_at = NULL WHERE id = ?`, t.now, id); err != nil {
		return err
	}
	after, err := t.smsSubscriber(id)
	if err != nil {
		return err
	}
	t.record(action, "sms_subscriber", id, before, after)
	return nil
}

// ListSMSSubscribers returns every SMS subscriber, oldest first, with what
// was sent to each.
func (s *Store) ListSMSSubscribers(ctx context.Context) ([]SMSSubscriber, error) {
	list, err := querySMSSubscribers(ctx, s.read, `ORDER BY s.seq`)
	if err != nil {
		return nil, fmt.Errorf("store: list sms subscribers: %w", err)
	}
	return list, nil
}

// DeleteSMSSubscriber removes an SMS subscriber (an admin's call); its
// pending messages are skipped when their turn comes.
func (s *Store) DeleteSMSSubscriber(ctx context.Context, id string) error {
	err := s.inTx(ctx, func(t *tx) error {
		before, err := t.smsSubscriber(id)
		if err != nil {
			return err
		}
		if _, err := t.exec(`DELETE FROM sms_subscribers WHERE id = ?`, id); err != nil {
			return err
		}
		t.record("sms_subscriber.delete", "sms_subscriber", id, before, nil)
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: delete sms subscriber: %w", err)
	}
	return nil
}

func (t *tx) smsSubscriber(id string) (SMSSubscriber, error) {
	list, err := querySMSSubscribers(t.ctx, t.sqlTx, `WHERE s.id = ?`, id)
	if err != nil {
		return SMSSubscriber{}, err
	}
	if len(list) == 0 {
		return SMSSubscriber{}, &NotFoundError{Kind: "sms subscriber", ID: id}
	}
	return list[0], nil
}

func querySMSSubscribers(ctx context.Context, q querier, cond string, args ...any) ([]SMSSubscriber, error) {
	rows, err := q.QueryContext(ctx, `SELECT s.id, s.page_id, s.phone, s.status, s.components, s.created_at, s.updated_at, s.confirmed_at,
		(SELECT count(*) FROM sms_log l WHERE l.subscriber_id = s.id AND l.skipped = '') FROM sms_subscribers s `+cond, args...)
	if err != nil {
		return nil, err
	}
	var out []SMSSubscriber
	for rows.Next() {
		var c SMSSubscriber
		var co string
		var confirmed sql.NullTime
		if err := rows.Scan(&c.ID, &c.PageID, &c.Phone, &c.Status, &co, &c.CreatedAt, &c.UpdatedAt, &confirmed, &c.Sent); err != nil {
			rows.Close()
			return nil, err
		}
		if err := json.Unmarshal([]byte(co), &c.Components); err != nil {
			rows.Close()
			return nil, fmt.Errorf("sms subscriber %s components: %w", c.ID, err)
		}
		if c.Components == nil {
			c.Components = []string{}
		}
		c.ConfirmedAt = timePtr(confirmed)
		out = append(out, c)
	}
	if err := errors.Join(rows.Close(), rows.Err()); err != nil {
		return nil, err
	}
	for i := range out {
		if out[i].Cost, err = smsCost(ctx, q, out[i].ID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// smsCost sums the prices the provider reported for a subscriber's
// messages (everyone's when id is ""), per currency ("0.0150 USD"); ""
// when it reported none.
func smsCost(ctx context.Context, q querier, id string) (string, error) {
	rows, err := q.QueryContext(ctx, `SELECT price, price_unit FROM sms_log WHERE (? = '' OR subscriber_id = ?) AND price <> '' ORDER BY id`, id, id)
	if err != nil {
		return "", err
	}
	sums := map[string]*big.Rat{}
	var units []string
	for rows.Next() {
		var price, unit string
		if err := rows.Scan(&price, &unit); err != nil {
			rows.Close()
			return "", err
		}
		r, ok := new(big.Rat).SetString(strings.TrimPrefix(price, "-"))
		if !ok {
			continue // a price the provider wrote oddly is not added up
		}
		if sums[unit] == nil {
			sums[unit] = new(big.Rat)
			units = append(units, unit)
		}
		sums[unit].Add(sums[unit], r)
	}
	if err := errors.Join(rows.Close(), rows.Err()); err != nil {
		return "", err
	}
	var parts []string
	for _, u := range units {
		parts = append(parts, strings.TrimSpace(sums[u].FloatString(4)+" "+u))
	}
	return strings.Join(parts, ", "), nil
}
