package notify

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/herald-status/herald/store"
	"github.com/herald-status/herald/store/dataset"
	"github.com/herald-status/herald/store/pgtest"
)

// benchSubscribers is the fan-out size: HERALD_BENCH_SUBSCRIBERS, default
// 100,000.
func benchSubscribers() int {
	if n, err := strconv.Atoi(os.Getenv("HERALD_BENCH_SUBSCRIBERS")); err == nil && n > 0 {
		return n
	}
	return 100000
}

// BenchmarkPostUpdate is the commander's write path: posting an update
// writes one outbox job whatever the number of subscribers, on either
// backend (PostgreSQL through a throwaway server of the benchmark's own).
//
//	go test -run '^$' -bench BenchmarkPostUpdate -benchtime 2000x ./notify/
func BenchmarkPostUpdate(b *testing.B) {
	for _, backend := range []string{"sqlite", "postgres"} {
		for _, n := range []int{10, 100000} {
			b.Run(fmt.Sprintf("%s/subscribers=%d", backend, n), func(b *testing.B) {
				benchPostUpdate(b, backendStore(b, backend), n)
			})
		}
	}
}

// backendStore is a fresh database on backend.
func backendStore(b *testing.B, backend string) *store.Store {
	if backend == "postgres" {
		return openStore(b, pgtest.Start(b).NewDatabase(b))
	}
	return newStore(b)
}

