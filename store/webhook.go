package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// WebhookStatus is whether an endpoint receives deliveries.
type WebhookStatus string

const (
	WebhookActive   WebhookStatus = "active"
	WebhookPaused   WebhookStatus = "paused"   // by an administrator; deliveries meanwhile are skipped
	WebhookDisabled WebhookStatus = "disabled" // by Herald: 410 Gone, or a day of failures
)

// Webhook body formats.
const (
	FormatStatuspage = "statuspage" // Statuspage's webhook shape
	// FormatSlack is Block Kit with a fallback "text", which is also what
	// Mattermost and Discord's /slack endpoint show.
	FormatSlack      = "slack"
	FormatTeams      = "teams"      // an Adaptive Card for a Teams Workflows webhook
	FormatDiscord    = "discord"    // embeds
	FormatGoogleChat = "googlechat" // cards v2
	FormatMattermost = "mattermost" // Mattermost's message attachments
)

// WebhookFormats are the formats a webhook may have, in the order the
// console offers them.
var WebhookFormats = []string{FormatStatuspage, FormatSlack, FormatTeams, FormatDiscord, FormatGoogleChat, FormatMattermost}

// Webhook audiences: who an endpoint speaks for.
const (
	// AudienceSubscribers endpoints hear what subscribers hear: public
	// events only.
	AudienceSubscribers = "subscribers"
	// AudienceTeam endpoints (the team's own chat) hear of drafts waiting
	// and overdue incidents, never of public events.
	AudienceTeam = "team"
)

// Webhook is an endpoint that receives signed notifications.
type Webhook struct {
	ID             string        `json:"id"`
	URL            string        `json:"url"`
	Description    string        `json:"description"`
	Audience       string        `json:"audience"`
	Events         []string      `json:"events"`     // empty means all of its audience's
	Components     []string      `json:"components"` // empty means all
	Format         string        `json:"format"`
	Status         WebhookStatus `json:"status"`
	DisabledReason string        `json:"disabled_reason"`
	FailingSince   *time.Time    `json:"failing_since"`
	CreatedAt      time.Time     `json:"created_at"`
	UpdatedAt      time.Time     `json:"updated_at"`
}

// WebhookOrigin is a webhook URL cut to its scheme and host: what is shown
// to someone who may not see the whole URL, since for chat tools (Slack,
// Discord, Teams) the path is the credential.
func WebhookOrigin(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "(hidden)"
	}
	return u.Scheme + "://" + u.Host
}

// SeenBy is w as someone with role may see it: admins the whole URL, the
// others its origin (WebhookOrigin), wherever it is shown.
func (w Webhook) SeenBy(role Role) Webhook {
	if !role.Allows(RoleAdmin) {
		w.URL = WebhookOrigin(w.URL)
	}
	return w
}

// SeenBy is d, a delivery to the endpoint at hookURL, as someone with role
// may see it: error text that quotes the URL (as older attempts' errors
// may) shows its origin only, for all but admins.
func (d WebhookDelivery) SeenBy(role Role, hookURL string) WebhookDelivery {
	if role.Allows(RoleAdmin) || hookURL == "" {
		return d
	}
	origin := WebhookOrigin(hookURL)
	hide := strings.NewReplacer(hookURL, origin, strconv.Quote(hookURL), strconv.Quote(origin))
	d.LastError = hide.Replace(d.LastError)
	d.Log = slices.Clone(d.Log)
	for i := range d.Log {
		d.Log[i].Error = hide.Replace(d.Log[i].Error)
	}
	return d
}

// WebhookTarget is an endpoint with its signing secret, for the sender only.
type WebhookTarget struct {
	Webhook
	Secret string
	// Origin is OriginOperator or OriginVisitor (a chat subscription).
	Origin string
	// A visitor's chat subscription: its page ("" for the default one)
	// and, once claimed, the tokens of the links its messages carry.
	PageID       string
	ManageToken  string
	ConfirmToken string
	nonce        string
}

// Receives reports whether the endpoint is sent a message of kind now: an
// active one everything, a chat subscription waiting for confirmation only
// the message that asks for it.
func (w WebhookTarget) Receives(kind string) bool {
	if kind == JobChatConfirm {
		return w.Origin == OriginVisitor && w.Status == ChatPending
	}
	return w.Status == WebhookActive
}

// WebhookInput registers an endpoint.
type WebhookInput struct {
	URL         string
	Description string
	Audience    string // "" means subscribers
	Events      []string
	Components  []string
	Format      string // "" means statuspage
}

