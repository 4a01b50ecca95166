package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/herald-status/herald/notify/twiliotest"
	"github.com/herald-status/herald/store"
)

// Every recipient of a fan-out gets exactly one message, and the outbox
// records each as sent.
func TestFanOutReachesEveryoneOnce(t *testing.T) {
	t.Parallel()
	st := newStore(t)
	sink := newSMTPSink(t, sinkOptions{})
	emails := subscribers(t, st, 500)
	startDispatcher(t, st, Config{SMTP: sink.smtpConfig("none"), ExpandBatch: 64})
	mustIncident(t, st, store.IncidentInput{Name: "Login failures"})

	eventually(t, "every subscriber to be mailed", func() bool { return counts(t, st)["email/sent"] == len(emails) })
	got := sink.byRecipient()
	for _, e := range emails {
		if got[e] != 1 {
			t.Errorf("%s received %d messages, want 1", e, got[e])
		}
	}
	if len(got) != len(emails) {
		t.Errorf("%d distinct recipients, want %d", len(got), len(emails))
	}
}

// Stopping the dispatcher in the middle of a fan-out hands back every claim
// it holds after recording what it sent; a new dispatcher on the same file
// sends the rest. Nobody is missed and nobody gets two.
func TestStopMidFanOutThenResume(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "herald.db")
	st := openStore(t, path)
	sink := newSMTPSink(t, sinkOptions{delay: time.Millisecond})
	emails := subscribers(t, st, 2000)
	cfg := Config{SMTP: sink.smtpConfig("none"), ExpandBatch: 250}

	first := startDispatcher(t, st, cfg)
	mustIncident(t, st, store.IncidentInput{Name: "Login failures"})
	eventually(t, "the fan-out to be under way", func() bool { return sink.received() >= 300 })
	first.stop()

	sentBefore := sink.received()
	c := counts(t, st)
	if sentBefore >= len(emails) {
		t.Fatalf("the fan-out finished before the stop (%d sent); the test proves nothing", sentBefore)
	}
	if c["email/sent"] != sentBefore {
		t.Errorf("after a clean stop the outbox records %d sent, the relay received %d", c["email/sent"], sentBefore)
	}
	if c["email/sending"] != 0 {
		t.Errorf("%d deliveries still claimed after a clean stop", c["email/sending"])
	}

	// Restart on the same file, as a new process would.
	st.Close()
	st2 := openStore(t, path)
	startDispatcher(t, st2, cfg)
	eventually(t, "the rest of the fan-out", func() bool {
		c := counts(t, st2)
		if c["email/sent"] == len(emails) {
			return true
		}
		return false
	})
	got := sink.byRecipient()
	for _, e := range emails {
		if got[e] != 1 {
			t.Errorf("%s received %d messages, want exactly 1", e, got[e])
		}
	}
	t.Logf("%d sent before the stop, %d after the restart", sentBefore, sink.received()-sentBefore)
}

// A dispatcher that dies while expanding a job, and while holding claimed
// deliveries it never sent, loses nothing: once its leases run out another
// dispatcher finishes the expansion and sends the abandoned deliveries.
func TestCrashDuringExpansionAndClaim(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := newStore(t)
	sink := newSMTPSink(t, sinkOptions{})
	emails := subscribers(t, st, 1000)
	mustIncident(t, st, store.IncidentInput{Name: "Login failures"})

	// The dead process: it claimed the job, expanded three batches, claimed
	// fifty deliveries, and vanished without a word.
	job, ok, err := st.ClaimJob(ctx, "dead", time.Minute)
	if err != nil || !ok {
		t.Fatalf("ClaimJob = %v, %v", ok, err)
	}
	for range 3 {
		if _, done, err := st.ExpandJob(ctx, job.ID, "dead", 100, time.Minute, []string{store.ChannelEmail}); err != nil || done {
			t.Fatalf("ExpandJob: done=%v err=%v", done, err)
		}
	}
	claimed, err := st.ClaimDeliveries(ctx, store.ChannelEmail, "dead", 50, time.Minute)
	if err != nil || len(claimed) != 50 {
		t.Fatalf("ClaimDeliveries = %d, %v", len(claimed), err)
	}

	// A dispatcher started while the leases hold leaves them alone…
	r := startDispatcher(t, st, Config{SMTP: sink.smtpConfig("none"), ExpandBatch: 100})
	eventually(t, "the unclaimed deliveries to be sent", func() bool { return counts(t, st)["email/sent"] == 250 })
	r.stop()
	if n := sink.received(); n != 250 {
		t.Fatalf("while the dead process's leases held, %d were sent, want the 250 it had expanded and not claimed", n)
	}

	// …and once they have run out, takes over.
	st.SetClock(func() time.Time { return time.Now().Add(2 * time.Minute) })
	startDispatcher(t, st, Config{SMTP: sink.smtpConfig("none"), ExpandBatch: 100})
	eventually(t, "every subscriber to be mailed", func() bool { return counts(t, st)["email/sent"] == len(emails) })
	got := sink.byRecipient()
	for _, e := range emails {
		if got[e] != 1 {
			t.Errorf("%s received %d messages, want 1", e, got[e])
		}
	}
	// A result the dead process might still write is ignored: its lease is gone.
	if err := st.RecordResults(ctx, "dead", []store.DeliveryResult{{Delivery: claimed[0], Outcome: store.Failed, Error: "late"}}); err != nil {
		t.Fatal(err)
	}
	if c := counts(t, st); c["email/failed"] != 0 {
		t.Errorf("a late result from a lost lease changed a delivery: %v", c)
	}
}

