package main

// The live-updates benchmark: many clients hold /events open; one update is
// posted; how long until the last of them has it, and how much memory does
// the server hold per client? The server runs as a child process so that its
// resident memory is measured alone, apart from the clients'.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/herald-status/herald/store"
	"github.com/herald-status/herald/store/dataset"
	"github.com/herald-status/herald/web"
)

type sseOptions struct {
	clients    int
	rounds     int
	ramp       int // try to hold this many clients to find where it gives; 0 skips
	sources    int // loopback source addresses to spread connections over
	components []int
	kinds      []string
	repeat     int
}

// The kinds of stream measured: the API-shaped change events, and the
// "page" events the status page's script applies.
var sseKinds = map[string]string{"json": "json", "page": "html&parts=1"}

func sseMain(args []string) error {
	fs := flag.NewFlagSet("herald-bench sse", flag.ExitOnError)
	var o sseOptions
	var components, kinds string
	fs.IntVar(&o.clients, "clients", 10000, "live clients connected to /events for each measurement")
	fs.IntVar(&o.rounds, "rounds", 6, "updates posted per measurement (even: every component changed is changed back); the median time to reach every client is reported")
	fs.StringVar(&components, "components", "30,300", "page sizes to measure, comma separated (dataset.BenchmarkScaled: multiples of 6, at least 30)")
	fs.StringVar(&kinds, "kinds", "json,page", "streams to measure at each size, in turn: json (/events?types=json) and page (/events?types=html&parts=1, the status page's events)")
	fs.IntVar(&o.repeat, "repeat", 2, "measure each kind this many times at each size, alternating (json, page, json, page, …)")
	fs.IntVar(&o.ramp, "ramp", 0, "afterwards, keep connecting json clients up to this many to see where something gives (0: skip)")
	fs.IntVar(&o.sources, "sources", 8, "loopback source addresses (127.0.0.1 … 127.0.0.N) to spread connections over (each has ~28k ports)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: herald-bench sse [flags]\n\nConnects many SSE clients to a Herald child process on 127.0.0.1, posts updates, and reports\nhow long each takes to reach every client, for the JSON events and the page's events, at each\npage size, and the server's memory per client.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	fs.Parse(args)
	for _, f := range strings.Split(components, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return fmt.Errorf("-components: %q is not a number", f)
		}
		o.components = append(o.components, n)
	}
	for _, k := range strings.Split(kinds, ",") {
		if k = strings.TrimSpace(k); sseKinds[k] == "" {
			return fmt.Errorf("-kinds: unknown kind %q; use json and page", k)
		}
		o.kinds = append(o.kinds, strings.TrimSpace(k))
	}
	if o.clients < 1 || o.rounds < 1 || o.repeat < 1 || o.sources < 1 || o.sources > 250 {
		return errors.New("-clients, -rounds and -repeat must be at least 1, -sources 1 to 250")
	}
	ctx := context.Background()
	fmt.Printf("Open-file limit per process: %d (each client is a descriptor in this process and one in the server)\n", raiseFileLimit())

	dir, err := os.MkdirTemp("", "herald-bench-sse-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	var summary []sseSummary
	for _, n := range o.components {
		s, err := sseAtSize(ctx, o, filepath.Join(dir, fmt.Sprintf("herald-%d.db", n)), n)
		if err != nil {
			return fmt.Errorf("%d components: %w", n, err)
		}
		summary = append(summary, s...)
	}
	fmt.Printf("\nSummary: %d clients, medians over every round of every measurement (min–max of the measurements' medians)\n", o.clients)
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "components\tkind\treached all\tmeasurements\tbytes per client\twritten per change\tserver memory per client\tvs json")
	for _, s := range summary {
		ratio := ""
		for _, j := range summary {
			if j.components == s.components && j.kind == "json" && s.kind != "json" {
				r := float64(s.median) / float64(j.median)
				ratio = fmt.Sprintf("%.2f× (target at most 2×: %s)", r, verdict(r <= 2))
			}
		}
		fmt.Fprintf(tw, "%d\t%s\t%v\t%v–%v\t%d\t%.1f MB\t%.1f KB\t%s\n", s.components, s.kind, s.median.Round(100*time.Microsecond),
			s.lo.Round(100*time.Microsecond), s.hi.Round(100*time.Microsecond), s.bytes, float64(s.bytes)*float64(o.clients)/1e6, s.perClientKB, ratio)
	}
	tw.Flush()
	return nil
}

