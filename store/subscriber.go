package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"time"

	"github.com/herald-status/herald/templates/i18n"
)

// SubscriberStatus is where an email subscription stands.
type SubscriberStatus string

const (
	SubscriberPending      SubscriberStatus = "pending"   // waiting for the address to confirm
	SubscriberConfirmed    SubscriberStatus = "confirmed" // receives notifications
	SubscriberUnsubscribed SubscriberStatus = "unsubscribed"
	SubscriberSuspended    SubscriberStatus = "suspended" // bounced BounceLimit times in a row
)

// SubscriberStatuses lists every status.
var SubscriberStatuses = []SubscriberStatus{SubscriberPending, SubscriberConfirmed, SubscriberUnsubscribed, SubscriberSuspended}

func (s SubscriberStatus) Valid() bool { return slices.Contains(SubscriberStatuses, s) }

// Subscriber is an email address that asked to hear about incidents.
type Subscriber struct {
	ID string `json:"id"`
	// PageID is the page subscribed to, "" the default page: the subscriber
	// hears of what that page shows, from it. An address may subscribe to
	// several pages, once each.
	PageID string           `json:"page_id"`
	Email  string           `json:"email"`
	Status SubscriberStatus `json:"status"`
	// Components it follows; empty means every component.
	Components []string `json:"components"`
	// MaintenanceReminders: reminders before a maintenance starts are
	// wanted (the default; the subscriber may turn them off).
	MaintenanceReminders bool `json:"maintenance_reminders"`
	// Language is the shipped language their emails are in, "" for their
	// page's default language.
	Language    string     `json:"language"`
	Bounces     int        `json:"bounces"`
	LastError   string     `json:"last_error"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
	ConfirmedAt *time.Time `json:"confirmed_at"`
}

// SubscriberInput adds a subscriber. Components empty means all of them.
// Confirmed skips double opt-in: for imports by an administrator.
type SubscriberInput struct {
	PageID     string // "" the default page
	Email      string
	Components []string
	Confirmed  bool
	Language   string // a shipped language, "" for the page's default
}

// SubscriberFilter selects subscribers for ListSubscribers.
type SubscriberFilter struct {
	Status SubscriberStatus // all when ""
	Email  string           // a part of the address to search for; all when ""
	Limit  int              // default 100
	Offset int
}

// MailInterval is the least time between two confirmation or reminder
// emails to one address, whoever fills in the form how often.
const MailInterval = time.Hour

// MaxEmailLength is the longest address SMTP carries (RFC 5321 §4.5.3.1).
const MaxEmailLength = 254

// ErrBadLink is a subscription link that is malformed, forged, or for a
// subscriber that no longer exists. Callers must not tell these apart.
var ErrBadLink = errors.New("this link is not valid (any more)")

// CheckEmail validates and normalises a subscriber's address (see
// checkAddress), whose domain must have a dot: nobody subscribes from
// localhost.
func CheckEmail(s string) (string, error) { return checkAddress(s, true) }

// checkAddress is the one rule for an address Herald sends mail to — a
// subscriber's, a user's: a bare addr-spec, ASCII, no line breaks (they
// would let a sender inject mail headers), a local part of at most 64
// characters and a domain that is a DNS name (checkDNSName), in lower
// case. dotted asks for a domain of two labels or more.
func checkAddress(s string, dotted bool) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", invalid("email", "is required")
	}
	if strings.ContainsAny(s, "\r\n") {
		return "", invalid("email", "must not contain line breaks")
	}
	if len(s) > MaxEmailLength {
		return "", invalid("email", "is %d characters long; the limit is %d", len(s), MaxEmailLength)
	}
	for _, r := range s {
		if r < 0x21 || r > 0x7e {
			return "", invalid("email", "must be a plain ASCII address such as name@example.com")
		}
	}
	addr, err := mail.ParseAddress(s)
	if err != nil || addr.Address != s || addr.Name != "" {
		return "", invalid("email", "%q is not an email address such as name@example.com", s)
	}
	at := strings.LastIndexByte(s, '@')
	if at > 64 {
		return "", invalid("email", "the part before the @ is %d characters long; the limit is 64", at)
	}
	if msg := checkDNSName(s[at+1:], dotted); msg != "" {
		return "", invalid("email", "%q is not an email address such as name@example.com: %s", s, msg)
	}
	return strings.ToLower(s), nil
}

// checkDNSName says what is wrong with an address's domain, "" when it
// is a DNS host name (RFC 1123): labels of letters, digits and inner
// hyphens, 63 characters at most, 253 in all, and not a number. A domain
// literal ([10.0.0.1]) or a name made of digits (10.0.0.1) would make the
// relay deliver to whatever address it names, internal ones included.
func checkDNSName(domain string, dotted bool) string {
	if strings.HasPrefix(domain, "[") {
		return "the domain must be a name such as example.com, not an address in brackets"
	}
	if len(domain) > 253 {
		return "the domain is longer than 253 characters"
	}
	labels := strings.Split(domain, ".")
	if dotted && len(labels) < 2 {
		return "the domain needs a dot, as in example.com"
	}
	for _, l := range labels {
		if l == "" {
			return "the domain has an empty part"
		}
		if len(l) > 63 {
			return "a part of the domain is longer than 63 characters"
		}
		if l[0] == '-' || l[len(l)-1] == '-' {
			return "a part of the domain starts or ends with a hyphen"
		}
		for _, c := range l {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return fmt.Sprintf("the domain may hold only letters, digits, hyphens and dots, not %q", c)
			}
		}
	}
	if strings.Trim(labels[len(labels)-1], "0123456789") == "" {
		return "the domain must be a name, not a number"
	}
	return ""
}

// SubscribeEmail handles the public form: a new address gets a confirmation
// email; a known one gets at most one email per MailInterval (a new
// confirmation, or a reminder with its preferences link). It returns
// nothing that tells the caller whether the address was known.
func (s *Store) SubscribeEmail(ctx context.Context, in SubscriberInput) error {
	in.PageID = subscriberPage(in.PageID)
	err := s.inTx(ctx, func(t *tx) error {
		email, comps, err := t.checkSubscriberInput(in)
		if err != nil {
			return err
		}
		// An address the page is not for gets the same answer as any,
		// and nothing: the form must not tell who may see the page.
		if ok, err := t.mayHear(in.PageID, email); err != nil || !ok {
			return err
		}
		before, err := t.subscriberByEmail(in.PageID, email)
		if errors.Is(err, ErrNotFound) {
			_, err := t.createSubscriber(in.PageID, email, comps, SubscriberPending, in.Language)
			return err
		}
		if err != nil {
			return err
		}
		var lastMailed sql.NullTime
		if err := t.QueryRowContext(t.ctx, `SELECT last_mailed_at FROM subscribers WHERE id = ?`, before.ID).Scan(&lastMailed); err != nil {
			return err
		}
		mayMail := !lastMailed.Valid || t.now.Sub(lastMailed.Time) >= MailInterval
		if before.Status == SubscriberConfirmed {
			// Changing a confirmed subscription takes its preferences link:
			// the form must not let anyone edit someone else's.
			if !mayMail {
				return nil
			}
			return t.mailSubscriber(before.ID, JobSubscriberReminder)
		}
		// Pending, unsubscribed or suspended: ask for confirmation again,
		// with the components chosen now. A subscription that had ended
		// starts afresh with a new nonce, so that no link sent before — an
		// old confirmation link above all — works for it.
		var nonce any // kept while pending: the link already sent still works
		if before.Status != SubscriberPending {
			nonce = randomString(16)
		}
		if _, err := t.exec(`UPDATE subscribers SET status = 'pending', token_nonce = coalesce(?, token_nonce), language = ?, updated_at = ? WHERE id = ?`, nonce, in.Language, t.now, before.ID); err != nil {
			return err
		}
		if err := t.setSubscriberComponents(before.ID, comps); err != nil {
			return err
		}
		after, err := t.subscriber(before.ID)
		if err != nil {
			return err
		}
		t.record("subscriber.resubscribe", "subscriber", before.ID, before, after)
		if !mayMail {
			return nil
		}
		return t.mailSubscriber(before.ID, JobSubscriberConfirm)
	})
	if err != nil {
		return fmt.Errorf("store: subscribe: %w", err)
	}
	return nil
}

// AddSubscriber adds an address through the admin API: confirmed at once
// when in.Confirmed, else sent a confirmation email.
func (s *Store) AddSubscriber(ctx context.Context, in SubscriberInput) (Subscriber, error) {
	in.PageID = subscriberPage(in.PageID)
	var id string
	err := s.inTx(ctx, func(t *tx) error {
		email, comps, err := t.checkSubscriberInput(in)
		if err != nil {
			return err
		}
		if ok, err := t.mayHear(in.PageID, email); err != nil {
			return err
		} else if !ok {
			return invalid("email", "%s may not see this page, so may not subscribe to it", email)
		}
		if _, err := t.subscriberByEmail(in.PageID, email); err == nil {
			return &ConflictError{Message: fmt.Sprintf("%s is already a subscriber of this page", email)}
		} else if !errors.Is(err, ErrNotFound) {
			return err
		}
		status := SubscriberPending
		if in.Confirmed {
			status = SubscriberConfirmed
		}
		id, err = t.createSubscriber(in.PageID, email, comps, status, in.Language)
		return err
	})
	if err != nil {
		return Subscriber{}, fmt.Errorf("store: add subscriber: %w", err)
	}
	return s.GetSubscriber(ctx, id)
}

func (t *tx) createSubscriber(page, email string, comps []string, status SubscriberStatus, lang string) (string, error) {
	id := newID()
	var confirmed any
	if status == SubscriberConfirmed {
		confirmed = t.now
	}
	if _, err := t.exec(`INSERT INTO subscribers (id, page_id, email, status, all_components, token_nonce, created_at, updated_at, confirmed_at, language) VALUES (?, ?, ?, ?, TRUE, ?, ?, ?, ?, ?)`,
		id, page, email, status, randomString(16), t.now, t.now, confirmed, lang); err != nil {
		return "", fmt.Errorf("insert subscriber: %w", err)
	}
	if err := t.setSubscriberComponents(id, comps); err != nil {
		return "", err
	}
	after, err := t.subscriber(id)
	if err != nil {
		return "", err
	}
	t.record("subscriber.create", "subscriber", id, nil, after)
	if status == SubscriberPending {
		return id, t.mailSubscriber(id, JobSubscriberConfirm)
	}
	return id, nil
}

// mailSubscriber queues a message to one subscriber about their subscription.
func (t *tx) mailSubscriber(id, kind string) error {
	if _, err := t.exec(`UPDATE subscribers SET last_mailed_at = ? WHERE id = ?`, t.now, id); err != nil {
		return err
	}
	t.mailOne(kind, id)
	return nil
}

// subscriberPage is a subscriber's page id as kept: "" for the default
// page, which a list of pages calls DefaultPageID; either is taken.
func subscriberPage(id string) string {
	if id == DefaultPageID {
		return ""
	}
	return id
}

// checkSubscriberInput validates an address, its page and its components,
// and locks the address on the page: one subscriber per address and page
// is a check-then-write rule.
func (t *tx) checkSubscriberInput(in SubscriberInput) (email string, comps []string, err error) {
	if email, err = CheckEmail(in.Email); err != nil {
		return "", nil, err
	}
	if comps, err = t.checkSubscriberComponents(in.PageID, in.Components); err != nil {
		return "", nil, err
	}
	if err := checkLanguage(in.Language); err != nil {
		return "", nil, err
	}
	return email, comps, t.lock("subscriber_email", in.PageID+" "+email)
}

// checkLanguage refuses, by its field "language", a language Herald does
// not ship; "" is the page's default.
func checkLanguage(lang string) error {
	if lang != "" && !i18n.Shipped(lang) {
		return invalid("language", "unknown language %q; use one of %s", lang, strings.Join(i18n.Languages(), ", "))
	}
	return nil
}

// checkSubscriberComponents checks that the page exists and shows each of
// the components: nobody follows what their page does not show.
func (t *tx) checkSubscriberComponents(page string, ids []string) ([]string, error) {
	ids, err := t.checkComponentIDs(ids)
	if err != nil {
		return nil, err
	}
	sc, err := t.pageScope(page)
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		if !sc.ShowsComponent(id) {
			return nil, invalid("components", "component %q is not on this page", id)
		}
	}
	return ids, nil
}

// checkComponentIDs checks that each component exists, and sorts them.
func (t *tx) checkComponentIDs(ids []string) ([]string, error) {
	ids = sortedCopy(ids)
	for _, id := range ids {
		if _, err := t.component(id); err != nil {
			return nil, asFieldError("components", err)
		}
	}
	return ids, nil
}

// setSubscriberComponents replaces what a subscriber follows; none means all.
func (t *tx) setSubscriberComponents(id string, comps []string) error {
	if _, err := t.exec(`DELETE FROM subscriber_components WHERE subscriber_id = ?`, id); err != nil {
		return err
	}
	for _, c := range comps {
		if _, err := t.exec(`INSERT INTO subscriber_components (subscriber_id, component_id) VALUES (?, ?)`, id, c); err != nil {
			return err
		}
	}
	_, err := t.exec(`UPDATE subscribers SET all_components = ? WHERE id = ?`, len(comps) == 0, id)
	return err
}

// ConfirmSubscription confirms the subscription a confirmation link names.
// Confirming twice is harmless.
func (s *Store) ConfirmSubscription(ctx context.Context, token string) (Subscriber, error) {
	return s.changeByLink(ctx, token, purposeConfirm, "subscriber.confirm", func(t *tx, sub Subscriber) error {
		if sub.Status == SubscriberConfirmed {
			return nil
		}
		_, err := t.exec(`UPDATE subscribers SET status = 'confirmed', confirmed_at = ?, bounces = 0, updated_at = ? WHERE id = ?`, t.now, t.now, sub.ID)
		return err
	})
}

// Unsubscribe ends the subscription an unsubscribe link names. It is
// idempotent: a mail client's one-click POST may come more than once.
func (s *Store) Unsubscribe(ctx context.Context, token string) (Subscriber, error) {
	return s.changeByLink(ctx, token, purposeManage, "subscriber.unsubscribe", func(t *tx, sub Subscriber) error {
		if sub.Status == SubscriberUnsubscribed {
			return nil
		}
		_, err := t.exec(`UPDATE subscribers SET status = 'unsubscribed', updated_at = ? WHERE id = ?`, t.now, sub.ID)
		return err
	})
}

// SubscriptionPreferences are what a subscriber chooses on their
// preferences page.
type SubscriptionPreferences struct {
	Components           []string // none means every component
	MaintenanceReminders bool
}

// SetSubscriptionPreferences changes what the subscriber behind a
// preferences link follows, and whether they are reminded of maintenance.
func (s *Store) SetSubscriptionPreferences(ctx context.Context, token string, p SubscriptionPreferences) (Subscriber, error) {
	return s.changeByLink(ctx, token, purposeManage, "subscriber.preferences", func(t *tx, sub Subscriber) error {
		comps, err := t.checkSubscriberComponents(sub.PageID, p.Components)
		if err != nil {
			return err
		}
		if slices.Equal(comps, sub.Components) && p.MaintenanceReminders == sub.MaintenanceReminders {
			return nil
		}
		if err := t.setSubscriberComponents(sub.ID, comps); err != nil {
			return err
		}
		_, err = t.exec(`UPDATE subscribers SET maintenance_reminders = ?, updated_at = ? WHERE id = ?`, p.MaintenanceReminders, t.now, sub.ID)
		return err
	})
}

// SetSubscriberLanguage changes, from the preferences link, the language
// of the subscriber's emails: a shipped one, or "" for the page's default.
// Whether the page offers it is the caller's to judge (the page's languages
// may change; a subscriber keeps theirs).
func (s *Store) SetSubscriberLanguage(ctx context.Context, token, lang string) (Subscriber, error) {
	if err := checkLanguage(lang); err != nil {
		return Subscriber{}, fmt.Errorf("store: set subscriber language: %w", err)
	}
	return s.changeByLink(ctx, token, purposeManage, "subscriber.language", func(t *tx, sub Subscriber) error {
		if sub.Language == lang {
			return nil
		}
		_, err := t.exec(`UPDATE subscribers SET language = ?, updated_at = ? WHERE id = ?`, lang, t.now, sub.ID)
		return err
	})
}

// Resubscribe turns an unsubscribed address back on from its preferences
// link: the link proves the address, so no new confirmation is needed.
func (s *Store) Resubscribe(ctx context.Context, token string) (Subscriber, error) {
	return s.changeByLink(ctx, token, purposeManage, "subscriber.resubscribe", func(t *tx, sub Subscriber) error {
		if sub.Status == SubscriberConfirmed {
			return nil
		}
		_, err := t.exec(`UPDATE subscribers SET status = 'confirmed', confirmed_at = coalesce(confirmed_at, ?), bounces = 0, updated_at = ? WHERE id = ?`, t.now, t.now, sub.ID)
		return err
	})
}

// changeByLink runs change on the subscriber a link names, auditing it as
// done by the subscriber, and writes nothing when change changed nothing.
func (s *Store) changeByLink(ctx context.Context, token, purpose, action string, change func(*tx, Subscriber) error) (Subscriber, error) {
	var id string
	err := s.inTx(ctx, func(t *tx) error {
		before, err := t.subscriberByToken(token, purpose)
		if err != nil {
			return err
		}
		id = before.ID
		if err := change(t, before); err != nil {
			return err
		}
		after, err := t.subscriber(id)
		if err != nil {
			return err
		}
		if after.UpdatedAt.Equal(before.UpdatedAt) && after.Status == before.Status {
			return nil
		}
		t.ctx = WithActor(t.ctx, Actor{Type: "subscriber", ID: id, Name: after.Email})
		t.record(action, "subscriber", id, before, after)
		return nil
	})
	if err != nil {
		return Subscriber{}, fmt.Errorf("store: %s: %w", action, err)
	}
	return s.GetSubscriber(ctx, id)
}

// SubscriberByLink returns the subscriber a preferences link names.
func (s *Store) SubscriberByLink(ctx context.Context, token string) (Subscriber, error) {
	sub, err := subscriberByToken(ctx, s.read, &s.links, token, purposeManage, s.now())
	if err != nil {
		return Subscriber{}, fmt.Errorf("store: subscriber by link: %w", err)
	}
	return sub, nil
}

// CheckConfirmLink reports whether token is a valid confirmation link,
// without confirming anything (the page shows a button for that).
func (s *Store) CheckConfirmLink(ctx context.Context, token string) error {
	if _, err := subscriberByToken(ctx, s.read, &s.links, token, purposeConfirm, s.now()); err != nil {
		return fmt.Errorf("store: check confirmation link: %w", err)
	}
	return nil
}

// GetSubscriber returns one subscriber.
func (s *Store) GetSubscriber(ctx context.Context, id string) (Subscriber, error) {
	list, err := querySubscribers(ctx, s.read, `WHERE s.id = ?`, id)
	if err != nil {
		return Subscriber{}, fmt.Errorf("store: get subscriber: %w", err)
	}
	if len(list) == 0 {
		return Subscriber{}, fmt.Errorf("store: get subscriber: %w", &NotFoundError{Kind: "subscriber", ID: id})
	}
	return list[0], nil
}

// ListSubscribers returns subscribers, oldest first.
func (s *Store) ListSubscribers(ctx context.Context, f SubscriberFilter) ([]Subscriber, error) {
	if f.Limit <= 0 {
		f.Limit = 100
	}
	// The search is plain text: "_" and "%" are escaped out of LIKE's way.
	email := strings.ToLower(strings.TrimSpace(f.Email))
	pattern := "%" + likeEscaper.Replace(email) + "%"
	list, err := querySubscribers(ctx, s.read, `WHERE (? = '' OR s.status = ?) AND (? = '' OR s.email LIKE ? ESCAPE '\') ORDER BY s.seq LIMIT ? OFFSET ?`,
		f.Status, f.Status, email, pattern, f.Limit, f.Offset)
	if err != nil {
		return nil, fmt.Errorf("store: list subscribers: %w", err)
	}
	return list, nil
}