// WebhookPatch changes the fields that are not nil. Paused false also
// re-enables an endpoint Herald disabled.
type WebhookPatch struct {
	URL         *string
	Description *string
	Events      *[]string
	Components  *[]string
	Format      *string
	Paused      *bool
}

// MaxURLLength bounds webhook URLs.
const MaxURLLength = 2048

// CheckWebhookURL checks the form of an endpoint URL. Whether its host may
// be dialled (the SSRF guard) is the notify package's call.
func CheckWebhookURL(raw string) (string, error) {
	u, err := checkHTTPURL("url", raw, true)
	if err != nil {
		return "", err
	}
	if u.User != nil {
		return "", invalid("url", "must not carry a user name or password; the signature authenticates Herald")
	}
	if u.Fragment != "" {
		return "", invalid("url", "must not have a #fragment")
	}
	return u.String(), nil
}

// checkEvents checks an event filter against the kinds its audience hears.
func checkEvents(events []string, audience string) ([]string, error) {
	out := sortedCopy(events)
	kinds, families := JobKinds, "incident.*, maintenance.*, component.*"
	if audience == AudienceTeam {
		kinds, families = TeamJobKinds, "team.*"
	}
	for _, e := range out {
		family, all := strings.CutSuffix(e, ".*")
		if all && slices.ContainsFunc(kinds, func(k string) bool { return strings.HasPrefix(k, family+".") }) {
			continue
		}
		if !slices.Contains(kinds, e) {
			return nil, invalid("events", "unknown event %q for a %s webhook; use any of %s, or %s", e, audience, strings.Join(kinds, ", "), families)
		}
	}
	return out, nil
}

func checkAudience(a string) (string, error) {
	switch a {
	case "":
		return AudienceSubscribers, nil
	case AudienceSubscribers, AudienceTeam:
		return a, nil
	}
	return "", invalid("audience", "unknown audience %q; use subscribers or team", a)
}

func checkFormat(f string) (string, error) {
	if f == "" {
		return FormatStatuspage, nil
	}
	if slices.Contains(WebhookFormats, f) {
		return f, nil
	}
	return "", invalid("format", "unknown format %q; use one of %s", f, strings.Join(WebhookFormats, ", "))
}

// newWebhookSecret makes a Standard Webhooks secret: "whsec_" and the
// base64 of 32 random bytes, which are the HMAC key.
func newWebhookSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random secret: %w", err)
	}
	return "whsec_" + base64.StdEncoding.EncodeToString(b), nil
}

// CreateWebhook registers an endpoint and returns its secret, which is
// shown this once.
func (s *Store) CreateWebhook(ctx context.Context, in WebhookInput) (Webhook, string, error) {
	id := newID()
	var secret string
	err := s.inTx(ctx, func(t *tx) error {
		u, err := CheckWebhookURL(in.URL)
		if err != nil {
			return err
		}
		desc, err := checkText("description", in.Description, MaxDescriptionLength, false)
		if err != nil {
			return err
		}
		audience, err := checkAudience(in.Audience)
		if err != nil {
			return err
		}
		events, err := checkEvents(in.Events, audience)
		if err != nil {
			return err
		}
		comps, err := t.checkComponentIDs(in.Components)
		if err != nil {
			return err
		}
		format, err := checkFormat(in.Format)
		if err != nil {
			return err
		}
		if secret, err = newWebhookSecret(); err != nil {
			return err
		}
		ev, _ := json.Marshal(events)
		co, _ := json.Marshal(comps)
		if _, err := t.exec(`INSERT INTO webhooks (id, url, description, secret, audience, events, components, format, status, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'active', ?, ?)`, id, u, desc, secret, audience, string(ev), string(co), format, t.now, t.now); err != nil {
			return err
		}
		after, err := t.webhook(id)
		if err != nil {
			return err
		}
		t.record("webhook.create", "webhook", id, nil, after)
		return nil
	})
	if err != nil {
		return Webhook{}, "", fmt.Errorf("store: create webhook: %w", err)
	}
	w, err := s.GetWebhook(ctx, id)
	return w, secret, err
}

