package notify

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/herald-status/herald/store"
)

func TestGuardRefusesInternalAddresses(t *testing.T) {
	t.Parallel()
	g, err := NewGuard("")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		url    string
		reason string // "" means allowed
	}{
		{"http://127.0.0.1/", "loopback"},
		{"http://127.8.9.10:8080/", "loopback"},
		{"http://10.0.0.1/", "private"},
		{"http://172.16.5.4/", "private"},
		{"http://192.168.0.1/", "private"},
		{"http://169.254.169.254/latest/meta-data/", "cloud metadata"},
		{"http://169.254.1.1/", "link-local"},
		{"http://[::1]/", "loopback"},
		{"http://[fe80::1]/", "link-local"},
		{"http://[fd00::1]/", "unique local"},
		{"http://[fd00:ec2::254]/", "unique local"},
		{"http://[::ffff:10.0.0.1]/", "private"},
		{"http://100.100.100.200/", "shared (carrier-grade NAT)"},
		{"http://0.0.0.0/", "unspecified"},
		{"http://[64:ff9b::a00:1]/", "NAT64"},
		{"http://93.184.216.34/", ""},
		{"https://[2606:4700::1]/", ""},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			err := g.CheckURL(context.Background(), tt.url)
			switch {
			case tt.reason == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tt.reason != "" && (err == nil || !strings.Contains(err.Error(), tt.reason)):
				t.Errorf("err %v, want a refusal for %s", err, tt.reason)
			}
		})
	}
}

// A name that resolves inward is refused; so is one that resolved outward
// at registration and inward when dialled (DNS rebinding).
func TestGuardNamesAndRebinding(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	g, _ := NewGuard("")
	if err := g.CheckURL(ctx, "http://localhost:8080/"); !errors.As(err, new(*BlockedError)) {
		t.Errorf("localhost: %v", err)
	}
	// Registration saw a public address…
	g.lookup = func(context.Context, string) ([]netip.Addr, error) {
		return []netip.Addr{netip.MustParseAddr("93.184.216.34")}, nil
	}
	if err := g.CheckURL(ctx, "http://localhost/"); err != nil {
		t.Fatalf("registration: %v", err)
	}
	// …but the real resolver answers loopback when it is time to connect.
	hit := atomic.Bool{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hit.Store(true) }))
	defer srv.Close()
	port := srv.URL[strings.LastIndex(srv.URL, ":"):]
	resp, err := NewWebhookClient(g, 5*time.Second).Post("http://localhost"+port+"/", "application/json", strings.NewReader("{}"))
	if err == nil {
		resp.Body.Close()
	}
	if !errors.As(err, new(*BlockedError)) || hit.Load() {
		t.Errorf("dial to a rebound name: err %v, reached %v", err, hit.Load())
	}
	// An operator's allow list lets it through, by CIDR or by name.
	for _, allow := range []string{"127.0.0.0/8,::1", "localhost"} {
		g, _ := NewGuard(allow)
		resp, err := NewWebhookClient(g, 5*time.Second).Post("http://localhost"+port+"/", "application/json", strings.NewReader("{}"))
		if err != nil {
			t.Errorf("allow %q: %v", allow, err)
			continue
		}
		resp.Body.Close()
		if err := g.CheckURL(ctx, "http://localhost"+port+"/"); err != nil {
			t.Errorf("allow %q: registration refused: %v", allow, err)
		}
	}
	if _, err := NewGuard("10.0.0.0/99"); err == nil {
		t.Error("a bad CIDR was accepted")
	}
}

// Retries follow the schedule (with the store's clock moved forward to
// reach each one); an endpoint that has failed for a day is disabled.
func TestWebhookRetryScheduleAndDayOfFailures(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := newStore(t)
	var clockNanos atomic.Int64 // the test moves the store's clock; the dispatcher reads it
	clockNanos.Store(time.Now().UnixNano())
	now := func() time.Time { return time.Unix(0, clockNanos.Load()) }
	st.SetClock(now)
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		calls.Add(1)
		w.WriteHeader(500)
	}))
	defer srv.Close()
	g, _ := NewGuard("127.0.0.1")
	w, _, err := st.CreateWebhook(ctx, store.WebhookInput{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	schedule := []time.Duration{5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 5 * time.Hour, 10 * time.Hour, 10 * time.Hour}
	r := startDispatcher(t, st, Config{Webhooks: &WebhookConfig{Guard: g, Retry: schedule}, Jitter: -1})
	mustIncident(t, st, store.IncidentInput{Name: "Down"})

	var elapsed time.Duration
	for i, wait := range schedule {
		eventually(t, "attempt", func() bool { return int(calls.Load()) == i+1 })
		var log []store.WebhookDelivery
		eventually(t, "the attempt to be logged", func() bool {
			log, _ = st.ListWebhookDeliveries(ctx, w.ID, 10, 0)
			return len(log) == 1 && len(log[0].Log) == i+1 && log[0].State == "pending"
		})
		if got := log[0].NextAttemptAt.Sub(st.Now()); got != wait {
			t.Fatalf("after attempt %d the next is in %s, want %s", i+1, got, wait)
		}
		clockNanos.Add(int64(wait))
		elapsed += wait
		r.d.Wake()
	}
	eventually(t, "the last attempt", func() bool { return int(calls.Load()) == len(schedule)+1 })
	eventually(t, "the endpoint to be disabled", func() bool {
		got, _ := st.GetWebhook(ctx, w.ID)
		return got.Status == store.WebhookDisabled
	})
	got, _ := st.GetWebhook(ctx, w.ID)
	if !strings.Contains(got.DisabledReason, "a day") || elapsed < 24*time.Hour {
		t.Errorf("disabled after %s: %q", elapsed, got.DisabledReason)
	}
	log, _ := st.ListWebhookDeliveries(ctx, w.ID, 10, 0)
	if log[0].State != "failed" || log[0].Attempts != len(schedule)+1 {
		t.Errorf("final delivery %+v", log[0])
	}
}
