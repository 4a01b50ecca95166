// Package pgtest starts a throwaway PostgreSQL server for tests: initdb
// into a temporary directory, run as an unprivileged user (nobody, when the
// tests run as root), on a free loopback port, with durability switched off
// for speed. One server per test binary; each test gets a database of its
// own. Without PostgreSQL installed the tests that need it skip, saying
// why — unless HERALD_REQUIRE_POSTGRES=1 (CI), which makes that a failure.
package pgtest

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
)

// Server is a running throwaway PostgreSQL.
type Server struct {
	dir  string
	port int
	cmd  *exec.Cmd
	exit chan error
	// Stopped reports whether Stop (or StopServer) has stopped it.
	stopped atomic.Bool
	admin   *sql.DB
	seq     atomic.Int64

	templatesMu sync.Mutex
	templates   map[string]error // prepared template databases, with how preparing went
}

var (
	once    sync.Once
	shared  *Server
	initErr error
)

// Required reports whether a missing PostgreSQL must fail the tests.
func Required() bool { return os.Getenv("HERALD_REQUIRE_POSTGRES") == "1" }

// Start returns the test binary's server, starting it on first use. It
// skips t (or fails it, when Required) if PostgreSQL cannot run here.
func Start(t testing.TB) *Server {
	t.Helper()
	once.Do(func() { shared, initErr = start() })
	if initErr != nil {
		if Required() {
			t.Fatalf("PostgreSQL is required (HERALD_REQUIRE_POSTGRES=1) but cannot start: %v", initErr)
		}
		t.Skipf("PostgreSQL tests skipped: %v (install Debian's postgresql to run them)", initErr)
	}
	return shared
}

// StartPrivate starts a server of t's own, stopped when t ends: for tests
// that stop and start it (Pause, Resume) while others use the shared one.
func StartPrivate(t testing.TB) *Server {
	t.Helper()
	s, err := start()
	if err != nil {
		if Required() {
			t.Fatalf("PostgreSQL is required (HERALD_REQUIRE_POSTGRES=1) but cannot start: %v", err)
		}
		t.Skipf("PostgreSQL tests skipped: %v (install Debian's postgresql to run them)", err)
	}
	t.Cleanup(s.stop)
	return s
}

// Stop stops the shared server, if one was started. Call it from TestMain
// after m.Run.
func Stop() {
	if shared != nil {
		shared.stop()
	}
}

// URL is the address of database name on the server.
func (s *Server) URL(name string) string {
	return fmt.Sprintf("postgres://herald@127.0.0.1:%d/%s?sslmode=disable", s.port, name)
}

// NewDatabase creates an empty database for t and returns its URL; it is
// dropped when t ends.
func (s *Server) NewDatabase(t testing.TB) string {
	t.Helper()
	return s.newDatabase(t, "template0")
}

// NewDatabaseLike creates a database for t that starts as a copy of the
// template prepared once per test binary by prepare (given the template's
// URL; it must leave no connection open): copying a migrated schema is much
// faster than migrating every test's database.
func (s *Server) NewDatabaseLike(t testing.TB, template string, prepare func(url string) error) string {
	t.Helper()
	s.templatesMu.Lock()
	err, done := s.templates[template]
	if !done {
		err = func() error {
			if _, err := s.admin.ExecContext(context.Background(), "CREATE DATABASE "+template); err != nil {
				return err
			}
			return prepare(s.URL(template))
		}()
		if s.templates == nil {
			s.templates = map[string]error{}
		}
		s.templates[template] = err
	}
	s.templatesMu.Unlock()
	if err != nil {
		t.Fatalf("prepare the template database %s: %v", template, err)
	}
	return s.newDatabase(t, template)
}

func (s *Server) newDatabase(t testing.TB, template string) string {
	t.Helper()
	name := fmt.Sprintf("herald_test_%d", s.seq.Add(1))
	if _, err := s.admin.ExecContext(context.Background(), "CREATE DATABASE "+name+" TEMPLATE "+template); err != nil {
		t.Fatalf("create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		if s.stopped.Load() {
			return
		}
		// Connections a test leaves (a killed replica's, say) must not
		// keep the database.
		s.admin.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	})
	return s.URL(name)
}