// sseSummary is one kind of stream at one page size, over its measurements.
type sseSummary struct {
	components  int
	kind        string
	median      time.Duration // over every round
	lo, hi      time.Duration // of the measurements' medians
	bytes       int           // median size of the event one client received
	perClientKB float64
}

// sseAtSize builds a data set of n components and measures each kind of
// stream on it, alternating, each time on a fresh server.
func sseAtSize(ctx context.Context, o sseOptions, dbPath string, n int) ([]sseSummary, error) {
	st, err := store.Open(ctx, dbPath)
	if err != nil {
		return nil, err
	}
	if err := dataset.BenchmarkScaled(ctx, st, n); err != nil {
		st.Close()
		return nil, fmt.Errorf("build data set: %w", err)
	}
	comps, err := st.ListComponents(ctx)
	if err != nil {
		st.Close()
		return nil, err
	}
	_, token, err := st.CreateToken(ctx, "bench")
	st.Close()
	if err != nil {
		return nil, err
	}
	fmt.Printf("\n%d components\n", n)
	rounds := map[string][]time.Duration{}
	medians := map[string][]time.Duration{}
	sizes := map[string][]int{}
	memory := map[string][]float64{}
	for rep := range o.repeat {
		for _, kind := range o.kinds {
			m, err := measureSSE(o, dbPath, token, comps, kind)
			if err != nil {
				return nil, fmt.Errorf("%s, measurement %d: %w", kind, rep+1, err)
			}
			rounds[kind] = append(rounds[kind], m.times...)
			medians[kind] = append(medians[kind], medianOf(m.times))
			sizes[kind] = append(sizes[kind], m.sizes...)
			memory[kind] = append(memory[kind], m.perClientKB)
		}
	}
	if o.ramp > o.clients && n == o.components[len(o.components)-1] {
		if err := rampSSE(o, dbPath); err != nil {
			return nil, err
		}
	}
	var out []sseSummary
	for _, kind := range o.kinds {
		slices.Sort(medians[kind])
		slices.Sort(sizes[kind])
		slices.Sort(memory[kind])
		out = append(out, sseSummary{components: n, kind: kind, median: medianOf(rounds[kind]),
			lo: medians[kind][0], hi: medians[kind][len(medians[kind])-1],
			bytes: sizes[kind][len(sizes[kind])/2], perClientKB: memory[kind][len(memory[kind])/2]})
	}
	return out, nil
}

