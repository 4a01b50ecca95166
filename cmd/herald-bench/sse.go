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
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/herald-status/herald/store"
	"github.com/herald-status/herald/store/dataset"
	"github.com/herald-status/herald/web"
)

type sseOptions struct {
	clients int
	rounds  int
	ramp    int // try to hold this many clients to find where it gives; 0 skips
	sources int // loopback source addresses to spread connections over
}

func sseMain(args []string) error {
	fs := flag.NewFlagSet("herald-bench sse", flag.ExitOnError)
	var o sseOptions
	fs.IntVar(&o.clients, "clients", 10000, "live clients connected to /events?types=json")
	fs.IntVar(&o.rounds, "rounds", 5, "updates posted; the median time to reach every client is reported")
	fs.IntVar(&o.ramp, "ramp", 0, "afterwards, keep connecting up to this many clients to see where something gives (0: skip)")
	fs.IntVar(&o.sources, "sources", 8, "loopback source addresses (127.0.0.1 … 127.0.0.N) to spread connections over (each has ~28k ports)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: herald-bench sse [flags]\n\nConnects many SSE clients to a Herald child process on 127.0.0.1, posts updates, and reports\nhow long each takes to reach every client and the server's memory per client.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	fs.Parse(args)
	if o.clients < 1 || o.rounds < 1 || o.sources < 1 || o.sources > 250 {
		return errors.New("-clients and -rounds must be at least 1, -sources 1 to 250")
	}
	ctx := context.Background()
	fmt.Printf("Open-file limit per process: %d (each client is a descriptor in this process and one in the server)\n", raiseFileLimit())

	dir, err := os.MkdirTemp("", "herald-bench-sse-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	dbPath := filepath.Join(dir, "herald.db")
	st, err := store.Open(ctx, dbPath)
	if err != nil {
		return err
	}
	if err := dataset.Benchmark(ctx, st); err != nil {
		return fmt.Errorf("build data set: %w", err)
	}
	comps, err := st.ListComponents(ctx)
	if err != nil {
		return err
	}
	_, token, err := st.CreateToken(ctx, "bench")
	if err != nil {
		return err
	}
	st.Close()

	child, addr, err := startSSEChild(dbPath)
	if err != nil {
		return err
	}
	defer func() {
		child.Process.Signal(syscall.SIGTERM)
		child.Wait()
	}()
	base := "http://" + addr
	fmt.Printf("Herald (pid %d) on %s; %d clients, %d rounds\n", child.Process.Pid, addr, o.clients, o.rounds)

	rssBefore := rssKB(child.Process.Pid)
	clients, err := connectClients(addr, o.clients, o.sources)
	if err != nil {
		return fmt.Errorf("connecting clients: %w", err)
	}
	defer func() {
		for _, c := range clients {
			c.conn.Close()
		}
	}()
	time.Sleep(500 * time.Millisecond) // let the server settle its per-connection allocations
	rssAfter := rssKB(child.Process.Pid)

	var times []time.Duration
	for round := range o.rounds {
		// Each round changes a component's status, so each produces an event.
		comp := &comps[round%len(comps)]
		status := store.DegradedPerformance
		if comp.Status == status {
			status = store.Operational
		}
		comp.Status = status
		want := []byte(`"id":"` + comp.ID + `"`)
		for _, c := range clients {
			c.arm(want)
		}
		start := time.Now()
		if err := patchStatus(base, token, comp.ID, string(status)); err != nil {
			return err
		}
		answered := time.Since(start)
		var first, last time.Time
		deadline := time.Now().Add(30 * time.Second)
		for _, c := range clients {
			got, ok := c.wait(time.Until(deadline))
			if !ok {
				return fmt.Errorf("round %d: a client did not receive the update within 30s", round+1)
			}
			if got.After(last) {
				last = got
			}
			if first.IsZero() || got.Before(first) {
				first = got
			}
		}
		d := last.Sub(start)
		times = append(times, d)
		fmt.Printf("  round %d: update reached all %d clients in %v (API answered after %v; first client after %v)\n",
			round+1, len(clients), d.Round(100*time.Microsecond), answered.Round(100*time.Microsecond), first.Sub(start).Round(100*time.Microsecond))
		time.Sleep(200 * time.Millisecond)
	}
	sorted := slices.Clone(times)
	slices.Sort(sorted)
	median := sorted[len(sorted)/2]
	perClient := float64(rssAfter-rssBefore) / float64(len(clients))
	fmt.Printf("\nReached every one of %d clients: median %v over %d rounds (min %v, max %v; from sending the API request to the last client's receipt)\n",
		len(clients), median.Round(100*time.Microsecond), len(times), sorted[0].Round(100*time.Microsecond), sorted[len(sorted)-1].Round(100*time.Microsecond))
	fmt.Printf("Server resident memory: %d KB before clients, %d KB with them: %.1f KB per client\n", rssBefore, rssAfter, perClient)
	fmt.Printf("Targets: under 100 ms (%s), at most 20 KB per client (%s)\n", verdict(median < 100*time.Millisecond), verdict(perClient <= 20))

	if o.ramp > len(clients) {
		more, err := connectClients(addr, o.ramp-len(clients), o.sources)
		total := len(clients) + len(more)
		for _, c := range more {
			defer c.conn.Close()
		}
		if err != nil {
			fmt.Printf("Ramp: held %d clients at once (server RSS %d KB); the next connection failed: %v\n", total, rssKB(child.Process.Pid), err)
		} else {
			fmt.Printf("Ramp: held all %d clients at once (server RSS %d KB)\n", total, rssKB(child.Process.Pid))
		}
	}
	return nil
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
// armed byte pattern in each event's data and records when it arrived.
type sseClient struct {
	conn    net.Conn
	mu      sync.Mutex
	want    []byte
	arrived chan time.Time
}

func (c *sseClient) arm(want []byte) {
	c.mu.Lock()
	c.want = want
	c.arrived = make(chan time.Time, 1)
	c.mu.Unlock()
}

func (c *sseClient) wait(d time.Duration) (time.Time, bool) {
	c.mu.Lock()
	ch := c.arrived
	c.mu.Unlock()
	select {
	case t := <-ch:
		return t, true
	case <-time.After(d):
		return time.Time{}, false
	}
}

func (c *sseClient) read() {
	r := bufio.NewReaderSize(c.conn, 8192)
	for {
		line, err := r.ReadSlice('\n')
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return
		}
		if !bytes.HasPrefix(line, []byte("data: ")) {
			continue
		}
		now := time.Now()
		c.mu.Lock()
		if c.want != nil && bytes.Contains(line, c.want) {
			c.want = nil
			c.arrived <- now
		}
		c.mu.Unlock()
	}
}

var connected atomic.Int64

// connectClients opens n streams, spreading them over loopback source
// addresses, and returns once each has its response headers.
func connectClients(addr string, n, sources int) ([]*sseClient, error) {
	clients := make([]*sseClient, 0, n)
	var mu sync.Mutex
	var firstErr error
	sem := make(chan struct{}, 200)
	var wg sync.WaitGroup
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
				err = startStream(conn)
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
			c := &sseClient{conn: conn, arrived: make(chan time.Time, 1)}
			clients = append(clients, c)
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
func startStream(conn net.Conn) error {
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	defer conn.SetDeadline(time.Time{})
	if _, err := io.WriteString(conn, "GET /events?types=json HTTP/1.1\r\nHost: bench\r\nAccept: text/event-stream\r\n\r\n"); err != nil {
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
