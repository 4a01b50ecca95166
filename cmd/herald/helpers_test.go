package main

// The helpers this package's tests share: run the command line in-process,
// start `herald serve`, and wait for what it does.

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// waitLimit bounds every wait for an outcome in this package's tests. It is
// not a speed target: it only turns a hang into a failure that says what
// did not happen, and is generous so that a loaded machine never trips it.
// (web and notify use the same limit.)
const waitLimit = 60 * time.Second

// eventually polls cond until it holds, failing the test after waitLimit.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// herald runs the command line in-process and returns what it printed.
func herald(t *testing.T, args ...string) (stdout string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err = run(context.Background(), args, &out, &errOut)
	return out.String(), err
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}

// syncBuffer is a bytes.Buffer safe to read while the server writes to it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startServe runs `herald serve` until the test ends and returns its base
// URL, what it printed, and a func that stops it.
func startServe(t *testing.T, args ...string) (string, *syncBuffer, func()) {
	t.Helper()
	return startServeCtx(t, context.Background(), args...)
}

// startServeCtx is startServe with a context, which may carry a store
// clock (storeClockKey).
func startServeCtx(t *testing.T, parent context.Context, args ...string) (string, *syncBuffer, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(parent)
	out := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...), out, io.Discard)
	}()
	var base string
	eventually(t, "serve to start", func() bool {
		select {
		case err := <-done:
			t.Fatalf("serve exited early: %v\n%s", err, out.String())
		default:
		}
		sc := bufio.NewScanner(strings.NewReader(out.String()))
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "Herald is running at "); ok {
				base, _, _ = strings.Cut(rest, " ")
				return true
			}
		}
		return false
	})
	stop := func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve returned %v", err)
		}
	}
	return base, out, stop
}

// printedToken is the API token a first start printed.
func printedToken(t *testing.T, out string) string {
	t.Helper()
	for _, f := range strings.Fields(out) {
		if strings.HasPrefix(f, "hrld_") {
			return f
		}
	}
	t.Fatalf("no token printed:\n%s", out)
	return ""
}

// liveClients is the number of open live streams a server started with
// --metrics-public reports.
func liveClients(t *testing.T, base string) int {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "herald_live_clients "); ok {
			n, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("herald_live_clients %q: %v", v, err)
			}
			return int(n)
		}
	}
	t.Fatalf("/metrics (status %d) has no herald_live_clients", resp.StatusCode)
	return 0
}

type cookieJar struct{ cookies []*http.Cookie }

func (j *cookieJar) SetCookies(_ *url.URL, cs []*http.Cookie) { j.cookies = append(j.cookies, cs...) }
func (j *cookieJar) Cookies(*url.URL) []*http.Cookie          { return j.cookies }
