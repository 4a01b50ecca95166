package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/herald-status/herald/store"
)

// lockServe makes sure that one herald serve at a time serves a SQLite
// file. A second one on the same file would start and serve pages, but
// nothing tells it about the first one's changes: its pages would lag by
// up to a minute, silently. (Replicas that follow each other need
// PostgreSQL.) The lock is an flock on DATABASE.lock, which the kernel
// lets go when the process ends however it ends, so a crash never leaves
// a stale lock; the file holds the holder's pid, to name it. Other
// commands (user, token, backup…) do not take it: they are meant to run
// beside the server. It returns the function that releases the lock.
func lockServe(database string) (func(), error) {
	if store.IsPostgresURL(database) {
		return func() {}, nil
	}
	if database == "" { // openStore names the mistake; no lock beside nothing
		return func() {}, nil
	}
	abs, err := filepath.Abs(database)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", database, err)
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		abs = real // the same file by another name is the same database
	}
	name := abs + ".lock"
	// Not through a link: in a folder others may write, a planted link
	// would have us truncate the file it points to.
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", name, err)
	}
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("lock %s: not a regular file", name)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder := "another process"
		if b, rerr := os.ReadFile(name); rerr == nil {
			if pid, perr := strconv.Atoi(string(bytes.TrimSpace(b))); perr == nil {
				holder = "another herald serve (pid " + strconv.Itoa(pid) + ")"
			}
		}
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%s is already served by %s (it holds %s): two servers on one SQLite file would show pages that lag each other's changes; stop the other one first, or run several replicas on PostgreSQL", abs, holder, name)
		}
		return nil, fmt.Errorf("lock %s: %w", name, err)
	}
	// The pid only names the holder in another's refusal: failing to
	// write it leaves that message vaguer, nothing worse.
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return func() { f.Close() }, nil
}
