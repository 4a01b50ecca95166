package templates

import (
	"context"
	"strings"
	"testing"
)

func TestStatusName(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ name, want string }{
		{"Acme", "Acme Status"},
		{"Acme Status", "Acme Status"},
		{"acme status", "acme status"},
		{" Acme ", "Acme Status"},
		{"Acme Status Page", "Acme Status Page"},
		{"Statusfabrik", "Statusfabrik Status"},
	} {
		if got := StatusName(tt.name); got != tt.want {
			t.Errorf("StatusName(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
}

// Emails name the page the same way: "Acme Status updates", never
// "Acme Status status updates".
func TestEmailNamesThePageOnce(t *testing.T) {
	t.Parallel()
	for _, v := range []EmailView{
		{Site: Site{Name: "Acme Status"}, Kind: "subscriber.confirm", ConfirmURL: "https://status.acme.test/c"},
		{Site: Site{Name: "Acme Status"}, Kind: "subscriber.reminder", ManageURL: "https://status.acme.test/m"},
		{Site: Site{Name: "Acme Status"}, Kind: "incident.created", Heading: "Down", Status: "Investigating", Body: "Looking."},
	} {
		text, html, err := RenderEmail(context.Background(), v)
		if err != nil {
			t.Fatal(err)
		}
		for part, s := range map[string]string{"text": text, "html": html} {
			if strings.Contains(strings.ToLower(s), "status status") {
				t.Errorf("%s email (%s) says \"Status Status\":\n%s", v.Kind, part, s)
			}
			if !strings.Contains(s, "Acme Status") {
				t.Errorf("%s email (%s) does not name the page", v.Kind, part)
			}
		}
	}
}
