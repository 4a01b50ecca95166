package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"time"
)

// Viewers' sign-in links and sessions (page_viewers.go has who a page
// admits). A visitor asks for a link to a page; when the page admits their
// address, a job of kind JobViewerLink goes through the outbox like an
// account notice, and the link's token is minted only when the email is
// claimed for sending, so that no token is ever stored, only its hash.
// Opening the link and confirming it takes it (once) and starts a viewer
// session for that page alone.

// JobViewerLink emails a viewer the sign-in link to a page.
const JobViewerLink = "viewer.link"

// How long a sign-in link works, and a viewer session lasts.
const (
	ViewerLinkTTL    = 15 * time.Minute
	ViewerSessionTTL = 30 * 24 * time.Hour
)

// ViewerNotice is what a sign-in link's email says; LinkBase is where the
// page is ("https://status.example.com/p/ops"): the link is LinkBase +
// ViewerLinkPath + the token, and then ?next=Next, the page's address the
// visitor asked for, when there was one.
type ViewerNotice struct {
	Email     string    `json:"email"`
	Page      string    `json:"page"`
	LinkBase  string    `json:"link_base"`
	Next      string    `json:"next,omitempty"`
	ExpiresAt time.Time `json:"expires_at"`
	// Language is the shipped language the visitor asked in, which the
	// email speaks; "" (a job queued before links carried one) for the
	// page's default.
	Language string `json:"language,omitempty"`
}

// ViewerLinkRequest asks for a sign-in link to page PageID for Email, in
// Language (a shipped language, "" for the page's default).
type ViewerLinkRequest struct {
	PageID, Email, LinkBase, Next, Language string
}

// ViewerLinkPath is where under a page a sign-in link leads.
const ViewerLinkPath = "/viewer/link/"

// The ways a sign-in link fails, each said plainly to the visitor.
var (
	ErrViewerLinkUsed    = errors.New("this sign-in link has been used already: ask for a new one")
	ErrViewerLinkExpired = errors.New("this sign-in link has expired: ask for a new one")
	// ErrViewerLinkBad is a token no link has: forged, mistyped, or for
	// another page (which is not told apart, so that a link says nothing
	// of the pages it is not for).
	ErrViewerLinkBad = errors.New("this sign-in link is not valid for this page")
)

// viewerTokenLength matches the subscriber link tokens' length, which the
// email's stand-ins for tokens have (notify/email.go).
const viewerTokenLength = 37

func viewerKey(purpose, raw string) []byte {
	sum := sha256.Sum256([]byte("herald viewer " + purpose + "\x00" + raw))
	return sum[:]
}

func newViewerToken() (string, error) {
	b := make([]byte, 27)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return "v" + base64.RawURLEncoding.EncodeToString(b), nil
}