func medianOf(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

// sseMeasurement is one kind measured on one server.
type sseMeasurement struct {
	times       []time.Duration // per round: from the API request to the last client's receipt
	sizes       []int           // per round: the bytes of the event one client received
	perClientKB float64
}

// measureSSE starts a server, connects the clients of one kind, posts the
// rounds' updates and times each to the last client. Round 2k changes a
// component, round 2k+1 changes it back, so every measurement starts from
// the same page; the components are spread over the page (some in groups
// that show a problem already, most not).
func measureSSE(o sseOptions, dbPath, token string, comps []store.Component, kind string) (sseMeasurement, error) {
	var m sseMeasurement
	child, addr, err := startSSEChild(dbPath)
	if err != nil {
		return m, err
	}
	defer func() {
		child.Process.Signal(syscall.SIGTERM)
		child.Wait()
	}()
	base := "http://" + addr
	version, err := pageVersion(base)
	if err != nil {
		return m, err
	}
	rssBefore := rssKB(child.Process.Pid)
	clients, err := connectClients(addr, o.clients, o.sources, sseKinds[kind], version)
	defer func() {
		for _, c := range clients {
			c.conn.Close()
		}
	}()
	if err != nil {
		return m, fmt.Errorf("connecting clients: %w", err)
	}
	time.Sleep(500 * time.Millisecond) // let the server settle its per-connection allocations
	m.perClientKB = float64(rssKB(child.Process.Pid)-rssBefore) / float64(len(clients))

	for round := range o.rounds {
		comp := comps[(round/2*37)%len(comps)]
		status := store.DegradedPerformance
		if comp.Status == status {
			status = store.Operational
		}
		if round%2 == 1 {
			status = comp.Status // back as it was
		}
		event, want := "page", []byte(nil)
		if kind == "json" {
			event, want = "component.updated", []byte(`"id":"`+comp.ID+`"`)
		}
		for _, c := range clients {
			c.arm(event, want)
		}
		start := time.Now()
		if err := patchStatus(base, token, comp.ID, string(status)); err != nil {
			return m, err
		}
		answered := time.Since(start)
		var first, last time.Time
		deadline := time.Now().Add(60 * time.Second)
		size := 0
		for _, c := range clients {
			got, n, ok := c.wait(time.Until(deadline))
			if !ok {
				return m, fmt.Errorf("round %d: a client did not receive the update within 60s", round+1)
			}
			if got.After(last) {
				last = got
			}
			if first.IsZero() || got.Before(first) {
				first = got
			}
			size = n
		}
		d := last.Sub(start)
		m.times = append(m.times, d)
		m.sizes = append(m.sizes, size)
		fmt.Printf("  %-4s round %d (%s → %s): reached all %d clients in %v (API answered after %v; first client after %v; %d bytes each)\n",
			kind, round+1, comp.Name, status, len(clients), d.Round(100*time.Microsecond), answered.Round(100*time.Microsecond),
			first.Sub(start).Round(100*time.Microsecond), size)
		time.Sleep(200 * time.Millisecond)
	}
	return m, nil
}

// rampSSE connects json clients until o.ramp or until something gives.
func rampSSE(o sseOptions, dbPath string) error {
	child, addr, err := startSSEChild(dbPath)
	if err != nil {
		return err
	}
	defer func() {
		child.Process.Signal(syscall.SIGTERM)
		child.Wait()
	}()
	clients, err := connectClients(addr, o.ramp, o.sources, "json", 0)
	for _, c := range clients {
		defer c.conn.Close()
	}
	if err != nil {
		fmt.Printf("Ramp: held %d clients at once (server RSS %d KB); the next connection failed: %v\n", len(clients), rssKB(child.Process.Pid), err)
	} else {
		fmt.Printf("Ramp: held all %d clients at once (server RSS %d KB)\n", len(clients), rssKB(child.Process.Pid))
	}
	return nil
}

// pageVersion is the version the status page was rendered at, which a page
// client resumes from (as the page script does).
func pageVersion(base string) (int64, error) {
	resp, err := http.Get(base + "/")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	m := regexp.MustCompile(`data-event-id="(\d+)"`).FindSubmatch(body)
	if m == nil {
		return 0, errors.New("the status page carries no data-event-id")
	}
	return strconv.ParseInt(string(m[1]), 10, 64)
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "NOT met"
}

// sseServeChild is the child process: Herald on the given database, with no
// cap on streams per address (every client comes from loopback).
func sseServeChild(args []string) error {
	if len(args) != 1 {
		return errors.New("sse-server needs the database path")
	}
	raiseFileLimit()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st, err := store.Open(ctx, args[0])
	if err != nil {
		return err
	}
	defer st.Close()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	srv, err := web.New(ctx, web.Config{MaxStreamsPerIP: 0, Logger: logger}, st)
	if err != nil {
		return err
	}
	go srv.Run(ctx)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Println(ln.Addr().String())
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second}
	hs.RegisterOnShutdown(srv.CloseStreams)
	go func() {
		sig := make(chan os.Signal, 1)
		signalNotify(sig)
		<-sig
		hs.Shutdown(context.Background())
	}()
	if err := hs.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func startSSEChild(dbPath string) (*exec.Cmd, string, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, "", err
	}
	cmd := exec.Command(self, "sse-server", dbPath)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, "", err
	}
	if err := cmd.Start(); err != nil {
		return nil, "", err
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		cmd.Process.Kill()
		return nil, "", fmt.Errorf("child server did not start: %w", err)
	}
	return cmd, strings.TrimSpace(line), nil
}

// sseClient is one raw connection reading the stream. It looks for the
// armed event (by name, and a byte pattern in its data when one is given)
// and records when the whole of it had arrived, and its size.
type sseClient struct {
	conn    net.Conn
	mu      sync.Mutex
	event   string
	want    []byte
	arrived chan arrival
}

type arrival struct {
	at   time.Time
	size int
}

func (c *sseClient) arm(event string, want []byte) {
	c.mu.Lock()
	c.event, c.want = event, want
	c.arrived = make(chan arrival, 1)
	c.mu.Unlock()
}

