// Command herald-bench measures how fast Herald serves its public page under
// load, against a bare net/http handler on the same machine in the same run.
//
// It builds the data set from the performance target (30 components in 5
// groups, 3 active incidents with 10 updates each) in a temporary SQLite
// file, starts Herald and a handler that answers "ok" on loopback ports, and
// runs wrk against each in turn: bare, Herald, bare again (so drift during
// the run shows). It prints requests per second, latency, the CPU time each
// request cost the server and wrk (steadier than requests/s on a busy
// machine), and the ratio Herald/bare.
//
//	go run ./cmd/herald-bench                  # wrk -t2 -c50 -d10s, as in the README
//	go run ./cmd/herald-bench -duration 3s     # a quick look
//	go run ./cmd/herald-bench -replay          # also a handler replaying Herald's bytes
//
// -replay separates Herald's own cost from the cost of sending a page of
// this size: net/http buffers a connection's writes 4 KiB at a time, so a
// response of more than about 4 KiB (headers included) takes two write(2)
// calls where "ok" takes one, whatever the handler does.
//
// It needs wrk (apt-get install wrk) and only ever targets 127.0.0.1.
//
// Two other modes measure other costs, each against its own baseline:
//
//	go run ./cmd/herald-bench sse        # one update reaching 10,000 live clients
//	go run ./cmd/herald-bench history    # a page with 100,000 old incidents against a new one
package main

import (
	"bytes"
	"compress/gzip"
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
	"runtime"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/herald-status/herald/store"
	"github.com/herald-status/herald/store/dataset"
	"github.com/herald-status/herald/web"
)

type options struct {
	duration    time.Duration
	warmup      time.Duration
	connections int
	threads     int
	rounds      int
	bareAfter   bool
	target      float64
	db          string
	keep        bool
	verbose     bool
	cpuprofile  string
	replay      bool
}

func main() {
	if len(os.Args) > 1 {
		var err error
		switch os.Args[1] {
		case "sse":
			err = sseMain(os.Args[2:])
		case "sse-server": // the child process of "sse"
			err = sseServeChild(os.Args[2:])
		case "history":
			err = historyMain(os.Args[2:])
		default:
			goto wrk
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "herald-bench: %v\n", err)
			os.Exit(1)
		}
		return
	}