// RequestViewerLink emails a sign-in link to page pageID to email, when
// the page is for viewers by email and admits it; otherwise it does
// nothing, and says nothing either way: the visitor gets the same answer
// whether or not the address is on the list. LinkBase and Next are where
// the link leads (see ViewerNotice). sent is for tests and logs, never for the
// visitor.
func (s *Store) RequestViewerLink(ctx context.Context, in ViewerLinkRequest) (sent bool, err error) {
	addr, err := CheckEmail(in.Email)
	if err != nil {
		return false, err
	}
	if err := checkLanguage(in.Language); err != nil {
		return false, err
	}
	err = s.inTx(ctx, func(t *tx) error {
		p, err := t.page(in.PageID)
		if err != nil {
			return err
		}
		if _, err := t.exec(`DELETE FROM viewer_links WHERE expires_at < ?`, t.now.Add(-time.Hour)); err != nil {
			return err
		}
		if !p.AdmitsEmail(addr) {
			return nil
		}
		id := newID()
		expires := t.now.Add(ViewerLinkTTL)
		if _, err := t.exec(`INSERT INTO viewer_links (id, page_id, email, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`,
			id, p.ID, addr, t.now, expires); err != nil {
			return err
		}
		t.jobs = append(t.jobs, pendingJob{Job: Job{Kind: JobViewerLink, ObjectType: "viewer_link", ObjectID: id, Components: []string{},
			Payload: JobPayload{Viewer: &ViewerNotice{Email: addr, Page: p.Name, LinkBase: in.LinkBase, Next: in.Next, ExpiresAt: expires, Language: in.Language}}}, email: true})
		sent = true
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("store: request viewer link: %w", err)
	}
	return sent, nil
}

// loadViewerRecipients fills in the deliveries whose recipients are
// sign-in links, minting each live one's token now: a new token on each
// attempt, so that only the email last sent holds one that works.
func (t *tx) loadViewerRecipients(ds []Delivery, ids []any) error {
	rows, err := t.QueryContext(t.ctx, `SELECT id, email FROM viewer_links WHERE used_at IS NULL AND expires_at > ? AND id IN (`+placeholders(len(ids))+`)`,
		append([]any{t.now}, ids...)...)
	if err != nil {
		return err
	}
	live := map[string]string{}
	for rows.Next() {
		var id, email string
		if err := rows.Scan(&id, &email); err != nil {
			rows.Close()
			return err
		}
		live[id] = email
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for i := range ds {
		email, ok := live[ds[i].RecipientID]
		if !ok {
			continue
		}
		raw, err := newViewerToken()
		if err != nil {
			return err
		}
		if _, err := t.exec(`UPDATE viewer_links SET token_hash = ? WHERE id = ?`, viewerKey("link", raw), ds[i].RecipientID); err != nil {
			return err
		}
		ds[i].Email, ds[i].ConfirmToken, ds[i].ViewerLink = email, raw, true
	}
	return nil
}

// viewerLink finds the link with token raw for page pageID, or says why
// it does not sign anyone in.
func viewerLink(ctx context.Context, q querier, pageID, raw string, now time.Time) (id, email string, err error) {
	if len(raw) != viewerTokenLength {
		return "", "", ErrViewerLinkBad
	}
	key := viewerKey("link", raw)
	var page string
	var stored []byte
	var expires time.Time
	var used sql.NullTime
	err = q.QueryRowContext(ctx, `SELECT id, page_id, email, token_hash, expires_at, used_at FROM viewer_links WHERE token_hash = ?`, key).
		Scan(&id, &page, &email, &stored, &expires, &used)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return "", "", ErrViewerLinkBad
	case err != nil:
		return "", "", err
	case subtle.ConstantTimeCompare(stored, key) != 1 || page != pageID:
		return "", "", ErrViewerLinkBad
	case used.Valid:
		return "", "", ErrViewerLinkUsed
	case !now.Before(expires):
		return "", "", ErrViewerLinkExpired
	}
	return id, email, nil
}

// CheckViewerLink reports the address a sign-in link to page pageID is
// for, without taking it: for the page that asks to confirm it (a mail
// scanner that opens the link must not use it up).
func (s *Store) CheckViewerLink(ctx context.Context, pageID, raw string) (string, error) {
	_, email, err := viewerLink(ctx, s.read, pageID, raw, s.now())
	if err != nil {
		return "", fmt.Errorf("store: check viewer link: %w", err)
	}
	return email, nil
}

// TakeViewerLink uses up a sign-in link to page pageID and starts a viewer
// session for its address, when the page still admits it. It returns the
// session's raw id, for the cookie, never stored.
func (s *Store) TakeViewerLink(ctx context.Context, pageID, raw string) (session, email string, err error) {
	err = s.inTx(ctx, func(t *tx) error {
		if err := t.lock("viewer_link", pageID); err != nil {
			return err
		}
		id, addr, err := viewerLink(t.ctx, t, pageID, raw, t.now)
		if err != nil {
			return err
		}
		p, err := t.page(pageID)
		if err != nil {
			return err
		}
		if !p.AdmitsEmail(addr) {
			return ErrViewerLinkBad // taken off the list since
		}
		res, err := t.exec(`UPDATE viewer_links SET used_at = ? WHERE id = ? AND used_at IS NULL`, t.now, id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return errors.Join(err, ErrViewerLinkUsed)
		}
		if session, err = newViewerToken(); err != nil {
			return err
		}
		if _, err := t.exec(`DELETE FROM viewer_sessions WHERE expires_at < ?`, t.now); err != nil {
			return err
		}
		email = addr
		_, err = t.exec(`INSERT INTO viewer_sessions (id_hash, page_id, email, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`,
			viewerKey("session", session), pageID, addr, t.now, t.now.Add(ViewerSessionTTL))
		return err
	})
	if err != nil {
		return "", "", fmt.Errorf("store: take viewer link: %w", err)
	}
	return session, email, nil
}

// ViewerSession returns the address of the viewer session raw for page
// pageID, or ErrNoSession: unknown, expired, ended, or another page's.
// Whether the page still admits the address is the caller's to judge,
// against the page as it is in memory.
func (s *Store) ViewerSession(ctx context.Context, pageID, raw string) (string, error) {
	if len(raw) != viewerTokenLength {
		return "", ErrNoSession
	}
	var page, email string
	var expires time.Time
	err := s.read.QueryRowContext(ctx, `SELECT page_id, email, expires_at FROM viewer_sessions WHERE id_hash = ?`, viewerKey("session", raw)).Scan(&page, &email, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrNoSession
	}
	if err != nil {
		return "", fmt.Errorf("store: viewer session: %w", err)
	}
	if page != pageID || !s.now().Before(expires) {
		return "", ErrNoSession
	}
	return email, nil
}

// EndViewerSession signs a viewer out. Ending an unknown session is not an
// error.
func (s *Store) EndViewerSession(ctx context.Context, raw string) error {
	if _, err := s.write.ExecContext(ctx, `DELETE FROM viewer_sessions WHERE id_hash = ?`, viewerKey("session", raw)); err != nil {
		return fmt.Errorf("store: end viewer session: %w", err)
	}
	return nil
}

// endViewerSessions ends the viewer sessions and unused links a change to
// a page leaves without standing: all of them when the page is no longer
// for viewers by email (or just became one: old sessions must not come
// back), else those of the addresses taken off its list.
func (t *tx) endViewerSessions(before, after Page) error {
	if before.Access != after.Access || after.Access != AccessEmail {
		for _, table := range []string{"viewer_sessions", "viewer_links"} {
			if _, err := t.exec(`DELETE FROM `+table+` WHERE page_id = ?`, after.ID); err != nil {
				return err
			}
		}
		return nil
	}
	for _, table := range []string{"viewer_sessions", "viewer_links"} {
		rows, err := t.QueryContext(t.ctx, `SELECT DISTINCT email FROM `+table+` WHERE page_id = ?`, after.ID)
		if err != nil {
			return err
		}
		var gone []any
		for rows.Next() {
			var email string
			if err := rows.Scan(&email); err != nil {
				rows.Close()
				return err
			}
			if !after.AdmitsEmail(email) {
				gone = append(gone, email)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(gone) > 0 {
			if _, err := t.exec(`DELETE FROM `+table+` WHERE page_id = ? AND email IN (`+placeholders(len(gone))+`)`, append([]any{after.ID}, gone...)...); err != nil {
				return err
			}
		}
	}
	return nil
}