func benchPostUpdate(b *testing.B, st *store.Store, n int) {
	ctx := context.Background()
	api := mustComponent(b, st, "API")
	if err := dataset.Subscribers(ctx, st, n); err != nil {
		b.Fatal(err)
	}
	inc := mustIncident(b, st, store.IncidentInput{Name: "Login failures", Components: map[string]store.ComponentStatus{api.ID: store.MajorOutage}})
	jobsBefore, _ := st.PendingJobs(ctx)
	b.ResetTimer()
	for i := range b.N {
		if _, err := st.PostIncidentUpdate(ctx, inc.ID, store.IncidentUpdateInput{Status: store.Identified, Body: fmt.Sprintf("Update %d: still on it.", i)}); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	jobsAfter, _ := st.PendingJobs(ctx)
	b.ReportMetric(float64(jobsAfter-jobsBefore)/float64(b.N), "outbox-rows/op")
}

// BenchmarkFanOutSMTP sends one update to every subscriber through the
// dispatcher into a local SMTP sink that discards, and then sends the same
// number of messages of the same size into the same sink with a minimal
// pipelined sender: the ceiling for this sink on this machine. It reports
// both rates and their ratio. Run it once:
//
//	go test -run '^$' -bench BenchmarkFanOutSMTP -benchtime 1x ./notify/
func BenchmarkFanOutSMTP(b *testing.B) {
	n := benchSubscribers()
	ctx := context.Background()
	st := newStore(b)
	if err := dataset.Subscribers(ctx, st, n); err != nil {
		b.Fatal(err)
	}
	sink := newSMTPSink(b, sinkOptions{discard: true})
	cfg := sink.smtpConfig("none")
	cfg.Concurrency = benchConcurrency()
	r := startDispatcher(b, st, Config{SMTP: cfg})

	b.ResetTimer()
	cpu0 := cpuTime()
	start := time.Now()
	mustIncident(b, st, store.IncidentInput{Name: "Login failures", Body: "Logins fail for **75%** of users. We are rolling back the change."})
	for sink.received() < n {
		time.Sleep(5 * time.Millisecond)
	}
	herald := time.Since(start)
	heraldCPU := cpuTime() - cpu0
	b.StopTimer()
	r.stop()
	// One message as Herald builds it, to send the same bytes raw.
	job, _ := st.GetJob(ctx, 1)
	subs, _ := st.ListSubscribers(ctx, store.SubscriberFilter{Limit: 1})
	manage, confirm, _ := st.SubscriberLinks(ctx, subs[0].ID)
	msg, err := r.d.email.message(ctx, &preparedJob{Job: job}, store.Delivery{JobID: 1, RecipientID: subs[0].ID, Email: subs[0].Email, ManageToken: manage, ConfirmToken: confirm}, time.Now())
	if err != nil {
		b.Fatal(err)
	}

	// The ceiling: the same number of messages of the same bytes, sent raw
	// with pipelining, by one connection (the minimal sender) and by as
	// many connections as Herald used.
	var rawCPU time.Duration
	rate := func(conns int) float64 {
		before := sink.received()
		c0 := cpuTime()
		defer func() { rawCPU = cpuTime() - c0 }()
		start := time.Now()
		if err := pipelinedSend(sink.addr, conns, n, msg); err != nil {
			b.Fatal(err)
		}
		for sink.received() < before+n {
			time.Sleep(time.Millisecond)
		}
		return float64(n) / time.Since(start).Seconds()
	}
	one := rate(1)
	oneCPU := rawCPU
	many := rate(cfg.Concurrency)
	hr := float64(n) / herald.Seconds()
	b.ReportMetric(hr, "herald-msgs/s")
	b.ReportMetric(one, "pipelined-1conn-msgs/s")
	b.ReportMetric(many, "pipelined-Nconn-msgs/s")
	b.ReportMetric(hr/one*100, "%-of-minimal-pipelined")
	b.Logf("%d messages of %d bytes. Herald, %d connections: %.0f msgs/s (%s from posting the update to the last message accepted). "+
		"Minimal pipelined sender, 1 connection: %.0f msgs/s (Herald at %.0f%%); %d connections: %.0f msgs/s (Herald at %.0f%%).",
		n, len(msg), cfg.Concurrency, hr, herald.Round(time.Millisecond), one, hr/one*100, cfg.Concurrency, many, hr/many*100)
	b.Logf("CPU per message, this process (sender and sink together): Herald %s, minimal pipelined sender %s",
		heraldCPU/time.Duration(n), oneCPU/time.Duration(n))
}

// cpuTime is the CPU time this process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// pipelinedSend is the minimal fast sender: conns connections, each sending
// its share of n messages with SMTP PIPELINING (RFC 2920) — the next
// message's MAIL, RCPT and DATA go out with the previous message's end — and
// no database, rendering or bookkeeping at all.
func pipelinedSend(addr string, conns, n int, msg []byte) error {
	body := dotStuff(msg)
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	for c := range conns {
		share := n / conns
		if c < n%conns {
			share++
		}
		wg.Go(func() {
			if err := pipelineConn(addr, c, share, body); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	return <-errs
}

func pipelineConn(addr string, c, count int, body []byte) error {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	rd := bufio.NewReader(conn)
	w := bufio.NewWriterSize(conn, 64<<10)
	expect := func(code string) error {
		for {
			line, err := rd.ReadString('\n')
			if err != nil {
				return err
			}
			if !strings.HasPrefix(line, code) {
				return fmt.Errorf("want %s, got %q", code, line)
			}
			if len(line) < 4 || line[3] != '-' {
				return nil
			}
		}
	}
	if err := expect("220"); err != nil {
		return err
	}
	fmt.Fprintf(w, "EHLO bench.test\r\n")
	w.Flush()
	if err := expect("250"); err != nil {
		return err
	}
	envelope := func(i int) {
		fmt.Fprintf(w, "MAIL FROM:<status@acme.test>\r\nRCPT TO:<raw%d-%d@example.com>\r\nDATA\r\n", c, i)
	}
	if count == 0 {
		return nil
	}
	envelope(0)
	w.Flush()
	for i := range count {
		for _, code := range []string{"250", "250", "354"} {
			if err := expect(code); err != nil {
				return err
			}
		}
		w.Write(body)
		w.WriteString(".\r\n")
		if i+1 < count {
			envelope(i + 1)
		}
		w.Flush()
		if err := expect("250"); err != nil {
			return err
		}
	}
	fmt.Fprintf(w, "QUIT\r\n")
	return w.Flush()
}

// dotStuff prepares a message for DATA: lines starting with "." get another.
func dotStuff(msg []byte) []byte {
	s := strings.ReplaceAll("\r\n"+string(msg), "\r\n.", "\r\n..")[2:]
	if !strings.HasSuffix(s, "\r\n") {
		s += "\r\n"
	}
	return []byte(s)
}

// benchConcurrency is HERALD_BENCH_CONCURRENCY, default 8: the SMTP
// connections both senders use.
func benchConcurrency() int {
	if n, err := strconv.Atoi(os.Getenv("HERALD_BENCH_CONCURRENCY")); err == nil && n > 0 {
		return n
	}
	return 8
}

// BenchmarkWebhookFanOut sends one update to 1,000 endpoints of which 10%
// fail — by answering 500, or by hanging past the 15 s timeout — and reports
// how long until every healthy endpoint has its delivery.
//
//	go test -run '^$' -bench BenchmarkWebhookFanOut -benchtime 1x ./notify/
func BenchmarkWebhookFanOut(b *testing.B) {
	for _, mode := range []string{"500", "hang"} {
		b.Run("failing="+mode, func(b *testing.B) {
			ctx := context.Background()
			st := newStore(b)
			var healthy sync.Map
			var got atomic.Int64
			release := make(chan struct{})
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body)
				i, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/h/"))
				if i%10 == 0 { // every tenth endpoint fails
					if mode == "hang" {
						select {
						case <-release:
						case <-r.Context().Done():
						}
					}
					w.WriteHeader(500)
					return
				}
				if _, dup := healthy.LoadOrStore(i, true); !dup {
					got.Add(1)
				}
				w.WriteHeader(204)
			}))
			defer srv.Close()
			defer close(release)
			for i := range 1000 {
				if _, _, err := st.CreateWebhook(ctx, store.WebhookInput{URL: fmt.Sprintf("%s/h/%d", srv.URL, i), Events: []string{"incident.*"}}); err != nil {
					b.Fatal(err)
				}
			}
			g, _ := NewGuard("127.0.0.1")
			startDispatcher(b, st, Config{Webhooks: &WebhookConfig{Guard: g}})
			b.ResetTimer()
			start := time.Now()
			mustIncident(b, st, store.IncidentInput{Name: "Down"})
			for got.Load() < 900 {
				time.Sleep(time.Millisecond)
			}
			took := time.Since(start)
			b.ReportMetric(took.Seconds(), "s-until-all-healthy")
			b.Logf("failing endpoints %s: all 900 healthy endpoints delivered %s after posting", mode, took.Round(time.Millisecond))
		})
	}
}