wrk:
	var o options
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "how long each wrk run lasts (wrk -d)")
	flag.DurationVar(&o.warmup, "warmup", time.Second, "an unrecorded wrk run against each server before measuring (0 to skip)")
	flag.IntVar(&o.connections, "connections", 50, "open connections (wrk -c)")
	flag.IntVar(&o.threads, "threads", 2, "wrk threads (wrk -t)")
	flag.IntVar(&o.rounds, "rounds", 1, "measure bare then Herald this many times")
	flag.BoolVar(&o.bareAfter, "bare-after", true, "measure the bare handler once more at the end, to show drift")
	flag.Float64Var(&o.target, "target", 0.80, "the Herald/bare ratio to meet")
	flag.StringVar(&o.db, "db", "", "write the data set to this SQLite file (must not exist) and keep it, or to this empty PostgreSQL database (postgres://…); default a temporary SQLite file")
	flag.BoolVar(&o.keep, "keep", false, "keep the temporary database and print its path")
	flag.BoolVar(&o.verbose, "v", false, "print wrk's full output")
	flag.BoolVar(&o.replay, "replay", false, "also measure a bare handler replaying Herald's exact / response (same headers and gzip bytes): the ceiling for any Go server sending this page")
	flag.StringVar(&o.cpuprofile, "cpuprofile", "", "write a CPU profile of this process while wrk loads Herald to this file (go tool pprof FILE)")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "Usage: herald-bench [flags]\n\n"+
			"Compares Herald's / (with Accept-Encoding: gzip) against a bare net/http handler returning \"ok\",\n"+
			"both on 127.0.0.1, using wrk. Needs wrk (apt-get install wrk).\n\nFlags:\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "herald-bench: unexpected arguments %q\n", flag.Args())
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o, os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "herald-bench: %v\n", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options, out io.Writer) error {
	if o.duration < time.Second {
		return fmt.Errorf("-duration %s: wrk needs at least 1s", o.duration)
	}
	if o.connections < 1 || o.threads < 1 || o.connections < o.threads {
		return fmt.Errorf("-connections (%d) must be at least 1 and at least -threads (%d)", o.connections, o.threads)
	}
	if o.rounds < 1 {
		return fmt.Errorf("-rounds %d: must be at least 1", o.rounds)
	}
	wrkPath, err := exec.LookPath("wrk")
	if err != nil {
		return errors.New("wrk is not installed (or not on PATH); install it with: apt-get install wrk")
	}

	// The data set.
	dbPath := o.db
	if dbPath == "" {
		dir, err := os.MkdirTemp("", "herald-bench-")
		if err != nil {
			return err
		}
		if o.keep {
			defer fmt.Fprintf(out, "\nDatabase kept at %s\n", filepath.Join(dir, "herald.db"))
		} else {
			defer os.RemoveAll(dir)
		}
		dbPath = filepath.Join(dir, "herald.db")
	} else if _, err := os.Stat(dbPath); err == nil && !store.IsPostgresURL(dbPath) {
		return fmt.Errorf("-db %s already exists; give a new path", dbPath)
	}
	st, err := store.Open(ctx, dbPath)
	if err != nil {
		return err
	}
	defer st.Close()
	if comps, err := st.ListComponents(ctx); err != nil || len(comps) > 0 {
		return fmt.Errorf("-db %s must be empty (it has %d components): %v", store.RedactURL(dbPath), len(comps), err)
	}
	fmt.Fprintf(out, "Database: %s (%s)\n", st.Path(), st.Backend())
	fmt.Fprintf(out, "Building the data set (30 components in 5 groups, 3 active incidents × 10 updates)…\n")
	if err := dataset.Benchmark(ctx, st); err != nil {
		return fmt.Errorf("build data set: %w", err)
	}

	// Herald, in-process, with its background loops.
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	srv, err := web.New(ctx, web.Config{BaseURL: "http://127.0.0.1", PageName: "Acme", Logger: logger}, st)
	if err != nil {
		return err
	}
	runDone := make(chan error, 1)
	go func() { runDone <- srv.Run(ctx) }()
	defer func() { cancel(); <-runDone }()
	if err := srv.WaitFresh(ctx); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	heraldURL, stopHerald, err := serveLoopback(srv.Handler(), logger)
	if err != nil {
		return err
	}
	defer stopHerald()

	// The bare handler, served the same way.
	ok := []byte("ok")
	bareURL, stopBare, err := serveLoopback(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write(ok)
	}), logger)
	if err != nil {
		return err
	}
	defer stopBare()

	// Check that the page is the real thing before timing it.
	check, err := checkHome(ctx, heraldURL)
	if err != nil {
		return fmt.Errorf("Herald's / is not ready to measure: %w", err)
	}

	// The replay handler sends what Herald sends, with no work at all: what
	// is left between it and bare is the cost of the page's size on the wire.
	var replayURL string
	if o.replay {
		hdr := check.header.Clone()
		hdr.Del("Date") // net/http adds its own
		var stopReplay func()
		replayURL, stopReplay, err = serveLoopback(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h := w.Header()
			for k, v := range hdr {
				h[k] = v
			}
			_, _ = w.Write(check.body)
		}), logger)
		if err != nil {
			return err
		}
		defer stopReplay()
	}

	wrkVersion := firstLine(exec.Command(wrkPath, "-v"))
	fmt.Fprintf(out, "\nHerald  %s  (200, Content-Encoding: gzip, %d bytes gzip / %d bytes HTML, ETag %s)\n", heraldURL, check.gzipLen, check.htmlLen, check.etag)
	fmt.Fprintf(out, "bare    %s  (net/http handler writing \"ok\")\n", bareURL)
	if replayURL != "" {
		fmt.Fprintf(out, "replay  %s  (net/http handler writing Herald's / response as captured: headers and gzip bytes)\n", replayURL)
	}
	fmt.Fprintf(out, "machine %d CPUs, GOMAXPROCS %d, %s %s/%s, load average %s\n", runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.Version(), runtime.GOOS, runtime.GOARCH, loadAverage())
	fmt.Fprintf(out, "wrk     %s\n", wrkVersion)
	args := []string{"-t" + strconv.Itoa(o.threads), "-c" + strconv.Itoa(o.connections), "-d" + wrkDuration(o.duration), "--latency", "-H", "Accept-Encoding: gzip"}
	fmt.Fprintf(out, "command wrk %s URL\n\n", shellJoin(args))

	if o.warmup > 0 {
		wargs := []string{"-t" + strconv.Itoa(o.threads), "-c" + strconv.Itoa(o.connections), "-d" + wrkDuration(max(o.warmup, time.Second)), "-H", "Accept-Encoding: gzip"}
		for _, u := range []string{bareURL, heraldURL, replayURL} {
			if u == "" {
				continue
			}
			if _, _, err := runWrk(ctx, wrkPath, wargs, u); err != nil {
				return fmt.Errorf("warm-up: %w", err)
			}
		}
	}

	var results []result
	measure := func(name, url string) error {
		fmt.Fprintf(out, "running %-6s %s …\n", name, o.duration)
		cpu0 := processCPU()
		raw, wrkCPU, err := runWrk(ctx, wrkPath, args, url)
		serverCPU := processCPU() - cpu0
		if o.verbose {
			fmt.Fprintf(out, "%s\n", raw)
		}
		if err != nil {
			return err
		}
		r, err := parseWrk(raw)
		if err != nil {
			return fmt.Errorf("wrk against %s: %w\n%s", name, err, raw)
		}
		r.name = name
		if r.requests > 0 {
			r.serverCPU = serverCPU / time.Duration(r.requests)
			r.wrkCPU = wrkCPU / time.Duration(r.requests)
		}
		results = append(results, r)
		return nil
	}
	for range o.rounds {
		if err := measure("bare", bareURL); err != nil {
			return err
		}
		if err := measureProfiled(o.cpuprofile, func() error { return measure("herald", heraldURL) }); err != nil {
			return err
		}
		if replayURL != "" {
			if err := measure("replay", replayURL); err != nil {
				return err
			}
		}
	}
	if o.bareAfter {
		if err := measure("bare", bareURL); err != nil {
			return err
		}
	}
	// Herald rebuilds its snapshot once a minute, as it would in production;
	// the page must still be whole afterwards.
	if _, err := checkHome(ctx, heraldURL); err != nil {
		fmt.Fprintf(out, "warning: Herald's / failed after the run: %v\n", err)
	}
	report(out, o, results)
	return nil
}

