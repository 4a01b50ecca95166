package notify

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime/pprof"
	"slices"
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

// BenchmarkFanOutSMTP sends updates to every subscriber through the
// dispatcher into a local SMTP sink that discards, and between them sends
// the same number of messages of the same size into the same sink with a
// minimal pipelined sender on as many connections: the ceiling for this sink
// on this machine. The two alternate, HERALD_BENCH_ROUNDS times (default 3),
// so that drift on a shared machine shows; it reports the medians and their
// ratio, and the minimal sender on one connection once at the end. With
// HERALD_BENCH_CPUPROFILE=FILE it writes a CPU profile of Herald's rounds
// only, of the last round (go tool pprof FILE). Run it once:
//
//	go test -run '^$' -bench BenchmarkFanOutSMTP -benchtime 1x ./notify/
func BenchmarkFanOutSMTP(b *testing.B) {
	n := benchSubscribers()
	ctx := context.Background()
	st, sink, cfg, r := fanOutBench(b, n)
	prof := benchProfile(b)

	b.ResetTimer()
	var herald, minimal []float64
	var heraldCPU, minimalCPU time.Duration
	var msg []byte
	var inc store.Incident
	for round := range benchRounds() {
		before := sink.received()
		cpu0 := cpuTime()
		start := time.Now()
		prof.resume()
		if round == 0 {
			inc = mustIncident(b, st, store.IncidentInput{Name: "Login failures", Body: "Logins fail for **75%** of users. We are rolling back the change."})
		} else if _, err := st.PostIncidentUpdate(ctx, inc.ID, store.IncidentUpdateInput{Status: store.Identified, Body: fmt.Sprintf("Update %d: logins fail for **75%%** of users.", round)}); err != nil {
			b.Fatal(err)
		}
		waitReceived(sink, before+n)
		took := time.Since(start)
		prof.pause()
		heraldCPU += cpuTime() - cpu0
		herald = append(herald, float64(n)/took.Seconds())
		if msg == nil {
			msg = benchMessage(b, st, r.d)
		}
		c0 := cpuTime()
		rate := minimalRate(b, sink, cfg.Concurrency, n, msg)
		minimalCPU += cpuTime() - c0
		minimal = append(minimal, rate)
		b.Logf("round %d: Herald %.0f msgs/s, minimal pipelined sender on %d connections %.0f msgs/s (Herald at %.0f%%)",
			round+1, herald[round], cfg.Concurrency, rate, herald[round]/rate*100)
	}
	b.StopTimer()
	r.stop()
	one := minimalRate(b, sink, 1, n, msg)
	hr, many := median(herald), median(minimal)
	rounds := time.Duration(len(herald) * n)
	b.ReportMetric(hr, "herald-msgs/s")
	b.ReportMetric(one, "pipelined-1conn-msgs/s")
	b.ReportMetric(many, "pipelined-Nconn-msgs/s")
	b.ReportMetric(hr/many*100, "%-of-minimal-Nconn")
	b.Logf("%d messages of %d bytes a round, medians of %d rounds. Herald, %d connections: %.0f msgs/s. "+
		"Minimal pipelined sender, %d connections: %.0f msgs/s (Herald at %.0f%%); 1 connection (once, at the end): %.0f msgs/s (Herald at %.0f%%).",
		n, len(msg), len(herald), cfg.Concurrency, hr, cfg.Concurrency, many, hr/many*100, one, hr/one*100)
	b.Logf("CPU per message, this process (sender and sink together): Herald %s, minimal pipelined sender %s",
		heraldCPU/rounds, minimalCPU/rounds)
}

// fanOutBench is a fresh database with n confirmed subscribers of every
// component, a sink that discards what it receives, and a dispatcher
// sending to it on benchConcurrency connections.
func fanOutBench(b *testing.B, n int) (*store.Store, *smtpSink, *SMTPConfig, *running) {
	st := newStore(b)
	if err := dataset.Subscribers(context.Background(), st, n); err != nil {
		b.Fatal(err)
	}
	sink := newSMTPSink(b, sinkOptions{discard: true})
	cfg := sink.smtpConfig("none")
	cfg.Concurrency = benchConcurrency()
	return st, sink, cfg, startDispatcher(b, st, Config{SMTP: cfg})
}