// The real thing: a dispatcher process is killed with SIGKILL in the middle
// of a fan-out to thousands, restarted on the same file, and finishes. Every
// recipient gets the notification, none more than twice, and SQLite's
// integrity check passes. Duplicates can only be the messages the relay had
// accepted but whose results the killed process had not yet committed: at
// most one result batch plus the sends in flight.
func TestSIGKILLMidFanOut(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("spawns processes")
	}
	path := filepath.Join(t.TempDir(), "herald.db")
	st := openStore(t, path)
	sink := newSMTPSink(t, sinkOptions{delay: 200 * time.Microsecond})
	emails := subscribers(t, st, 3000)
	mustIncident(t, st, store.IncidentInput{Name: "Login failures"})
	st.Close()

	// clockAhead sets the child's store clock that far ahead of the real
	// one: the restart finds the killed process's leases run out at once,
	// instead of the test waiting for them (and a short lease running out
	// under a process that is merely slow, which would send a third copy).
	child := func(clockAhead time.Duration) *exec.Cmd {
		return startChildDispatcher(t, clockAhead, "HERALD_CHILD_DB="+path, "HERALD_CHILD_SMTP="+sink.addr)
	}

	first := child(0)
	eventually(t, "the fan-out to be under way", func() bool { return sink.received() >= 800 })
	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	first.Wait()
	atKill := sink.received()
	if atKill >= len(emails) {
		t.Fatalf("the fan-out finished before the kill (%d sent); the test proves nothing", atKill)
	}

	second := child(2 * childLease)
	eventually(t, "every recipient to be reached", func() bool { return len(sink.byRecipient()) == len(emails) })
	st2 := openStore(t, path)
	eventually(t, "the outbox to record every delivery", func() bool { return counts(t, st2)["email/sent"] == len(emails) })
	second.Process.Signal(syscall.SIGKILL)
	second.Wait()

	got := sink.byRecipient()
	dupes := 0
	for _, e := range emails {
		switch n := got[e]; {
		case n == 0:
			t.Errorf("%s never received the notification", e)
		case n > 2:
			t.Errorf("%s received %d messages, want at most 2", e, n)
		case n == 2:
			dupes++
		}
	}
	if check, err := st2.IntegrityCheck(context.Background()); err != nil || check != "ok" {
		t.Errorf("integrity_check = %q, %v", check, err)
	}
	t.Logf("killed after %d of %d messages; %d recipients got a duplicate (same Message-ID)", atKill, len(emails), dupes)
}