// measureProfiled runs measure under the CPU profiler when path is set. Only
// Herald's runs are profiled; with several rounds the last one wins.
func measureProfiled(path string, measure func() error) error {
	if path == "" {
		return measure()
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return err
	}
	err = measure()
	pprof.StopCPUProfile()
	return errors.Join(err, f.Close())
}

// serveLoopback serves h on an ephemeral 127.0.0.1 port with the timeouts
// `herald serve` uses, and returns its base URL and a stop function.
func serveLoopback(h http.Handler, logger *slog.Logger) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	// Both servers run exactly as `herald serve` runs Herald.
	hs := web.NewHTTPServer(h, logger)
	go func() { _ = hs.Serve(web.CoalescingListener(ln)) }()
	stop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = hs.Shutdown(ctx)
	}
	return "http://" + ln.Addr().String() + "/", stop, nil
}

type homeCheck struct {
	etag             string
	gzipLen, htmlLen int
	header           http.Header
	body             []byte // as sent, gzipped
}

// checkHome fetches / as wrk will, and makes sure it is a real, gzipped
// status page with the data set on it.
func checkHome(ctx context.Context, url string) (homeCheck, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return homeCheck{}, err
	}
	// Set by hand, so the client does not decompress transparently.
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return homeCheck{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return homeCheck{}, err
	}
	if resp.StatusCode != http.StatusOK {
		return homeCheck{}, fmt.Errorf("status %d, want 200", resp.StatusCode)
	}
	if ce := resp.Header.Get("Content-Encoding"); ce != "gzip" {
		return homeCheck{}, fmt.Errorf("Content-Encoding %q, want gzip", ce)
	}
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		return homeCheck{}, fmt.Errorf("body is not gzip: %w", err)
	}
	html, err := io.ReadAll(zr)
	if err != nil {
		return homeCheck{}, fmt.Errorf("body is not gzip: %w", err)
	}
	for _, name := range dataset.BenchmarkIncidentNames() {
		if !bytes.Contains(html, []byte(name)) {
			return homeCheck{}, fmt.Errorf("the page does not show the incident %q", name)
		}
	}
	return homeCheck{etag: resp.Header.Get("ETag"), gzipLen: len(body), htmlLen: len(html), header: resp.Header, body: body}, nil
}

