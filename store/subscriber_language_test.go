package store

import (
	"testing"
)

// A subscriber changes their emails' language from their preferences
// link: a shipped language, or "" for the page's default; an unknown one
// is refused by its field and changes nothing; a link that is no
// subscriber's changes nothing either.
func TestSubscriberChangesTheirLanguage(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		st := newTestStore(t)
		clock := useClock(st, t0)
		ctx := t.Context()
		if err := st.SubscribeEmail(ctx, SubscriberInput{Email: "hana@example.com", Language: "ja"}); err != nil {
			t.Fatal(err)
		}
		subs, err := st.ListSubscribers(ctx, SubscriberFilter{})
		if err != nil || len(subs) != 1 {
			t.Fatalf("subscribers %+v, %v", subs, err)
		}
		manage, _, err := st.SubscriberLinks(ctx, subs[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		clock.Advance(1)
		sub, err := st.SetSubscriberLanguage(ctx, manage, "de")
		if err != nil || sub.Language != "de" {
			t.Fatalf("changed to de: %q, %v", sub.Language, err)
		}
		for _, bad := range []string{"xx", "pt", "DE"} {
			_, err := st.SetSubscriberLanguage(ctx, manage, bad)
			wantValidationError(t, err, "language")
		}
		if _, err := st.SetSubscriberLanguage(ctx, forge(manage), "fr"); err == nil {
			t.Error("a forged link changed the language")
		}
		if sub, err := st.SubscriberByLink(ctx, manage); err != nil || sub.Language != "de" {
			t.Errorf("after the refusals: %q, %v; want de still", sub.Language, err)
		}
		if sub, err := st.SetSubscriberLanguage(ctx, manage, ""); err != nil || sub.Language != "" {
			t.Errorf("back to the page's default: %q, %v", sub.Language, err)
		}
	})
}

// A viewer's sign-in link carries the language it was asked in to its
// email's job; an unknown one is refused and queues nothing.
func TestViewerLinkCarriesItsLanguage(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		st := newTestStore(t)
		useClock(st, t0)
		ctx := t.Context()
		p, err := st.CreatePage(ctx, PageInput{Slug: "ops", Name: "Ops", Access: AccessEmail, Viewers: []string{"ana@example.com"}})
		if err != nil {
			t.Fatal(err)
		}
		before := countRows(t, st, "outbox_jobs")
		_, err = st.RequestViewerLink(ctx, ViewerLinkRequest{PageID: p.ID, Email: "ana@example.com", LinkBase: "https://status.example/p/ops", Language: "klingon"})
		wantValidationError(t, err, "language")
		if n := countRows(t, st, "outbox_jobs"); n != before {
			t.Fatalf("a refused request queued %d jobs", n-before)
		}
		if sent, err := st.RequestViewerLink(ctx, ViewerLinkRequest{PageID: p.ID, Email: "ana@example.com", LinkBase: "https://status.example/p/ops", Language: "pt-BR"}); err != nil || !sent {
			t.Fatalf("sent %v, %v", sent, err)
		}
		job, _ := mintViewerLink(t, st)
		if job.Payload.Viewer == nil || job.Payload.Viewer.Language != "pt-BR" {
			t.Errorf("the job's notice: %+v, want it in pt-BR", job.Payload.Viewer)
		}
	})
}