// Pause stops the server as an operator would (a fast shutdown: every
// connection is cut, and what was committed is kept — the server runs
// with synchronous_commit off, which a crash would lose) and Resume starts
// it again on the same port and data: for tests of what Herald does while
// its database is away.
func (s *Server) Pause(t testing.TB) {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatalf("stop PostgreSQL: %v", err)
	}
	<-s.exit
}

// Resume starts a paused server again.
func (s *Server) Resume(t testing.TB) {
	t.Helper()
	if err := s.run(); err != nil { // the same port: clients reconnect to the address they know
		t.Fatalf("restart PostgreSQL: %v", err)
	}
}

func start() (*Server, error) {
	bin, err := findBin()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "herald-pg-")
	if err != nil {
		return nil, err
	}
	s := &Server{dir: dir}
	cred, err := unprivileged()
	if err != nil {
		return nil, err
	}
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			return nil, fmt.Errorf("give the data directory to an unprivileged user: %w", err)
		}
	}
	data := filepath.Join(dir, "data")
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", data, "-U", "herald", "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := initdb.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("initdb: %v: %s", err, bytes.TrimSpace(out))
	}
	if s.port, err = freePort(); err != nil {
		return nil, err
	}
	s.cmd = exec.Command(filepath.Join(bin, "postgres"), "-D", data, "-p", strconv.Itoa(s.port), "-k", dir,
		"-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
		"-c", "max_connections=300", "-c", "shared_buffers=64MB")
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGKILL}
	if err := s.run(); err != nil {
		return nil, err
	}
	if s.admin, err = sql.Open("pgx", s.URL("postgres")); err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

// run starts the postgres process and waits until it takes connections.
// The process is started from a goroutine that keeps its OS thread for
// good: Pdeathsig fires when the starting thread ends, and it must mean
// only "the test binary died".
func (s *Server) run() error {
	cmd := exec.Command(s.cmd.Path, s.cmd.Args[1:]...)
	cmd.SysProcAttr = s.cmd.SysProcAttr
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	started := make(chan error, 1)
	s.exit = make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread lives as long as the process
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		s.exit <- cmd.Wait()
	}()
	if err := <-started; err != nil {
		return fmt.Errorf("start postgres: %w", err)
	}
	s.cmd = cmd
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(s.port), time.Second)
		if err == nil {
			c.Close()
			db, err := sql.Open("pgx", s.URL("postgres"))
			if err == nil {
				err = db.Ping()
				db.Close()
			}
			if err == nil {
				return nil
			}
		}
		select {
		case err := <-s.exit:
			return fmt.Errorf("postgres exited: %v: %s", err, bytes.TrimSpace(log.Bytes()))
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("postgres did not start in 30 s: %s", bytes.TrimSpace(log.Bytes()))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (s *Server) stop() {
	if !s.stopped.CompareAndSwap(false, true) {
		return
	}
	if s.admin != nil {
		s.admin.Close()
	}
	if s.cmd != nil && s.cmd.Process != nil {
		s.cmd.Process.Signal(syscall.SIGQUIT)
		select {
		case <-s.exit:
		case <-time.After(10 * time.Second):
			s.cmd.Process.Kill()
		}
	}
	os.RemoveAll(s.dir)
}

// findBin finds the directory of initdb and postgres: on PATH, else in
// Debian's /usr/lib/postgresql/<version>/bin (newest first).
func findBin() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			p = real
		}
		dir := filepath.Dir(p)
		if _, err := os.Stat(filepath.Join(dir, "postgres")); err == nil {
			return dir, nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Sort(sort.Reverse(sort.StringSlice(dirs)))
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "postgres")); err == nil {
			return d, nil
		}
	}
	return "", errors.New("no initdb and postgres found (on PATH or in /usr/lib/postgresql/*/bin)")
}

// unprivileged is the user to run PostgreSQL as: none to change to when the
// tests run as an ordinary user, nobody when they run as root (PostgreSQL
// refuses to run as root).
func unprivileged() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	return &syscall.Credential{Uid: 65534, Gid: 65534}, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