// BenchmarkFanOutReplicas sends one update to every subscriber with one
// dispatcher, then a second update with two dispatchers on two stores (two
// connection pools and LISTEN connections, as two replicas have) sharing
// one PostgreSQL, into a sink that discards, and reports the two rates and
// their ratio. The replicas are processes of one machine here: they share
// its cores with PostgreSQL and the sink.
//
//	go test -run '^$' -bench BenchmarkFanOutReplicas -benchtime 1x ./notify/
func BenchmarkFanOutReplicas(b *testing.B) {
	n := benchSubscribers()
	ctx := context.Background()
	url := pgtest.Start(b).NewDatabase(b)
	first := openStore(b, url)
	if err := dataset.Subscribers(ctx, first, n); err != nil {
		b.Fatal(err)
	}
	sink := newSMTPSink(b, sinkOptions{discard: true})
	cfg := sink.smtpConfig("none")
	cfg.Concurrency = benchConcurrency()
	fanOut := func(replicas int) float64 {
		var rs []*running
		for range replicas {
			rs = append(rs, startDispatcher(b, openStore(b, url), Config{SMTP: cfg}))
		}
		before := sink.received()
		start := time.Now()
		mustIncident(b, first, store.IncidentInput{Name: fmt.Sprintf("Fan-out by %d", replicas), Body: "Logins fail for **75%** of users."})
		for sink.received() < before+n {
			time.Sleep(5 * time.Millisecond)
		}
		took := time.Since(start)
		for _, r := range rs {
			r.stop()
		}
		b.Logf("%d replica(s): %d messages in %s", replicas, n, took.Round(time.Millisecond))
		return float64(n) / took.Seconds()
	}
	b.ResetTimer()
	one := fanOut(1)
	two := fanOut(2)
	b.StopTimer()
	b.ReportMetric(one, "1-replica-msgs/s")
	b.ReportMetric(two, "2-replicas-msgs/s")
	b.ReportMetric(two/one, "2-vs-1")
}
