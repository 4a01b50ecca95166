package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// event is one line of `go test -json` (cmd/test2json's TestEvent; the
// build-output and build-fail actions came with Go 1.24).
type event struct {
	Action      string
	Package     string
	Test        string
	Output      string
	FailedBuild string
	ImportPath  string
}

type testKey struct{ pkg, test string }

// summary follows a go test -json stream and reports it as it goes.
type summary struct {
	w io.Writer

	running     map[testKey]*strings.Builder // output of tests not yet finished
	pkgOutput   map[string]*strings.Builder  // output outside any test
	pkgFailures map[string]int               // failed tests per package
	failedBuild map[string]bool              // import paths whose build failed

	passed, failed, skipped int
	skippedTests            []string
	// problems are failures no test accounts for: builds, packages that
	// failed outside their tests, the command itself.
	problems []string
}

func newSummary(w io.Writer) *summary {
	return &summary{
		w:           w,
		running:     map[testKey]*strings.Builder{},
		pkgOutput:   map[string]*strings.Builder{},
		pkgFailures: map[string]int{},
		failedBuild: map[string]bool{},
	}
}

// read consumes the stream until it ends. Lines that are not JSON (go
// command messages) are passed through as they are.
func (s *summary) read(r io.Reader) error {
	br := bufio.NewReader(r)
	for {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 {
			s.line(line)
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func (s *summary) line(line []byte) {
	var e event
	if !bytes.HasPrefix(line, []byte("{")) || json.Unmarshal(line, &e) != nil || e.Action == "" {
		s.w.Write(line)
		return
	}
	switch {
	case e.Action == "build-output":
		// As go test shows it: at once, since nothing runs without it.
		fmt.Fprint(s.w, e.Output)
	case e.Action == "build-fail":
		s.buildFailed(e.ImportPath)
	case e.Test != "":
		s.testEvent(e)
	default:
		s.packageEvent(e)
	}
}

func (s *summary) testEvent(e event) {
	k := testKey{e.Package, e.Test}
	switch e.Action {
	case "run":
		builder(s.running, k)
	case "output":
		// Parallel tests' pause and resume markers say nothing on a failure.
		for _, noise := range []string{"=== PAUSE ", "=== CONT ", "=== NAME "} {
			if strings.HasPrefix(e.Output, noise) {
				return
			}
		}
		builder(s.running, k).WriteString(e.Output)
	case "pass":
		s.passed++
		delete(s.running, k)
	case "skip":
		s.skipped++
		s.skippedTests = append(s.skippedTests, fmt.Sprintf("%s %s%s", e.Package, e.Test, skipReason(s.running[k])))
		delete(s.running, k)
	case "fail":
		s.testFailed(k, "")
	}
}

func (s *summary) testFailed(k testKey, why string) {
	s.failed++
	s.pkgFailures[k.pkg]++
	fmt.Fprintf(s.w, "=== FAIL %s %s%s\n%s", k.pkg, k.test, why, text(s.running[k]))
	delete(s.running, k)
}

func (s *summary) packageEvent(e event) {
	if e.Action == "output" {
		builder(s.pkgOutput, e.Package).WriteString(e.Output)
		return
	}
	if e.Action != "pass" && e.Action != "fail" && e.Action != "skip" {
		return
	}
	// A test still running when its package ends was cut short: a
	// timeout, a crash or os.Exit. Its output is where the reason is.
	for k := range s.running {
		if k.pkg == e.Package {
			s.testFailed(k, " (did not finish)")
		}
	}
	out := text(s.pkgOutput[e.Package])
	switch {
	case e.Action != "fail":
		// Only the closing "ok" or "no test files" line.
		for l := range strings.Lines(out) {
			if strings.HasPrefix(l, "ok ") || strings.HasPrefix(l, "?") {
				fmt.Fprint(s.w, l)
			}
		}
	case e.FailedBuild != "":
		fmt.Fprint(s.w, out)
		s.buildFailed(e.FailedBuild)
	case s.pkgFailures[e.Package] == 0:
		fmt.Fprint(s.w, out)
		s.problems = append(s.problems, e.Package+" failed outside any test (see its output above)")
	default:
		fmt.Fprint(s.w, out)
	}
	delete(s.pkgOutput, e.Package)
	delete(s.pkgFailures, e.Package)
}

// buildFailed records a failed build once, whether the stream says so by a
// build-fail action, by the package's FailedBuild, or both.
func (s *summary) buildFailed(importPath string) {
	if !s.failedBuild[importPath] {
		s.failedBuild[importPath] = true
		s.problems = append(s.problems, "build failed: "+importPath)
	}
}

// commandFailed records that the command exited with a failure.
func (s *summary) commandFailed(why string) {
	s.problems = append(s.problems, why)
}

// finish writes the closing report and returns the exit status.
func (s *summary) finish() int {
	for k := range s.running {
		s.testFailed(k, " (the output ended before it did)")
	}
	for _, t := range s.skippedTests {
		fmt.Fprintf(s.w, "skipped: %s\n", t)
	}
	for _, p := range s.problems {
		fmt.Fprintf(s.w, "FAIL: %s\n", p)
	}
	run := s.passed + s.failed + s.skipped
	fmt.Fprintf(s.w, "tests: %d run, %d passed, %d failed, %d skipped", run, s.passed, s.failed, s.skipped)
	if n := len(s.problems); n > 0 {
		fmt.Fprintf(s.w, "; %d other failure%s", n, plural(n))
	}
	fmt.Fprintln(s.w)
	if s.failed > 0 || len(s.problems) > 0 {
		return 1
	}
	return 0
}

// skipReason is the last thing a skipped test logged: what t.Skip said.
func skipReason(out *strings.Builder) string {
	reason := ""
	for l := range strings.Lines(text(out)) {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "=== ") && !strings.HasPrefix(l, "--- SKIP") {
			reason = l
		}
	}
	if reason == "" {
		return ""
	}
	return ": " + reason
}

// text is what b holds; nothing for a test that printed nothing.
func text(b *strings.Builder) string {
	if b == nil {
		return ""
	}
	return b.String()
}

func builder[K comparable](m map[K]*strings.Builder, k K) *strings.Builder {
	b := m[k]
	if b == nil {
		b = &strings.Builder{}
		m[k] = b
	}
	return b
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