// UpdateWebhook changes an endpoint.
func (s *Store) UpdateWebhook(ctx context.Context, id string, p WebhookPatch) (Webhook, error) {
	err := s.inTx(ctx, func(t *tx) error {
		before, err := t.webhook(id)
		if err != nil {
			return err
		}
		w := before
		if p.URL != nil {
			if w.URL, err = CheckWebhookURL(*p.URL); err != nil {
				return err
			}
		}
		if p.Description != nil {
			if w.Description, err = checkText("description", *p.Description, MaxDescriptionLength, false); err != nil {
				return err
			}
		}
		if p.Events != nil {
			if w.Events, err = checkEvents(*p.Events, w.Audience); err != nil {
				return err
			}
		}
		if p.Components != nil {
			if w.Components, err = t.checkComponentIDs(*p.Components); err != nil {
				return err
			}
		}
		if p.Format != nil {
			if w.Format, err = checkFormat(*p.Format); err != nil {
				return err
			}
		}
		failing := before.FailingSince
		if p.Paused != nil {
			switch {
			case *p.Paused:
				w.Status = WebhookPaused
			case w.Status != WebhookActive:
				w.Status, w.DisabledReason, failing = WebhookActive, "", nil
			}
		}
		ev, _ := json.Marshal(w.Events)
		co, _ := json.Marshal(w.Components)
		if _, err := t.exec(`UPDATE webhooks SET url = ?, description = ?, events = ?, components = ?, format = ?, status = ?, disabled_reason = ?, failing_since = ?, updated_at = ? WHERE id = ?`,
			w.URL, w.Description, string(ev), string(co), w.Format, w.Status, w.DisabledReason, failing, t.now, id); err != nil {
			return err
		}
		after, err := t.webhook(id)
		if err != nil {
			return err
		}
		t.record("webhook.update", "webhook", id, before, after)
		return nil
	})
	if err != nil {
		return Webhook{}, fmt.Errorf("store: update webhook: %w", err)
	}
	return s.GetWebhook(ctx, id)
}

// RotateWebhookSecret replaces an endpoint's secret and returns the new
// one, shown this once. Deliveries from now on are signed with it.
func (s *Store) RotateWebhookSecret(ctx context.Context, id string) (Webhook, string, error) {
	var secret string
	err := s.inTx(ctx, func(t *tx) error {
		if _, err := t.webhook(id); err != nil {
			return err
		}
		var err error
		if secret, err = newWebhookSecret(); err != nil {
			return err
		}
		if _, err := t.exec(`UPDATE webhooks SET secret = ?, updated_at = ? WHERE id = ?`, secret, t.now, id); err != nil {
			return err
		}
		t.record("webhook.rotate_secret", "webhook", id, nil, nil)
		return nil
	})
	if err != nil {
		return Webhook{}, "", fmt.Errorf("store: rotate webhook secret: %w", err)
	}
	w, err := s.GetWebhook(ctx, id)
	return w, secret, err
}