func (c *sseClient) wait(d time.Duration) (time.Time, int, bool) {
	c.mu.Lock()
	ch := c.arrived
	c.mu.Unlock()
	select {
	case a := <-ch:
		return a.at, a.size, true
	case <-time.After(d):
		return time.Time{}, 0, false
	}
}

func (c *sseClient) read() {
	r := bufio.NewReaderSize(c.conn, 16<<10)
	var name []byte
	size, found, lineStart := 0, false, true
	for {
		line, err := r.ReadSlice('\n')
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return
		}
		size += len(line)
		c.mu.Lock()
		switch {
		case lineStart && len(line) == 1 && line[0] == '\n': // the end of an event
			if c.event != "" && string(name) == c.event && (c.want == nil || found) {
				c.arrived <- arrival{time.Now(), size}
				c.event = "" // disarmed until the next round
			}
			name, size, found = name[:0], 0, false
		case lineStart && bytes.HasPrefix(line, []byte("event: ")):
			name = append(name[:0], bytes.TrimSpace(line[len("event: "):])...)
		case c.want != nil && bytes.Contains(line, c.want):
			found = true
		}
		c.mu.Unlock()
		lineStart = err == nil
	}
}

var connected atomic.Int64

// connectClients opens n streams of the given types (and, for the page's
// events, resuming from version, as the page script does), spreading them
// over loopback source addresses, and returns once each has its response
// headers.
func connectClients(addr string, n, sources int, types string, version int64) ([]*sseClient, error) {
	clients := make([]*sseClient, 0, n)
	var mu sync.Mutex
	var firstErr error
	sem := make(chan struct{}, 200)
	var wg sync.WaitGroup
	path := "/events?types=" + types
	if version > 0 {
		path += "&last_event_id=" + strconv.FormatInt(version, 10)
	}
	for i := range n {
		mu.Lock()
		failed := firstErr != nil
		mu.Unlock()
		if failed {
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(1+i%sources))}, Timeout: 10 * time.Second}
			conn, err := d.Dial("tcp", addr)
			if err == nil {
				err = startStream(conn, path)
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if conn != nil {
					conn.Close()
				}
				if firstErr == nil {
					firstErr = err
				}
				return
			}
			clients = append(clients, &sseClient{conn: conn})
			connected.Add(1)
		}(i)
	}
	wg.Wait()
	for _, c := range clients {
		go c.read()
	}
	return clients, firstErr
}

// startStream sends the request and reads the response headers.
func startStream(conn net.Conn, path string) error {
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	defer conn.SetDeadline(time.Time{})
	if _, err := io.WriteString(conn, "GET "+path+" HTTP/1.1\r\nHost: bench\r\nAccept: text/event-stream\r\n\r\n"); err != nil {
		return err
	}
	// Read up to the end of the headers byte by byte so that nothing of
	// the stream is consumed here.
	var tail [4]byte
	var status []byte
	for {
		var b [1]byte
		if _, err := conn.Read(b[:]); err != nil {
			return err
		}
		if len(status) < 12 {
			status = append(status, b[0])
		}
		copy(tail[:], tail[1:])
		tail[3] = b[0]
		if string(tail[:]) == "\r\n\r\n" {
			break
		}
	}
	if !bytes.HasPrefix(status, []byte("HTTP/1.1 200")) {
		return fmt.Errorf("stream answered %q", status)
	}
	return nil
}

func patchStatus(base, token, id, status string) error {
	req, err := http.NewRequest("PATCH", base+"/api/v1/components/"+id, strings.NewReader(`{"status":"`+status+`"}`))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("PATCH component: %s %s", resp.Status, body)
	}
	return nil
}

// rssKB reads a process's resident set size from /proc.
func rssKB(pid int) int64 {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

// raiseFileLimit lifts the open-file limit as far as this process may:
// every client is a descriptor on each side.
func raiseFileLimit() uint64 {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0
	}
	for _, want := range []uint64{1 << 20, 500000, 200000, lim.Max} {
		if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: want, Max: max(want, lim.Max)}) == nil {
			return want
		}
	}
	return lim.Cur
}

func signalNotify(ch chan os.Signal) { signal.Notify(ch, syscall.SIGTERM, os.Interrupt) }