// benchMessage is one message as Herald builds it for the first job, for
// the minimal sender to send the same bytes raw.
func benchMessage(b *testing.B, st *store.Store, d *Dispatcher) []byte {
	ctx := context.Background()
	job, err := st.GetJob(ctx, 1)
	if err != nil {
		b.Fatal(err)
	}
	subs, _ := st.ListSubscribers(ctx, store.SubscriberFilter{Limit: 1})
	manage, confirm, _ := st.SubscriberLinks(ctx, subs[0].ID)
	msg, err := d.email.message(ctx, &preparedJob{Job: job}, store.Delivery{JobID: 1, RecipientID: subs[0].ID, Email: subs[0].Email, ManageToken: manage, ConfirmToken: confirm}, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	return msg
}

// minimalRate sends n copies of msg with the minimal pipelined sender on
// conns connections and returns messages a second, counted until the sink
// has them all.
func minimalRate(b *testing.B, sink *smtpSink, conns, n int, msg []byte) float64 {
	before := sink.received()
	start := time.Now()
	if err := pipelinedSend(sink.addr, conns, n, msg); err != nil {
		b.Fatal(err)
	}
	waitReceived(sink, before+n)
	return float64(n) / time.Since(start).Seconds()
}

// waitReceived waits until the sink has accepted n messages in all.
func waitReceived(sink *smtpSink, n int) {
	for sink.received() < n {
		select {
		case <-sink.changed:
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// benchRounds is HERALD_BENCH_ROUNDS, default 3.
func benchRounds() int {
	if n, err := strconv.Atoi(os.Getenv("HERALD_BENCH_ROUNDS")); err == nil && n > 0 {
		return n
	}
	return 3
}

// profiler profiles one phase of a benchmark when HERALD_BENCH_CPUPROFILE
// names a file; it does nothing otherwise. A later phase replaces an
// earlier one's profile: pprof profiles one stretch of time per file.
type profiler struct {
	b    *testing.B
	path string
	f    *os.File
}

func benchProfile(b *testing.B) *profiler {
	return &profiler{b: b, path: os.Getenv("HERALD_BENCH_CPUPROFILE")}
}

func (p *profiler) resume() {
	if p.path == "" {
		return
	}
	f, err := os.Create(p.path)
	if err != nil {
		p.b.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		p.b.Fatalf("HERALD_BENCH_CPUPROFILE does not go with go test -cpuprofile: %v", err)
	}
	p.f = f
}

func (p *profiler) pause() {
	if p.f != nil {
		pprof.StopCPUProfile()
		if err := p.f.Close(); err != nil {
			p.b.Fatal(err)
		}
		p.f = nil
	}
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
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

// BenchmarkPostDuringFanOut is the commander's write path while the
// dispatcher fans an update out: quiet updates (SkipNotify, so that they
// add no fan-out of their own) are posted one every 20 ms, first with the
// dispatcher idle, then for as long as one update to every subscriber is
// being delivered into a discarding sink. It reports the median and the
// 99th percentile of each, and the fan-out's rate. The posts call the store
// as the API's handler does; what they wait for is the database's writer.
//
//	go test -run '^$' -bench BenchmarkPostDuringFanOut -benchtime 1x ./notify/
func BenchmarkPostDuringFanOut(b *testing.B) {
	n := benchSubscribers()
	ctx := context.Background()
	st, sink, _, r := fanOutBench(b, n)
	// The notes go round 20 incidents, so that no timeline grows long
	// enough to make its own update slower (each update's audit entry
	// carries the timeline).
	var quiet []store.Incident
	for i := range 20 {
		quiet = append(quiet, mustIncident(b, st, store.IncidentInput{Name: fmt.Sprintf("Quiet %d", i), SkipNotify: true}))
	}
	inc := quiet[0]
	post := func(i int) time.Duration {
		start := time.Now()
		if _, err := st.PostIncidentUpdate(ctx, quiet[i%len(quiet)].ID, store.IncidentUpdateInput{Status: store.Identified, Body: fmt.Sprintf("Quiet note %d.", i), SkipNotify: true}); err != nil {
			b.Fatal(err)
		}
		took := time.Since(start)
		time.Sleep(20 * time.Millisecond)
		return took
	}
	b.ResetTimer()
	var idle, busy []time.Duration
	for i := range 100 {
		idle = append(idle, post(i))
	}
	before := sink.received()
	start := time.Now()
	if _, err := st.PostIncidentUpdate(ctx, inc.ID, store.IncidentUpdateInput{Status: store.Identified, Body: "Logins fail for **75%** of users."}); err != nil {
		b.Fatal(err)
	}
	for i := 0; sink.received() < before+n; i++ {
		busy = append(busy, post(i))
	}
	rate := float64(n) / time.Since(start).Seconds()
	b.StopTimer()
	r.stop()
	b.ReportMetric(ms(percentile(idle, 50)), "idle-p50-ms")
	b.ReportMetric(ms(percentile(idle, 99)), "idle-p99-ms")
	b.ReportMetric(ms(percentile(busy, 50)), "fanout-p50-ms")
	b.ReportMetric(ms(percentile(busy, 99)), "fanout-p99-ms")
	b.ReportMetric(rate, "fanout-msgs/s")
	b.Logf("%d posts with the dispatcher idle: median %s, p99 %s, worst %s. %d posts during a fan-out to %d (%.0f msgs/s): median %s, p99 %s, worst %s.",
		len(idle), percentile(idle, 50), percentile(idle, 99), percentile(idle, 100), len(busy), n, rate, percentile(busy, 50), percentile(busy, 99), percentile(busy, 100))
}

// BenchmarkFanOutStream posts 20 updates (HERALD_BENCH_UPDATES), 100 ms
// apart, each of which tells every subscriber, and reports the delivery
// rate from the first post to the last message accepted by a discarding
// sink, with the posts' latencies; then the minimal pipelined sender's rate
// into the same sink, for the same run's ceiling. HERALD_BENCH_CPUPROFILE=FILE
// profiles the stream.
//
//	go test -run '^$' -bench BenchmarkFanOutStream -benchtime 1x ./notify/
func BenchmarkFanOutStream(b *testing.B) {
	n, updates := benchSubscribers(), 20
	if v, err := strconv.Atoi(os.Getenv("HERALD_BENCH_UPDATES")); err == nil && v > 0 {
		updates = v
	}
	ctx := context.Background()
	st, sink, cfg, r := fanOutBench(b, n)
	inc := mustIncident(b, st, store.IncidentInput{Name: "Login failures", SkipNotify: true})
	prof := benchProfile(b)
	b.ResetTimer()
	prof.resume()
	cpu0 := cpuTime()
	start := time.Now()
	var posts []time.Duration
	for i := range updates {
		t0 := time.Now()
		if _, err := st.PostIncidentUpdate(ctx, inc.ID, store.IncidentUpdateInput{Status: store.Identified, Body: fmt.Sprintf("Update %d: logins fail for **75%%** of users.", i)}); err != nil {
			b.Fatal(err)
		}
		posts = append(posts, time.Since(t0))
		time.Sleep(100 * time.Millisecond)
	}
	waitReceived(sink, updates*n)
	took := time.Since(start)
	cpu := cpuTime() - cpu0
	prof.pause()
	b.StopTimer()
	msg := benchMessage(b, st, r.d)
	r.stop()
	minimal := minimalRate(b, sink, cfg.Concurrency, n, msg)
	rate := float64(updates*n) / took.Seconds()
	b.ReportMetric(rate, "msgs/s")
	b.ReportMetric(minimal, "pipelined-Nconn-msgs/s")
	b.ReportMetric(rate/minimal*100, "%-of-minimal-Nconn")
	b.ReportMetric(ms(percentile(posts, 50)), "post-p50-ms")
	b.ReportMetric(ms(percentile(posts, 100)), "post-max-ms")
	b.Logf("%d updates to %d subscribers: %d messages in %s, %.0f msgs/s, %s of CPU a message (sender and sink together); the posts took %s median, %s at worst. "+
		"Then the minimal pipelined sender, %d messages on %d connections: %.0f msgs/s (the stream at %.0f%%).",
		updates, n, updates*n, took.Round(time.Millisecond), rate, cpu/time.Duration(updates*n), percentile(posts, 50), percentile(posts, 100),
		n, cfg.Concurrency, minimal, rate/minimal*100)
}

// percentile is the p-th percentile of ds (100: the largest).
func percentile(ds []time.Duration, p float64) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(math.Ceil(p/100*float64(len(s)))) - 1
	return s[max(0, min(i, len(s)-1))]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

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