// DeleteWebhook removes an endpoint; its deliveries are skipped.
func (s *Store) DeleteWebhook(ctx context.Context, id string) error {
	err := s.inTx(ctx, func(t *tx) error {
		before, err := t.webhook(id)
		if err != nil {
			return err
		}
		if _, err := t.exec(`DELETE FROM webhooks WHERE id = ?`, id); err != nil {
			return err
		}
		t.record("webhook.delete", "webhook", id, before, nil)
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: delete webhook: %w", err)
	}
	return nil
}

// disableWebhook stops deliveries to an endpoint Herald gave up on: an
// operator's is disabled (an admin may turn it on again), a visitor's chat
// subscription retired (the visitor may sign up again).
func (t *tx) disableWebhook(id, reason string) error {
	res, err := t.exec(`UPDATE webhooks SET status = CASE WHEN origin = 'visitor' THEN 'retired' ELSE 'disabled' END, disabled_reason = ?, updated_at = ?
		WHERE id = ? AND status IN ('active', 'pending')`, reason, t.now, id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil
	}
	t.ctx = WithActor(t.ctx, SystemActor)
	t.record("webhook.disable", "webhook", id, nil, map[string]string{"status": string(WebhookDisabled), "reason": reason})
	return nil
}

// GetWebhook returns one endpoint.
func (s *Store) GetWebhook(ctx context.Context, id string) (Webhook, error) {
	list, err := queryWebhooks(ctx, s.read, `WHERE id = ? AND origin = 'operator'`, id)
	if err != nil {
		return Webhook{}, fmt.Errorf("store: get webhook: %w", err)
	}
	if len(list) == 0 {
		return Webhook{}, fmt.Errorf("store: get webhook: %w", &NotFoundError{Kind: "webhook", ID: id})
	}
	return list[0].Webhook, nil
}

// ListWebhooks returns every endpoint, oldest first.
func (s *Store) ListWebhooks(ctx context.Context) ([]Webhook, error) {
	list, err := queryWebhooks(ctx, s.read, `WHERE origin = 'operator' ORDER BY seq`)
	if err != nil {
		return nil, fmt.Errorf("store: list webhooks: %w", err)
	}
	out := make([]Webhook, 0, len(list))
	for _, w := range list {
		out = append(out, w.Webhook)
	}
	return out, nil
}

// webhook is an operator's endpoint: visitors' chat subscriptions have
// their own methods (chat_subscription.go).
func (t *tx) webhook(id string) (Webhook, error) {
	list, err := queryWebhooks(t.ctx, t.sqlTx, `WHERE id = ? AND origin = 'operator'`, id)
	if err != nil {
		return Webhook{}, err
	}
	if len(list) == 0 {
		return Webhook{}, &NotFoundError{Kind: "webhook", ID: id}
	}
	return list[0].Webhook, nil
}

func queryWebhooks(ctx context.Context, q querier, cond string, args ...any) ([]WebhookTarget, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, url, description, secret, audience, events, components, format, status, disabled_reason, failing_since, created_at, updated_at, origin, page_id, token_nonce FROM webhooks `+cond, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []WebhookTarget
	for rows.Next() {
		var w WebhookTarget
		var ev, co string
		var failing sql.NullTime
		if err := rows.Scan(&w.ID, &w.URL, &w.Description, &w.Secret, &w.Audience, &ev, &co, &w.Format, &w.Status, &w.DisabledReason, &failing, &w.CreatedAt, &w.UpdatedAt, &w.Origin, &w.PageID, &w.nonce); err != nil {
			return nil, err
		}
		if err := errors.Join(json.Unmarshal([]byte(ev), &w.Events), json.Unmarshal([]byte(co), &w.Components)); err != nil {
			return nil, fmt.Errorf("webhook %s filters: %w", w.ID, err)
		}
		w.FailingSince = timePtr(failing)
		if w.Events == nil { // stored as null by older rows or nil input: always a list in the API
			w.Events = []string{}
		}
		if w.Components == nil {
			w.Components = []string{}
		}
		out = append(out, w)
	}
	return out, rows.Err()
}

func (t *tx) loadWebhookTargets(ds []Delivery) error {
	if len(ds) == 0 {
		return nil
	}
	ids := make([]any, 0, len(ds))
	for _, d := range ds {
		ids = append(ids, d.RecipientID)
	}
	list, err := queryWebhooks(t.ctx, t.sqlTx, `WHERE id IN (`+placeholders(len(ids))+`)`, ids...)
	if err != nil {
		return err
	}
	byID := map[string]*WebhookTarget{}
	for i := range list {
		byID[list[i].ID] = &list[i]
	}
	var key []byte
	for i := range ds {
		w := byID[ds[i].RecipientID]
		ds[i].Webhook = w
		if w == nil || w.Origin != OriginVisitor {
			continue
		}
		if key == nil {
			if key, err = t.tokenKey(); err != nil {
				return err
			}
		}
		if w.ManageToken == "" { // two deliveries of one claim may share the endpoint
			signer := newLinkSigner(key)
			w.ManageToken = signer.sign(purposeChatManage, w.ID, w.nonce)
			w.ConfirmToken = signer.signExpiring(purposeChatConfirm, w.ID, w.nonce, t.now)
		}
	}
	return nil
}

// WebhookDelivery is one entry of an endpoint's delivery log.
type WebhookDelivery struct {
	ID            int64            `json:"id"`
	WebhookID     string           `json:"webhook_id"`
	MessageID     string           `json:"message_id"` // the webhook-id header, the same on every attempt
	Event         string           `json:"event"`
	State         string           `json:"state"` // pending | sending | sent | failed | skipped
	Attempts      int              `json:"attempts"`
	NextAttemptAt *time.Time       `json:"next_attempt_at"`
	LastStatus    int              `json:"last_status"`
	LastError     string           `json:"last_error"`
	CreatedAt     time.Time        `json:"created_at"`
	SentAt        *time.Time       `json:"sent_at"`
	Log           []WebhookAttempt `json:"attempt_log"` // oldest first

	jobID int64
}

// WebhookAttempt is one try at a delivery.
type WebhookAttempt struct {
	Attempt    int       `json:"attempt"`
	At         time.Time `json:"at"`
	StatusCode int       `json:"status_code"`
	LatencyMS  int64     `json:"latency_ms"`
	Error      string    `json:"error"`
}

// ListWebhookDeliveries returns an endpoint's deliveries, newest first.
func (s *Store) ListWebhookDeliveries(ctx context.Context, webhookID string, limit, offset int) ([]WebhookDelivery, error) {
	if _, err := s.GetWebhook(ctx, webhookID); err != nil {
		return nil, err
	}
	if limit <= 0 {
		limit = 50
	}
	var list []WebhookDelivery
	err := s.reading(ctx, func(q querier) (err error) {
		list, err = queryWebhookDeliveries(ctx, q, `WHERE d.recipient_id = ? AND d.channel = 'webhook' ORDER BY d.id DESC LIMIT ? OFFSET ?`, webhookID, limit, offset)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: list webhook deliveries: %w", err)
	}
	return list, nil
}

// ReplayWebhookDelivery makes a finished delivery due again at once, with
// the same message id, and returns it.
func (s *Store) ReplayWebhookDelivery(ctx context.Context, webhookID string, deliveryID int64) (WebhookDelivery, error) {
	err := s.inTx(ctx, func(t *tx) error {
		// Replayed only once it has finished: two replays at once are one.
		if err := t.lock("delivery", strconv.FormatInt(deliveryID, 10)); err != nil {
			return err
		}
		if _, err := t.webhook(webhookID); err != nil { // an operator's: a visitor's channel is not replayed into
			return err
		}
		list, err := queryWebhookDeliveries(t.ctx, t.sqlTx, `WHERE d.id = ? AND d.recipient_id = ? AND d.channel = 'webhook'`, deliveryID, webhookID)
		if err != nil {
			return err
		}
		if len(list) == 0 {
			return &NotFoundError{Kind: "delivery", ID: strconv.FormatInt(deliveryID, 10)}
		}
		if st := list[0].State; st == "pending" || st == "sending" {
			return &ConflictError{Message: "this delivery is already waiting to be sent"}
		}
		if _, err := t.exec(`UPDATE outbox_deliveries SET state = 'pending', next_attempt_at = ?, lease_owner = NULL WHERE id = ?`, t.now, deliveryID); err != nil {
			return err
		}
		t.countResult(list[0].jobID, ChannelWebhook, list[0].State, "pending", 1, false)
		t.wake = true // a delivery is due: wake the dispatcher
		t.record("webhook.replay", "webhook", webhookID, nil, map[string]any{"delivery_id": deliveryID})
		return nil
	})
	if err != nil {
		return WebhookDelivery{}, fmt.Errorf("store: replay webhook delivery: %w", err)
	}
	list, err := queryWebhookDeliveries(ctx, s.read, `WHERE d.id = ?`, deliveryID)
	if err != nil || len(list) == 0 {
		return WebhookDelivery{}, fmt.Errorf("store: replay webhook delivery: %w", errors.Join(err, ErrNotFound))
	}
	return list[0], nil
}

func queryWebhookDeliveries(ctx context.Context, q querier, cond string, args ...any) ([]WebhookDelivery, error) {
	rows, err := q.QueryContext(ctx, `SELECT d.id, d.recipient_id, d.job_id, j.kind, d.state, d.attempts, d.next_attempt_at, d.last_status, d.last_error, d.created_at, d.sent_at
		FROM outbox_deliveries d JOIN outbox_jobs j ON j.id = d.job_id `+cond, args...)
	if err != nil {
		return nil, err
	}
	var out []WebhookDelivery
	index := map[int64]int{}
	for rows.Next() {
		var d WebhookDelivery
		var next time.Time
		var sent sql.NullTime
		if err := rows.Scan(&d.ID, &d.WebhookID, &d.jobID, &d.Event, &d.State, &d.Attempts, &next, &d.LastStatus, &d.LastError, &d.CreatedAt, &sent); err != nil {
			rows.Close()
			return nil, err
		}
		d.MessageID = Delivery{JobID: d.jobID, RecipientID: d.WebhookID}.IdempotencyID()
		if d.State == "pending" || d.State == "sending" {
			n := next.UTC()
			d.NextAttemptAt = &n
		}
		d.SentAt = timePtr(sent)
		d.Log = []WebhookAttempt{}
		index[d.ID] = len(out)
		out = append(out, d)
	}
	if err := errors.Join(rows.Close(), rows.Err()); err != nil || len(out) == 0 {
		return out, err
	}
	ids := make([]any, 0, len(out))
	for _, d := range out {
		ids = append(ids, d.ID)
	}
	arows, err := q.QueryContext(ctx, `SELECT delivery_id, attempt, at, status_code, latency_ms, error FROM webhook_attempts WHERE delivery_id IN (`+placeholders(len(ids))+`) ORDER BY id`, ids...)
	if err != nil {
		return nil, err
	}
	defer arows.Close()
	for arows.Next() {
		var id int64
		var a WebhookAttempt
		if err := arows.Scan(&id, &a.Attempt, &a.At, &a.StatusCode, &a.LatencyMS, &a.Error); err != nil {
			return nil, err
		}
		a.At = a.At.UTC()
		out[index[id]].Log = append(out[index[id]].Log, a)
	}
	return out, arows.Err()
}
