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
	"os"
	"os/exec"
	"path/filepath"
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
	eventuallyOr(t, what, cond, func() string { return "" })
}

// eventuallyOr is eventually that, giving up, says what it saw.
func eventuallyOr(t testing.TB, what string, cond func() bool, saw func() string) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s %s", what, saw())
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

// serveRefuses runs herald serve with args and wants it to refuse before
// anything starts: an error that mentions want, and no database made.
func serveRefuses(t *testing.T, want string, args ...string) {
	t.Helper()
	db := filepath.Join(t.TempDir(), "h.db")
	_, err := herald(t, append([]string{"serve", "--addr", "127.0.0.1:0", "--db", db}, args...)...)
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("serve %q: %v, want a refusal about %s", args, err, want)
	}
	if _, err := os.Stat(db); !os.IsNotExist(err) {
		t.Errorf("the database was created before the flags were checked")
	}
}

// newDatabase makes a migrated, empty SQLite database, as herald migrate
// does, for the commands that refuse to create one.
func newDatabase(t *testing.T) string {
	t.Helper()
	db := filepath.Join(t.TempDir(), "herald.db")
	if out, err := herald(t, "migrate", "--database", db); err != nil {
		t.Fatalf("migrate: %v\n%s", err, out)
	}
	return db
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

// process is the herald command run as a program of its own (the test
// binary standing in for it, see TestMain), for what only a real process
// shows: its exit status, signals, standard input.
type process struct {
	cmd            *exec.Cmd
	stdout, stderr *syncBuffer
	done           chan struct{}
}

// startHerald runs herald with args, stdin (when not nil) as its standard
// input and env added to its environment. A process still running when the
// test ends is killed.
func startHerald(t *testing.T, stdin io.Reader, env []string, args ...string) *process {
	t.Helper()
	p := &process{cmd: exec.Command(os.Args[0], args...), stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan struct{})}
	p.cmd.Env = append(append(os.Environ(), env...), "HERALD_TEST_AS_HERALD=1")
	p.cmd.Stdin, p.cmd.Stdout, p.cmd.Stderr = stdin, p.stdout, p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
	})
	return p
}

// exited reports whether the process has ended.
func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// wait waits for the process to end and returns its exit status.
func (p *process) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(waitLimit):
		t.Fatalf("herald %v did not end\nstdout:\n%s\nstderr:\n%s", p.cmd.Args[1:], p.stdout, p.stderr)
	}
	return p.cmd.ProcessState.ExitCode()
}

// heraldIn runs herald as a program with stdin as its standard input and
// env added to its environment, and returns what it printed and its exit
// status.
func heraldIn(t *testing.T, stdin string, env []string, args ...string) (stdout, stderr string, status int) {
	t.Helper()
	p := startHerald(t, strings.NewReader(stdin), env, args...)
	status = p.wait(t)
	return p.stdout.String(), p.stderr.String(), status
}