// runWrk runs wrk against url and returns its report and the CPU time wrk
// itself used.
func runWrk(ctx context.Context, wrkPath string, args []string, url string) (string, time.Duration, error) {
	cmd := exec.CommandContext(ctx, wrkPath, append(append([]string{}, args...), url)...)
	var buf bytes.Buffer
	cmd.Stdout = &buf
	cmd.Stderr = &buf
	if err := cmd.Run(); err != nil {
		return buf.String(), 0, fmt.Errorf("wrk %s: %w\n%s", url, err, buf.String())
	}
	return buf.String(), cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime(), nil
}

// processCPU is the CPU time this process (every server in it) has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

type result struct {
	name          string
	rps           float64
	transfer      string
	requests      int64
	latAvg        time.Duration
	latStdev      time.Duration
	latMax        time.Duration
	p50, p90, p99 time.Duration
	errors        string // socket errors, non-2xx/3xx; "" when none
	// CPU time per request, of the server process and of wrk: less
	// sensitive to other load on the machine than requests/s.
	serverCPU, wrkCPU time.Duration
}

var (
	reRPS      = regexp.MustCompile(`(?m)^Requests/sec:\s+([0-9.]+)`)
	reTransfer = regexp.MustCompile(`(?m)^Transfer/sec:\s+(\S+)`)
	reRequests = regexp.MustCompile(`(?m)^\s*(\d+) requests in`)
	reLatency  = regexp.MustCompile(`(?m)^\s*Latency\s+(\S+)\s+(\S+)\s+(\S+)`)
	rePct      = regexp.MustCompile(`(?m)^\s*(50|90|99)%\s+(\S+)`)
	reSocket   = regexp.MustCompile(`(?m)^\s*Socket errors:.*$`)
	reNon2xx   = regexp.MustCompile(`(?m)^\s*Non-2xx or 3xx responses:\s*(\d+)`)
)

// parseWrk reads the figures out of wrk's standard report.
func parseWrk(out string) (result, error) {
	var r result
	m := reRPS.FindStringSubmatch(out)
	if m == nil {
		return r, errors.New(`no "Requests/sec:" line`)
	}
	var err error
	if r.rps, err = strconv.ParseFloat(m[1], 64); err != nil {
		return r, fmt.Errorf("Requests/sec %q: %w", m[1], err)
	}
	if m := reTransfer.FindStringSubmatch(out); m != nil {
		r.transfer = m[1] + "/s"
	}
	if m := reRequests.FindStringSubmatch(out); m != nil {
		r.requests, _ = strconv.ParseInt(m[1], 10, 64)
	}
	if m := reLatency.FindStringSubmatch(out); m != nil {
		r.latAvg, _ = parseWrkDuration(m[1])
		r.latStdev, _ = parseWrkDuration(m[2])
		r.latMax, _ = parseWrkDuration(m[3])
	}
	for _, m := range rePct.FindAllStringSubmatch(out, -1) {
		d, _ := parseWrkDuration(m[2])
		switch m[1] {
		case "50":
			r.p50 = d
		case "90":
			r.p90 = d
		case "99":
			r.p99 = d
		}
	}
	var problems []string
	if m := reSocket.FindString(out); m != "" {
		problems = append(problems, strings.TrimSpace(m))
	}
	if m := reNon2xx.FindStringSubmatch(out); m != nil {
		problems = append(problems, m[1]+" non-2xx/3xx responses")
	}
	r.errors = strings.Join(problems, "; ")
	return r, nil
}