var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// EachSubscriber calls fn for every subscriber, oldest first, reading in
// pages so that an export of 100,000 neither loads them all at once nor
// holds a read transaction for the whole export.
func (s *Store) EachSubscriber(ctx context.Context, fn func(Subscriber) error) error {
	const page = 1000
	after := int64(0)
	for {
		rows, err := s.read.QueryContext(ctx, `SELECT seq FROM subscribers WHERE seq > ? ORDER BY seq LIMIT 1 OFFSET ?`, after, page-1)
		if err != nil {
			return fmt.Errorf("store: each subscriber: %w", err)
		}
		hi := int64(-1)
		if rows.Next() {
			err = rows.Scan(&hi)
		}
		rows.Close()
		if err != nil {
			return fmt.Errorf("store: each subscriber: %w", err)
		}
		cond, args := `WHERE s.seq > ? ORDER BY s.seq`, []any{after}
		if hi >= 0 {
			cond, args = `WHERE s.seq > ? AND s.seq <= ? ORDER BY s.seq`, []any{after, hi}
		}
		list, err := querySubscribers(ctx, s.read, cond, args...)
		if err != nil {
			return fmt.Errorf("store: each subscriber: %w", err)
		}
		for _, sub := range list {
			if err := fn(sub); err != nil {
				return err
			}
		}
		if hi < 0 {
			return nil
		}
		after = hi
	}
}

