package web

import (
	"bytes"
	"database/sql"
	"encoding/xml"
	"io"
	"net/http"
	"strings"
	"testing"
)

// badgeText parses a badge as XML and returns its title (what a screen
// reader says) and every piece of visible text.
func badgeText(t *testing.T, body []byte) (title string, texts []string) {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(body))
	var in string
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("badge is not well-formed XML: %v\n%s", err, body)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			in = tok.Name.Local
		case xml.CharData:
			switch in {
			case "title":
				title += string(tok)
			case "text":
				texts = append(texts, string(tok))
			}
		case xml.EndElement:
			in = ""
		}
	}
	return title, texts
}

func TestBadges(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	api := ts.createComponent(t, "API", nil)
	db := ts.createComponent(t, `DB <"primary">`, nil)
	ts.createIncident(t, map[string]any{"name": "Outage", "body": "Down.", "components": map[string]string{db.ID: "major_outage"}})

	tests := []struct {
		path      string
		wantTitle string
	}{
		{"/badge.svg", "Acme: major outage"},
		{"/components/" + api.ID + "/badge.svg", "API: operational"},
		{"/components/" + db.ID + "/badge.svg", `DB <"primary">: major outage`},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			resp, body := ts.fetch(t, "GET", tt.path, nil)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d", resp.StatusCode)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "image/svg+xml" {
				t.Errorf("Content-Type = %q", ct)
			}
			title, texts := badgeText(t, body)
			if title != tt.wantTitle {
				t.Errorf("title = %q, want %q", title, tt.wantTitle)
			}
			label, message, _ := strings.Cut(tt.wantTitle, ": ")
			if !strings.Contains(strings.Join(texts, "|"), label) || !strings.Contains(strings.Join(texts, "|"), message) {
				t.Errorf("visible text %q lacks %q or %q: the status must be in words", texts, label, message)
			}
			etag := resp.Header.Get("ETag")
			if again, _ := ts.fetch(t, "GET", tt.path, map[string]string{"If-None-Match": etag}); etag == "" || again.StatusCode != http.StatusNotModified {
				t.Errorf("ETag %q: revalidation gave %d, want 304", etag, again.StatusCode)
			}
		})
	}
	t.Run("unknown component", func(t *testing.T) {
		if resp, _ := ts.fetch(t, "GET", "/components/nosuch/badge.svg", nil); resp.StatusCode != http.StatusNotFound {
			t.Errorf("status %d, want 404", resp.StatusCode)
		}
	})
	t.Run("follows the status", func(t *testing.T) {
		ts.mustCall(t, http.StatusOK, "PATCH", "/api/v1/components/"+api.ID, map[string]any{"status": "degraded_performance"}, nil)
		_, body := ts.fetch(t, "GET", "/components/"+api.ID+"/badge.svg", nil)
		if title, _ := badgeText(t, body); title != "API: degraded performance" {
			t.Errorf("after the change the badge says %q", title)
		}
	})
}

func TestEmbedScript(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	resp, body := ts.fetch(t, "GET", "/embed.js", nil)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/javascript") {
		t.Fatalf("GET /embed.js: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if resp.Header.Get("Cross-Origin-Resource-Policy") != "cross-origin" {
		t.Errorf("Cross-Origin-Resource-Policy = %q: other sites must be able to load it", resp.Header.Get("Cross-Origin-Resource-Policy"))
	}
	src := string(body)
	for _, bad := range []string{"innerHTML", "insertAdjacentHTML", "document.write", "eval(", "import "} {
		if strings.Contains(src, bad) {
			t.Errorf("embed.js uses %s; text must be set with textContent", bad)
		}
	}
	if len(body) > 4096 {
		t.Errorf("embed.js is %d bytes; keep it small", len(body))
	}
	if again, _ := ts.fetch(t, "GET", "/embed.js", map[string]string{"If-None-Match": resp.Header.Get("ETag")}); again.StatusCode != http.StatusNotModified {
		t.Errorf("revalidation gave %d, want 304", again.StatusCode)
	}
}

// A name saved before control characters were refused (by an older
// Herald) still makes a well-formed badge.
func TestBadgeOfANameWithControlCharacters(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	c := ts.createComponent(t, "API", nil)
	db, err := sql.Open("sqlite", "file:"+ts.store.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`UPDATE components SET name = ? WHERE id = ?`, "A\x1b]52;c;aGk=\x07P\x01I\u0085", c.ID); err != nil {
		t.Fatal(err)
	}
	// Any change rebuilds the snapshot, which reads the name afresh.
	ts.mustCall(t, http.StatusOK, "PATCH", "/api/v1/components/"+c.ID, map[string]any{"status": "major_outage"}, nil)
	ts.waitFresh(t)
	_, body := ts.fetch(t, "GET", "/components/"+c.ID+"/badge.svg", nil)
	title, _ := badgeText(t, body)
	if !strings.HasPrefix(title, "A\ufffd]52;c;aGk=\ufffdP\ufffdI") || !strings.HasSuffix(title, ": major outage") {
		t.Errorf("title = %q, want the control characters replaced", title)
	}
}
