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

// guardForms are addresses in every form the guard must know, with the
// reason it gives ("" for an address it lets through).
var guardForms = []struct {
	host   string // as it appears in a URL
	reason string
}{
	{"127.0.0.1", "loopback"},
	{"127.8.9.10", "loopback"},
	{"10.0.0.1", "private"},
	{"172.16.5.4", "private"},
	{"192.168.0.1", "private"},
	{"169.254.169.254", "cloud metadata"},
	{"169.254.1.1", "link-local"},
	{"100.100.100.200", "shared (carrier-grade NAT)"},
	{"0.0.0.0", "unspecified"},
	{"0.1.2.3", "'this network'"},
	{"192.0.0.8", "IETF protocol"},
	{"192.0.2.10", "documentation"},
	{"198.51.100.7", "documentation"},
	{"203.0.113.99", "documentation"},
	{"198.18.0.1", "benchmarking"},
	{"198.19.255.254", "benchmarking"},
	{"192.88.99.1", "6to4 relay"},
	{"240.0.0.1", "reserved"},
	{"255.255.255.255", "broadcast"},
	{"224.0.0.1", "link-local"},
	{"224.0.1.1", "multicast"},
	{"239.255.255.250", "multicast"},
	{"[::1]", "loopback"},
	{"[::]", "unspecified"},
	{"[fe80::1]", "link-local"},
	{"[fd00::1]", "unique local"},
	{"[fd00:ec2::254]", "unique local"},
	{"[fec0::1]", "site-local"},
	{"[ff02::1]", "link-local"},
	{"[ff0e::1]", "multicast"},
	{"[ff05::2]", "multicast"},
	// IPv4-mapped: the IPv4 address inside is what counts.
	{"[::ffff:10.0.0.1]", "private"},
	{"[::ffff:127.0.0.1]", "loopback"},
	{"[::ffff:7f00:1]", "loopback"},
	{"[::ffff:8.8.8.8]", ""},
	// IPv4-compatible and IPv4-translated: refused whatever is inside.
	{"[::127.0.0.1]", "IPv4-compatible"},
	{"[::7f00:1]", "IPv4-compatible"},
	{"[::10.0.0.1]", "IPv4-compatible"},
	{"[::8.8.8.8]", "IPv4-compatible"},
	{"[::ffff:0:127.0.0.1]", "IPv4-translated"},
	{"[::ffff:0:8.8.8.8]", "IPv4-translated"},
	// NAT64 and 6to4 reach the IPv4 address inside.
	{"[64:ff9b::a00:1]", "NAT64 form of a private"},
	{"[64:ff9b::127.0.0.1]", "NAT64 form of a loopback"},
	{"[64:ff9b::169.254.169.254]", "NAT64 form of a cloud metadata"},
	{"[64:ff9b::8.8.8.8]", ""},
	{"[64:ff9b:1::808:808]", "local-use NAT64"},
	{"[2002:7f00:1::1]", "6to4 form of a loopback"},
	{"[2002:a9fe:a9fe::]", "6to4 form of a cloud metadata"},
	{"[2002:c000:20a::1]", "6to4 form of a documentation"},
	{"[2002:808:808::1]", ""},
	{"[2001::1]", "Teredo"},
	{"[2001:0:4136:e378:8000:63bf:3fff:fdd2]", "Teredo"},
	{"[2001:2::1]", "benchmarking"},
	{"[2001:10::1]", "ORCHID"},
	{"[2001:db8::1]", "documentation"},
	{"[2001:db8:85a3::8a2e:370:7334]", "documentation"},
	{"[3fff::1]", "documentation"},
	{"[100::1]", "discard-only"},
	{"[5f00::1]", "segment routing"},
	{"93.184.216.34", ""},
	{"[2606:4700::1]", ""},
}

// Registration refuses every internal form, by address.
func TestGuardRefusesInternalAddresses(t *testing.T) {
	t.Parallel()
	g, err := NewGuard("")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range guardForms {
		t.Run(tt.host, func(t *testing.T) {
			err := g.CheckURL(context.Background(), "http://"+tt.host+":8080/hook")
			switch {
			case tt.reason == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tt.reason != "" && (!errors.As(err, new(*BlockedError)) || !strings.Contains(err.Error(), tt.reason)):
				t.Errorf("err %v, want a refusal for %s", err, tt.reason)
			}
		})
	}
}

// The dial checks the address it is about to connect to with the same
// rule, so a target that got past registration (a name that resolved
// elsewhere then, a webhook stored before the guard knew a form) is still
// refused when dialled. Public addresses are left out: the test would need
// the internet.
func TestGuardRefusesInternalAddressesAtDial(t *testing.T) {
	t.Parallel()
	g, _ := NewGuard("")
	client := NewWebhookClient(g, 5*time.Second)
	for _, tt := range guardForms {
		if tt.reason == "" {
			continue
		}
		t.Run(tt.host, func(t *testing.T) {
			resp, err := client.Post("http://"+tt.host+":9/hook", "application/json", strings.NewReader("{}"))
			if err == nil {
				resp.Body.Close()
			}
			var be *BlockedError
			if !errors.As(err, &be) || !strings.Contains(be.Reason, tt.reason) {
				t.Errorf("dial: err %v, want the guard's refusal for %s", err, tt.reason)
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