// CountSubscribers counts subscribers with a status ("" for all).
func (s *Store) CountSubscribers(ctx context.Context, status SubscriberStatus) (int, error) {
	var n int
	if err := s.read.QueryRowContext(ctx, `SELECT count(*) FROM subscribers WHERE ? = '' OR status = ?`, status, status).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count subscribers: %w", err)
	}
	return n, nil
}

// DeleteSubscriber removes a subscriber and what it follows; its pending
// deliveries are skipped when their turn comes.
func (s *Store) DeleteSubscriber(ctx context.Context, id string) error {
	err := s.inTx(ctx, func(t *tx) error {
		before, err := t.subscriber(id)
		if err != nil {
			return err
		}
		if _, err := t.exec(`DELETE FROM subscribers WHERE id = ?`, id); err != nil {
			return err
		}
		t.record("subscriber.delete", "subscriber", id, before, nil)
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: delete subscriber: %w", err)
	}
	return nil
}

const subscriberSelect = `SELECT s.id, s.page_id, s.email, s.status, s.bounces, s.last_error, s.created_at, s.updated_at, s.confirmed_at, s.maintenance_reminders, s.language FROM subscribers s `

// querySubscribers runs subscriberSelect with cond and loads what each
// subscriber follows with one more query, not one per subscriber.
func querySubscribers(ctx context.Context, q querier, cond string, args ...any) ([]Subscriber, error) {
	rows, err := q.QueryContext(ctx, subscriberSelect+cond, args...)
	if err != nil {
		return nil, err
	}
	var out []Subscriber
	index := map[string]int{}
	for rows.Next() {
		var sub Subscriber
		var confirmed sql.NullTime
		if err := rows.Scan(&sub.ID, &sub.PageID, &sub.Email, &sub.Status, &sub.Bounces, &sub.LastError, &sub.CreatedAt, &sub.UpdatedAt, &confirmed, &sub.MaintenanceReminders, &sub.Language); err != nil {
			rows.Close()
			return nil, err
		}
		sub.ConfirmedAt = timePtr(confirmed)
		sub.Components = []string{}
		index[sub.ID] = len(out)
		out = append(out, sub)
	}
	if err := errors.Join(rows.Close(), rows.Err()); err != nil || len(out) == 0 {
		return out, err
	}
	ids := make([]any, 0, len(out))
	for _, sub := range out {
		ids = append(ids, sub.ID)
	}
	crows, err := q.QueryContext(ctx, `SELECT subscriber_id, component_id FROM subscriber_components WHERE subscriber_id IN (`+placeholders(len(ids))+`) ORDER BY component_id`, ids...)
	if err != nil {
		return nil, err
	}
	defer crows.Close()
	for crows.Next() {
		var sid, cid string
		if err := crows.Scan(&sid, &cid); err != nil {
			return nil, err
		}
		out[index[sid]].Components = append(out[index[sid]].Components, cid)
	}
	return out, crows.Err()
}

func (t *tx) subscriber(id string) (Subscriber, error) {
	return t.subscriberWhere(id, `WHERE s.id = ?`, id)
}

func (t *tx) subscriberByEmail(page, email string) (Subscriber, error) {
	return t.subscriberWhere(email, `WHERE s.page_id = ? AND s.email = ?`, page, email)
}

// subscriberWhere loads the one subscriber cond selects (by a unique key),
// named what in the error when there is none.
func (t *tx) subscriberWhere(what, cond string, args ...any) (Subscriber, error) {
	list, err := querySubscribers(t.ctx, t.sqlTx, cond, args...)
	if err != nil {
		return Subscriber{}, err
	}
	if len(list) == 0 {
		return Subscriber{}, &NotFoundError{Kind: "subscriber", ID: what}
	}
	return list[0], nil
}

// ImportSubscribers adds confirmed subscribers in one transaction, for
// moving a list from another service: the addresses confirmed there. Known
// addresses are left as they are. It returns how many it added.
func (s *Store) ImportSubscribers(ctx context.Context, list []SubscriberInput) (int, error) {
	added := 0
	err := s.inTx(ctx, func(t *tx) error {
		for i, in := range list {
			in.PageID = subscriberPage(in.PageID)
			email, err := CheckEmail(in.Email)
			if err != nil {
				return itemError(i, err)
			}
			comps, err := t.checkSubscriberComponents(in.PageID, in.Components)
			if err != nil {
				return itemError(i, err)
			}
			if ok, err := t.mayHear(in.PageID, email); err != nil {
				return err
			} else if !ok {
				return itemError(i, invalid("email", "%s may not see this page, so may not subscribe to it", email))
			}
			id := newID()
			res, err := t.exec(`INSERT INTO subscribers (id, page_id, email, status, all_components, token_nonce, created_at, updated_at, confirmed_at)
				VALUES (?, ?, ?, 'confirmed', TRUE, ?, ?, ?, ?) ON CONFLICT (page_id, email) DO NOTHING`, id, in.PageID, email, randomString(16), t.now, t.now, t.now)
			if err != nil {
				return fmt.Errorf("insert subscriber: %w", err)
			}
			if n, _ := res.RowsAffected(); n == 0 {
				continue
			}
			if len(comps) > 0 {
				if err := t.setSubscriberComponents(id, comps); err != nil {
					return err
				}
			}
			added++
		}
		// One audit row for the import, not one per address.
		t.record("subscriber.import", "subscriber", "", nil, map[string]int{"added": added, "given": len(list)})
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("store: import subscribers: %w", err)
	}
	return added, nil
}

// itemError names the list item a validation error is about.
func itemError(i int, err error) error {
	var ve *ValidationError
	if errors.As(err, &ve) {
		return invalid(fmt.Sprintf("subscribers[%d].%s", i, ve.Field), "%s", ve.Message)
	}
	return err
}