// startChildDispatcher runs TestDispatcherChildProcess with env, its clock
// clockAhead of the real one; the test's end kills it.
func startChildDispatcher(t *testing.T, clockAhead time.Duration, env ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestDispatcherChildProcess$", "-test.count=1")
	cmd.Env = append(append(os.Environ(), env...), "HERALD_CHILD_CLOCK_AHEAD="+clockAhead.String())
	if testing.Verbose() {
		cmd.Stderr = os.Stderr
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd
}

// The same for chat channels: a dispatcher killed with SIGKILL while it
// posts an incident to 600 chat webhooks, of every format, is restarted on
// the same file and finishes. Every channel gets the message in its own
// shape, none more than twice, and a repeat carries the same webhook-id.
func TestSIGKILLMidChatFanOut(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("spawns processes")
	}
	path := filepath.Join(t.TempDir(), "herald.db")
	st := openStore(t, path)
	var mu sync.Mutex
	ids := map[string][]string{} // webhook-ids each channel received
	seen := 0                    // messages received, all channels
	killed := make(chan struct{})
	shaped := map[string]func(map[string]any) bool{
		store.FormatSlack:      func(b map[string]any) bool { return b["blocks"] != nil && b["text"] != nil },
		store.FormatTeams:      func(b map[string]any) bool { return b["type"] == "message" && b["attachments"] != nil },
		store.FormatDiscord:    func(b map[string]any) bool { return b["embeds"] != nil },
		store.FormatGoogleChat: func(b map[string]any) bool { return b["cardsV2"] != nil },
		store.FormatMattermost: func(b map[string]any) bool { return b["attachments"] != nil },
	}
	formats := []string{store.FormatSlack, store.FormatTeams, store.FormatDiscord, store.FormatGoogleChat, store.FormatMattermost}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		err := json.NewDecoder(r.Body).Decode(&body)
		format := r.URL.Query().Get("f")
		if err != nil || !shaped[format](body) {
			t.Errorf("%s got a body not in its shape (%v): %v", r.URL, err, body)
		}
		mu.Lock()
		ids[r.URL.Path] = append(ids[r.URL.Path], r.Header.Get("webhook-id"))
		seen++
		hold := seen > 100
		mu.Unlock()
		// Past the hundredth message the channels answer only once the
		// first dispatcher is killed: it dies with posts in flight.
		if hold {
			select {
			case <-killed:
			case <-r.Context().Done():
				return
			}
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(srv.Close)
	const channels = 600
	for i := range channels {
		f := formats[i%len(formats)]
		if _, _, err := st.CreateWebhook(t.Context(), store.WebhookInput{URL: fmt.Sprintf("%s/hook/%d?f=%s", srv.URL, i, f), Format: f, Events: []string{"incident.*"}}); err != nil {
			t.Fatal(err)
		}
	}
	mustIncident(t, st, store.IncidentInput{Name: "Login failures"})
	st.Close()
	received := func() (reached, total int) {
		mu.Lock()
		defer mu.Unlock()
		for _, got := range ids {
			total += len(got)
		}
		return len(ids), total
	}

	env := []string{"HERALD_CHILD_DB=" + path, "HERALD_CHILD_WEBHOOKS=127.0.0.1"}
	first := startChildDispatcher(t, 0, env...)
	eventually(t, "the fan-out to be under way", func() bool { _, n := received(); return n >= 100 })
	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	first.Wait()
	close(killed)
	if reached, _ := received(); reached >= channels {
		t.Fatalf("the fan-out finished before the kill (%d reached); the test proves nothing", reached)
	}
	atKill, _ := received()

	second := startChildDispatcher(t, 2*childLease, env...)
	eventually(t, "every channel to be reached", func() bool { reached, _ := received(); return reached == channels })
	st2 := openStore(t, path)
	eventually(t, "the outbox to record every delivery", func() bool { return counts(t, st2)["webhook/sent"] == channels })
	second.Process.Signal(syscall.SIGKILL)
	second.Wait()

	mu.Lock()
	defer mu.Unlock()
	dupes := 0
	for hook, got := range ids {
		switch {
		case len(got) > 2:
			t.Errorf("%s received %d messages, want at most 2", hook, len(got))
		case len(got) == 2:
			dupes++
			if got[0] != got[1] || got[0] == "" {
				t.Errorf("%s's repeat carries webhook-id %q, the first %q", hook, got[1], got[0])
			}
		}
	}
	if check, err := st2.IntegrityCheck(context.Background()); err != nil || check != "ok" {
		t.Errorf("integrity_check = %q, %v", check, err)
	}
	t.Logf("killed after %d of %d channels; %d got a duplicate (same webhook-id)", atKill, channels, dupes)
}

// childLease is the lease of the child dispatchers: long enough that no
// claim of a working process runs out, however loaded the machine.
const childLease = time.Minute

// TestDispatcherChildProcess is the process TestSIGKILLMidFanOut kills: a
// dispatcher on the database and relay named in its environment, its store
// clock HERALD_CHILD_CLOCK_AHEAD ahead of the real one.
func TestDispatcherChildProcess(t *testing.T) {
	path, addr := os.Getenv("HERALD_CHILD_DB"), os.Getenv("HERALD_CHILD_SMTP")
	if path == "" {
		t.Skip("run by TestSIGKILLMidFanOut and TestSIGKILLMidChatFanOut")
	}
	ahead, err := time.ParseDuration(os.Getenv("HERALD_CHILD_CLOCK_AHEAD"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	st.SetClock(func() time.Time { return time.Now().Add(ahead) })
	cfg := Config{BaseURL: "https://status.acme.test", PageName: "Acme", Lease: childLease, Poll: 100 * time.Millisecond}
	if addr != "" {
		host, portText, _ := net.SplitHostPort(addr)
		port, _ := strconv.Atoi(portText)
		cfg.SMTP = &SMTPConfig{Host: host, Port: port, TLS: "none", From: "status@acme.test", Concurrency: 4}
	}
	if allow := os.Getenv("HERALD_CHILD_WEBHOOKS"); allow != "" {
		g, err := NewGuard(allow)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Webhooks = &WebhookConfig{Guard: g, Concurrency: 8}
	}
	if tw := os.Getenv("HERALD_CHILD_TWILIO"); tw != "" {
		cfg.SMS = &SMSConfig{Provider: &Twilio{BaseURL: tw, AccountSID: childTwilioSID, AuthToken: childTwilioToken, From: "+15005550006"}}
	}
	d, err := New(st, cfg)
	if err != nil {
		t.Fatal(err)
	}
	d.Run(context.Background()) // until killed
}

const childTwilioSID, childTwilioToken = "AC00000000000000000000000000000042", "child-token"

// The same for text messages: a dispatcher killed with SIGKILL while it
// texts an incident to 60 numbers through Twilio is restarted on the same
// file and finishes. Every number gets the incident, none more than twice.
func TestSIGKILLMidSMSFanOut(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("spawns processes")
	}
	path := filepath.Join(t.TempDir(), "herald.db")
	st := openStore(t, path)
	tw := twiliotest.Start(t, childTwilioSID, childTwilioToken)
	killed := make(chan struct{})
	var mu sync.Mutex
	incident := 0 // incident messages taken
	tw.BeforeAnswer = func(r *http.Request) {
		if !strings.Contains(r.PostForm.Get("Body"), "Login failures") {
			return
		}
		mu.Lock()
		incident++
		hold := incident > 20
		mu.Unlock()
		// Past the twentieth Twilio answers only once the first
		// dispatcher is killed: it dies with a message in flight.
		if hold {
			select {
			case <-killed:
			case <-r.Context().Done():
			}
		}
	}
	const numbers = 60
	phone := func(i int) string { return fmt.Sprintf("+336123456%02d", i) }
	for i := range numbers {
		if err := st.SubscribeSMS(t.Context(), store.SMSSubscriberInput{Phone: phone(i)}); err != nil {
			t.Fatal(err)
		}
	}
	env := []string{"HERALD_CHILD_DB=" + path, "HERALD_CHILD_TWILIO=" + tw.URL}
	first := startChildDispatcher(t, 0, env...)
	eventually(t, "every code to be texted", func() bool { return len(tw.Messages()) == numbers })
	for _, m := range tw.Messages() {
		if _, err := st.ConfirmSMS(t.Context(), "", m.To, regexp.MustCompile(`\b\d{6}\b`).FindString(m.Body)); err != nil {
			t.Fatal(err)
		}
	}
	mustIncident(t, st, store.IncidentInput{Name: "Login failures"})
	byNumber := func() map[string]int {
		out := map[string]int{}
		for _, m := range tw.Messages() {
			if strings.Contains(m.Body, "Login failures") {
				out[m.To]++
			}
		}
		return out
	}
	eventually(t, "the fan-out to be under way", func() bool { return len(byNumber()) > 20 })
	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	first.Wait()
	close(killed)
	atKill := len(byNumber())
	if atKill >= numbers {
		t.Fatalf("the fan-out finished before the kill (%d reached); the test proves nothing", atKill)
	}
	second := startChildDispatcher(t, 2*childLease, env...)
	eventually(t, "every number to be texted", func() bool { return len(byNumber()) == numbers })
	eventually(t, "the outbox to record every message", func() bool { return counts(t, st)["sms/sent"] >= 2*numbers })
	second.Process.Signal(syscall.SIGKILL)
	second.Wait()
	dupes := 0
	for n, got := range byNumber() {
		switch {
		case got > 2:
			t.Errorf("%s was texted the incident %d times, want at most 2", n, got)
		case got == 2:
			dupes++
		}
	}
	t.Logf("killed after %d of %d numbers; %d texted twice", atKill, numbers, dupes)
}

// A database that refuses results for a while — its write lock held by
// another connection past busy_timeout — makes no duplicates, even when
// the claims' leases run out meanwhile: the dispatcher keeps the results
// of what the relay accepted, tries again until they commit, and neither
// it nor anyone claims those deliveries again in between.
func TestNoDuplicatesWhileTheDatabaseRefusesResults(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "herald.db")
	// Writes give up on the lock after a moment, not the default 10 s.
	st := openStore(t, path, store.WithBusyTimeout(200*time.Millisecond))
	var ahead atomic.Int64 // how far the store's clock is ahead of the real one
	st.SetClock(func() time.Time { return time.Now().Add(time.Duration(ahead.Load())) })
	gate := make(chan struct{})
	sink := newSMTPSink(t, sinkOptions{gate: gate})
	emails := subscribers(t, st, 300)
	refused := make(chan struct{}, 1)
	logger := slog.New(signalHandler{Handler: testLogger(t).Handler(), msg: "record delivery results", hit: refused})
	startDispatcher(t, st, Config{SMTP: sink.smtpConfig("none"), Logger: logger, Lease: time.Minute})
	mustIncident(t, st, store.IncidentInput{Name: "Login failures"})
	eventually(t, "the first messages to reach the relay", func() bool { return sink.received() > 0 })

	// The lock is taken while the relay holds its replies, so that what
	// it accepts next has results the database will not take.
	release := holdWriteLock(t, path)
	close(gate)
	select {
	case <-refused:
	case <-time.After(waitLimit):
		t.Fatal("the dispatcher never reported results it could not record")
	}
	if c := counts(t, st); c["email/sent"] >= len(emails) {
		t.Fatalf("every result was recorded before the lock (%v); the test proves nothing", c)
	}
	ahead.Store(int64(10 * time.Minute)) // every lease has run out
	release()

	eventually(t, "every delivery to be recorded", func() bool {
		c := counts(t, st)
		return c["email/sent"] >= len(emails) && c["email/sending"] == 0 && c["email/pending"] == 0
	})
	if c := counts(t, st); c["email/sent"] != len(emails) {
		t.Errorf("the outbox counts %d sent for %d recipients", c["email/sent"], len(emails))
	}
	got := sink.byRecipient()
	for _, e := range emails {
		if got[e] != 1 {
			t.Errorf("%s received %d messages, want exactly 1", e, got[e])
		}
	}
	if n := sink.received(); n != len(emails) {
		t.Errorf("the relay received %d messages for %d recipients", n, len(emails))
	}
}

// A dispatcher that is alive keeps its claims past their lease: under
// load, claims waiting in its queue outlived the lease, and another
// replica sent them again while this one was still sending them. Here the
// relay holds its replies and the clock moves past every lease; another
// dispatcher then finds nothing to claim, and everyone gets one message.
func TestLiveDispatcherKeepsItsLeases(t *testing.T) {
	t.Parallel()
	st := openStore(t, filepath.Join(t.TempDir(), "herald.db"))
	var ahead atomic.Int64 // how far the store's clock is ahead of the real one
	st.SetClock(func() time.Time { return time.Now().Add(time.Duration(ahead.Load())) })
	gate := make(chan struct{})
	sink := newSMTPSink(t, sinkOptions{gate: gate})
	emails := subscribers(t, st, 100) // one batch: all of it claimed at once
	startDispatcher(t, st, Config{SMTP: sink.smtpConfig("none"), Lease: time.Minute, RenewEvery: 20 * time.Millisecond})
	mustIncident(t, st, store.IncidentInput{Name: "Login failures"})
	eventually(t, "the first message to reach the relay", func() bool { return sink.received() > 0 })

	ahead.Store(int64(10 * time.Minute)) // by the clock, every lease has run out…
	eventually(t, "the leases to be renewed past the clock", func() bool {
		wait, ok, err := st.NextDue(t.Context(), store.ChannelEmail, "")
		return err == nil && ok && wait > 0
	})
	// …and another dispatcher finds none of them to take over.
	if taken, err := st.ClaimDeliveries(t.Context(), store.ChannelEmail, "another-replica", 1000, time.Minute); err != nil || len(taken) != 0 {
		t.Fatalf("another dispatcher claimed %d deliveries of a live one (%v)", len(taken), err)
	}
	close(gate)
	eventually(t, "every delivery to be recorded", func() bool {
		c := counts(t, st)
		return c["email/sent"] == len(emails) && c["email/sending"] == 0
	})
	got := sink.byRecipient()
	for _, e := range emails {
		if got[e] != 1 {
			t.Errorf("%s received %d messages, want exactly 1", e, got[e])
		}
	}
}