// parseWrkDuration reads wrk's units: "312.45us", "1.02ms", "1.20s", "2.00m".
func parseWrkDuration(s string) (time.Duration, error) {
	unit := strings.TrimLeft(s, "0123456789.")
	n, err := strconv.ParseFloat(strings.TrimSuffix(s, unit), 64)
	if err != nil {
		return 0, err
	}
	scale := map[string]float64{"us": 1e3, "ms": 1e6, "s": 1e9, "m": 60e9, "h": 3600e9}[unit]
	if scale == 0 {
		return 0, fmt.Errorf("unknown unit in %q", s)
	}
	return time.Duration(n * scale), nil
}

func report(out io.Writer, o options, results []result) {
	fmt.Fprintln(out)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "run\tserver\trequests/s\tlatency avg\tp50\tp90\tp99\tmax\ttransfer\tserver CPU/req\twrk CPU/req\t")
	for i, r := range results {
		fmt.Fprintf(tw, "%d\t%s\t%.0f\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", i+1, r.name, r.rps, fmtDur(r.latAvg), fmtDur(r.p50), fmtDur(r.p90), fmtDur(r.p99), fmtDur(r.latMax), r.transfer, fmtCPU(r.serverCPU), fmtCPU(r.wrkCPU))
	}
	tw.Flush()
	for i, r := range results {
		if r.errors != "" {
			fmt.Fprintf(out, "warning: run %d (%s): %s\n", i+1, r.name, r.errors)
		}
	}

	var bare, herald, replay []float64
	for _, r := range results {
		switch r.name {
		case "bare":
			bare = append(bare, r.rps)
		case "herald":
			herald = append(herald, r.rps)
		case "replay":
			replay = append(replay, r.rps)
		}
	}
	b, h := median(bare), median(herald)
	ratio := h / b
	verdict := "meets"
	if ratio < o.target {
		verdict = "BELOW"
	}
	fmt.Fprintln(out)
	fmt.Fprintf(out, "bare handler   %10.0f requests/s (median of %d)\n", b, len(bare))
	fmt.Fprintf(out, "Herald /       %10.0f requests/s (median of %d, gzip)\n", h, len(herald))
	fmt.Fprintf(out, "Herald / bare  %10.1f%%  — %s the %.0f%% target\n", 100*ratio, verdict, 100*o.target)
	if len(replay) > 0 {
		r := median(replay)
		fmt.Fprintf(out, "replay         %10.0f requests/s (median of %d): replay/bare %.1f%%, Herald/replay %.1f%%\n", r, len(replay), 100*r/b, 100*h/r)
	}
	if len(bare) > 1 {
		lo, hi := minMax(bare)
		if (hi-lo)/hi > 0.10 {
			fmt.Fprintf(out, "note: the bare runs differ by %.0f%% (%.0f–%.0f requests/s): the machine is busy or throttling; the ratio is unreliable\n", 100*(hi-lo)/hi, lo, hi)
		}
	}
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func minMax(v []float64) (lo, hi float64) {
	lo, hi = v[0], v[0]
	for _, x := range v[1:] {
		lo, hi = min(lo, x), max(hi, x)
	}
	return lo, hi
}

func fmtCPU(d time.Duration) string {
	if d == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1fµs", float64(d)/1e3)
}

func fmtDur(d time.Duration) string {
	switch {
	case d == 0:
		return "-"
	case d < time.Millisecond:
		return fmt.Sprintf("%.0fµs", float64(d)/1e3)
	case d < time.Second:
		return fmt.Sprintf("%.2fms", float64(d)/1e6)
	}
	return fmt.Sprintf("%.2fs", d.Seconds())
}

// wrkDuration writes d as wrk reads it (whole seconds).
func wrkDuration(d time.Duration) string {
	return strconv.Itoa(int((d+time.Second/2)/time.Second)) + "s"
}

func shellJoin(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		if strings.ContainsAny(a, " '\"") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		q[i] = a
	}
	return strings.Join(q, " ")
}

func firstLine(cmd *exec.Cmd) string {
	b, _ := cmd.CombinedOutput() // wrk -v exits 1 after printing its version
	line, _, _ := strings.Cut(string(b), "\n")
	return strings.TrimSpace(line)
}

func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
