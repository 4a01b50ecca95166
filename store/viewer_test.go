package store

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

// mintViewerLink runs the outbox's part for a sign-in link: the job
// claimed and expanded, its one email claimed, which mints the token; it
// returns the delivery (token in ConfirmToken) and the job.
func mintViewerLink(t *testing.T, st *Store) (Job, Delivery) {
	t.Helper()
	ctx := t.Context()
	job, ok, err := st.ClaimJob(ctx, "a", time.Minute)
	if err != nil || !ok {
		t.Fatalf("ClaimJob = %v, %v", ok, err)
	}
	if _, done, err := st.ExpandJob(ctx, job.ID, "a", 10, time.Minute, []string{ChannelEmail}); err != nil || !done {
		t.Fatalf("ExpandJob: done %v, %v", done, err)
	}
	ds, err := st.ClaimDeliveries(ctx, ChannelEmail, "a", 10, time.Minute)
	if err != nil || len(ds) != 1 {
		t.Fatalf("ClaimDeliveries = %d, %v", len(ds), err)
	}
	return job, ds[0]
}

// mintNewestLink mints the token of the newest sign-in link without the
// outbox (as claiming its email would), for fixtures with other jobs about.
func mintNewestLink(t *testing.T, st *Store) string {
	t.Helper()
	var id string
	if err := st.read.QueryRowContext(t.Context(), `SELECT id FROM viewer_links ORDER BY created_at DESC, id LIMIT 1`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	ds := []Delivery{{RecipientID: id}}
	if err := st.inTx(t.Context(), func(tx *tx) error { return tx.loadViewerRecipients(ds, []any{id}) }); err != nil || !ds[0].ViewerLink {
		t.Fatalf("mint: %+v, %v", ds[0], err)
	}
	return ds[0].ConfirmToken
}

// forge is tok with its last character changed.
func forge(tok string) string {
	last := "A"
	if tok[len(tok)-1] == 'A' {
		last = "B"
	}
	return tok[:len(tok)-1] + last
}

// Viewers by email in the store: the list's rule, the sign-in link asked
// for, minted at sending and taken once, the session it starts, and the
// sessions a change to the page ends.
func TestViewerLinksAndSessions(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		st := newTestStore(t)
		clock := useClock(st, t0)
		ctx := t.Context()

		// The list: addresses and domains, kept normalised; bad entries
		// and an empty list for this kind refused.
		p, err := st.CreatePage(ctx, PageInput{Slug: "ops", Name: "Ops", Access: AccessEmail, Viewers: []string{" Ana@Example.com", "partner.example", "@Corp.Example", "ana@example.com"}})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(p.Viewers, []string{"ana@example.com", "@partner.example", "@corp.example"}) {
			t.Errorf("viewers = %v", p.Viewers)
		}
		for addr, want := range map[string]bool{"ANA@example.com": true, "bob@example.com": false, "x@partner.example": true, "x@sub.partner.example": false, "x@corp.example": true, "nobody": false} {
			if p.AdmitsEmail(addr) != want {
				t.Errorf("admits %s: %v, want %v", addr, !want, want)
			}
		}
		for _, bad := range [][]string{{"ana@"}, {"ana@localhost"}, {"@"}, {"exa mple.com"}, {"ana@exa_mple.com"}, {"-bad.example"}, {"Ana <ana@example.com>"}, {}, {" "}} {
			_, err := st.CreatePage(ctx, PageInput{Slug: "other", Name: "Other", Access: AccessEmail, Viewers: bad})
			wantValidationError(t, err, "viewers")
		}
		if pages, _ := st.ListPages(ctx); len(pages) != 1 {
			t.Fatalf("refused pages were made: %d", len(pages))
		}

		// A disallowed address: nothing queued.
		before := countRows(t, st, "outbox_jobs")
		if sent, err := st.RequestViewerLink(ctx, ViewerLinkRequest{PageID: p.ID, Email: "mallory@evil.example", LinkBase: "https://status.example/p/ops"}); err != nil || sent {
			t.Fatalf("a disallowed address: sent %v, %v", sent, err)
		}
		if n := countRows(t, st, "outbox_jobs"); n != before || countRows(t, st, "viewer_links") != 0 {
			t.Fatalf("a disallowed address queued %d jobs", n-before)
		}
		_, err = st.RequestViewerLink(ctx, ViewerLinkRequest{PageID: p.ID, Email: "not an address", LinkBase: "https://status.example/p/ops"})
		wantValidationError(t, err, "email")

		// An allowed one: one job, one email to the address, its token
		// minted at the claim and stored hashed only.
		if sent, err := st.RequestViewerLink(ctx, ViewerLinkRequest{PageID: p.ID, Email: "Ana@Example.com", LinkBase: "https://status.example/p/ops"}); err != nil || !sent {
			t.Fatalf("an allowed address: sent %v, %v", sent, err)
		}
		job, d := mintViewerLink(t, st)
		if job.Kind != JobViewerLink || job.Payload.Viewer == nil || job.Payload.Viewer.LinkBase != "https://status.example/p/ops" || job.Payload.Viewer.Page != "Ops" {
			t.Errorf("the job: %+v", job)
		}
		if d.Email != "ana@example.com" || !d.ViewerLink || len(d.ConfirmToken) != viewerTokenLength {
			t.Fatalf("the delivery: %+v", d)
		}
		var stored []byte
		if err := st.read.QueryRowContext(ctx, `SELECT token_hash FROM viewer_links`).Scan(&stored); err != nil || string(stored) == d.ConfirmToken || !slices.Equal(stored, viewerKey("link", d.ConfirmToken)) {
			t.Errorf("the stored token: %x, %v", stored, err)
		}
		tok := d.ConfirmToken

		// Looked at, it is not used up; for another page, forged, it is
		// refused.
		other, err := st.CreatePage(ctx, PageInput{Slug: "other", Name: "Other", Access: AccessEmail, Viewers: []string{"@example.com"}})
		if err != nil {
			t.Fatal(err)
		}
		if email, err := st.CheckViewerLink(ctx, p.ID, tok); err != nil || email != "ana@example.com" {
			t.Errorf("CheckViewerLink = %q, %v", email, err)
		}
		for name, c := range map[string]struct{ page, tok string }{
			"another page": {other.ID, tok},
			"forged":       {p.ID, forge(tok)},
			"too short":    {p.ID, tok[:10]},
		} {
			if _, _, err := st.TakeViewerLink(ctx, c.page, c.tok); !errors.Is(err, ErrViewerLinkBad) {
				t.Errorf("%s: %v, want ErrViewerLinkBad", name, err)
			}
		}
		sess, email, err := st.TakeViewerLink(ctx, p.ID, tok)
		if err != nil || email != "ana@example.com" || len(sess) != viewerTokenLength {
			t.Fatalf("TakeViewerLink = %q %q, %v", sess, email, err)
		}
		if _, _, err := st.TakeViewerLink(ctx, p.ID, tok); !errors.Is(err, ErrViewerLinkUsed) {
			t.Errorf("reused: %v, want ErrViewerLinkUsed", err)
		}
		if _, err := st.CheckViewerLink(ctx, p.ID, tok); !errors.Is(err, ErrViewerLinkUsed) {
			t.Errorf("reused, looked at: %v", err)
		}
		if got, err := st.ViewerSession(ctx, p.ID, sess); err != nil || got != "ana@example.com" {
			t.Errorf("ViewerSession = %q, %v", got, err)
		}
		if _, err := st.ViewerSession(ctx, other.ID, sess); !errors.Is(err, ErrNoSession) {
			t.Errorf("the session on another page: %v", err)
		}

		// An expired link: refused; its email is no longer sent.
		if _, err := st.RequestViewerLink(ctx, ViewerLinkRequest{PageID: p.ID, Email: "bo@partner.example", LinkBase: "https://status.example/p/ops"}); err != nil {
			t.Fatal(err)
		}
		_, late := mintViewerLink(t, st)
		clock.Advance(ViewerLinkTTL + time.Second)
		if _, _, err := st.TakeViewerLink(ctx, p.ID, late.ConfirmToken); !errors.Is(err, ErrViewerLinkExpired) {
			t.Errorf("expired: %v, want ErrViewerLinkExpired", err)
		}
		if _, err := st.RequestViewerLink(ctx, ViewerLinkRequest{PageID: p.ID, Email: "cy@partner.example", LinkBase: "https://status.example/p/ops"}); err != nil {
			t.Fatal(err)
		}
		job, _, _ = st.ClaimJob(ctx, "a", time.Minute)
		if _, _, err := st.ExpandJob(ctx, job.ID, "a", 10, time.Minute, []string{ChannelEmail}); err != nil {
			t.Fatal(err)
		}
		clock.Advance(ViewerLinkTTL + time.Second)
		if ds, err := st.ClaimDeliveries(ctx, ChannelEmail, "a", 10, time.Minute); err != nil || len(ds) != 1 || ds[0].ViewerLink || ds[0].ConfirmToken != "" {
			t.Errorf("an email claimed after its link expired: %+v, %v", ds, err)
		}

		// Taking an address off the list ends its sessions; the others
		// stay. Changing the access ends them all.
		if _, err := st.RequestViewerLink(ctx, ViewerLinkRequest{PageID: p.ID, Email: "dee@partner.example", LinkBase: "https://status.example/p/ops"}); err != nil {
			t.Fatal(err)
		}
		_, dd := mintViewerLink(t, st)
		dee, _, err := st.TakeViewerLink(ctx, p.ID, dd.ConfirmToken)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.UpdatePage(ctx, p.ID, PagePatch{Viewers: &[]string{"@partner.example"}}); err != nil {
			t.Fatal(err)
		}
		if _, err := st.ViewerSession(ctx, p.ID, sess); !errors.Is(err, ErrNoSession) {
			t.Errorf("an address taken off the list: %v", err)
		}
		if _, err := st.ViewerSession(ctx, p.ID, dee); err != nil {
			t.Errorf("an address still on it: %v", err)
		}
		if _, err := st.UpdatePage(ctx, p.ID, PagePatch{Access: ptr(AccessSignedIn)}); err != nil {
			t.Fatal(err)
		}
		if _, err := st.UpdatePage(ctx, p.ID, PagePatch{Access: ptr(AccessEmail)}); err != nil {
			t.Fatal(err)
		}
		if _, err := st.ViewerSession(ctx, p.ID, dee); !errors.Is(err, ErrNoSession) {
			t.Errorf("after the access changed and back: %v", err)
		}
		// The list change is audited with the page.
		var audited bool
		for _, e := range auditEntries(t, st) {
			if e.Action == "page.update" && strings.Contains(string(e.Before), `"ana@example.com"`) && !strings.Contains(string(e.After), `"ana@example.com"`) {
				audited = true
			}
		}
		if !audited {
			t.Error("no page.update audit entry shows the address taken off the list")
		}

		// Sessions expire; signing out ends one.
		_, _ = st.RequestViewerLink(ctx, ViewerLinkRequest{PageID: p.ID, Email: "eve@partner.example", LinkBase: "https://status.example/p/ops"})
		_, de := mintViewerLink(t, st)
		eve, _, err := st.TakeViewerLink(ctx, p.ID, de.ConfirmToken)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.EndViewerSession(ctx, eve); err != nil {
			t.Fatal(err)
		}
		if _, err := st.ViewerSession(ctx, p.ID, eve); !errors.Is(err, ErrNoSession) {
			t.Errorf("signed out: %v", err)
		}
		_, _ = st.RequestViewerLink(ctx, ViewerLinkRequest{PageID: p.ID, Email: "fay@partner.example", LinkBase: "https://status.example/p/ops"})
		_, df := mintViewerLink(t, st)
		fay, _, err := st.TakeViewerLink(ctx, p.ID, df.ConfirmToken)
		if err != nil {
			t.Fatal(err)
		}
		clock.Advance(ViewerSessionTTL)
		if _, err := st.ViewerSession(ctx, p.ID, fay); !errors.Is(err, ErrNoSession) {
			t.Errorf("after %v: %v", ViewerSessionTTL, err)
		}
	})
}
