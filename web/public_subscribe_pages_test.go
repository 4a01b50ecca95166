package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/herald-status/herald/store"
)

// Every page takes its own subscribers: its form offers what it shows and
// posts to itself, its links lead back to it (and nowhere else), and an
// address may follow several pages. An internal component and what
// concerns it stay off the default page and its form.
func TestEachPageTakesItsOwnSubscribers(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, withSubscriptions())
	api := ts.createComponent(t, "API", nil)
	ledger := ts.createComponent(t, "Ledger Database", map[string]any{"internal": true})
	if !ledger.Internal {
		t.Fatalf("the API made %+v, not internal", ledger)
	}
	var ops store.Page
	ts.mustCall(t, http.StatusCreated, "POST", "/api/v1/pages", map[string]any{"slug": "ops", "name": "Operations", "components": []string{api.ID, ledger.ID}}, &ops)
	ts.createIncident(t, map[string]any{"name": "Ledger replica lagging", "body": "Behind.", "components": map[string]string{ledger.ID: "degraded_performance"}})
	ts.waitFresh(t)

	// The default page knows nothing of the internal component.
	for _, path := range []string{"/", "/api/v2/summary.json", "/api/v2/incidents.json", feedAtom, "/subscribe"} {
		resp, body := ts.fetch(t, "GET", path, nil)
		if resp.StatusCode != 200 || strings.Contains(string(body), "Ledger") {
			t.Errorf("GET %s: %d, and it names the internal component or its incident: %v", path, resp.StatusCode, strings.Contains(string(body), "Ledger"))
		}
	}
	if _, body := ts.fetch(t, "GET", "/p/ops/", nil); !strings.Contains(string(body), "Ledger replica lagging") {
		t.Error("the ops page does not show the internal component's incident")
	}

	form, status := ts.getPage(t, "/p/ops/subscribe")
	if status != 200 || form.Find(`form[action="/p/ops/subscribe"] input[name=email]`).Length() != 1 ||
		form.Find(`input[name=components][value="`+ledger.ID+`"]`).Length() != 1 {
		t.Fatalf("the ops page's form: %d, or it does not post to itself offering the ledger", status)
	}
	if form.Find(`header a[href="/p/ops/"]`).Length() == 0 || !strings.Contains(text(form.Find("h1")), "Operations") {
		t.Errorf("the ops page's form is not in its page's name, with a way back to it: %q", text(form.Find("header")))
	}
	// The default page's form refuses what it does not show, and keeps nothing.
	doc, status := ts.form(t, "/subscribe", url.Values{"email": {"ada@example.com"}, "components": {ledger.ID}})
	if status != http.StatusUnprocessableEntity || !strings.Contains(text(doc.Find("main")), "no longer on this page") {
		t.Errorf("the default page's form with the internal component: %d %q", status, text(doc.Find("main")))
	}
	if _, ok := subscriberByEmail(t, ts.store, "ada@example.com"); ok {
		t.Error("a refused form kept a subscriber")
	}

	for _, path := range []string{"/p/ops/subscribe", "/subscribe"} {
		if _, status := ts.form(t, path, url.Values{"email": {"ada@example.com"}}); status != 200 {
			t.Fatalf("POST %s: %d", path, status)
		}
	}
	list, err := ts.store.ListSubscribers(t.Context(), store.SubscriberFilter{Email: "ada@"})
	if err != nil || len(list) != 2 {
		t.Fatalf("subscribers %+v, %v; want one on each page", list, err)
	}
	sub := list[0]
	if sub.PageID != ops.ID {
		sub = list[1]
	}
	manage, confirm, err := ts.store.SubscriberLinks(t.Context(), sub.ID)
	if err != nil {
		t.Fatal(err)
	}
	// Its links work on its page, and on no other.
	for _, path := range []string{"/subscriptions/confirm/" + confirm, "/subscriptions/manage/" + manage} {
		if _, status := ts.getPage(t, path); status != http.StatusNotFound {
			t.Errorf("the ops subscriber's link on the default page, %s: %d, want 404", path, status)
		}
	}
	if _, status := ts.form(t, "/subscriptions/confirm/"+confirm, nil); status != http.StatusNotFound {
		t.Errorf("confirming the ops subscriber on the default page: %d, want 404", status)
	}
	if s, _ := ts.store.GetSubscriber(t.Context(), sub.ID); s.Status != store.SubscriberPending {
		t.Fatalf("a link taken to another page confirmed it")
	}
	page, status := ts.getPage(t, "/p/ops/subscriptions/confirm/"+confirm)
	if status != 200 || page.Find(`form[action="/p/ops/subscriptions/confirm/`+confirm+`"] button`).Length() != 1 || !strings.Contains(text(page.Find("header")), "Operations") {
		t.Fatalf("the confirmation page on the ops page: %d %q", status, text(page.Find("header")))
	}
	page, status = ts.form(t, "/p/ops/subscriptions/confirm/"+confirm, nil)
	if status != 200 || text(page.Find("h1")) != "You are subscribed" {
		t.Fatalf("after confirming: %d %q", status, text(page.Find("h1")))
	}
	if href, _ := page.Find(`a[href*="/subscriptions/manage/"]`).Attr("href"); href != "/p/ops/subscriptions/manage/"+manage {
		t.Errorf("manage link %q, want the ops page's", href)
	}
	// A page that is not there has no links.
	if _, status := ts.getPage(t, "/p/nosuch/subscriptions/manage/"+manage); status != http.StatusNotFound {
		t.Errorf("a link on a page that does not exist: %d", status)
	}
}
