// Command testsum runs `go test -json` and reports it for a person reading a
// build log: each failing test's output as soon as it fails, a line per
// package, the skipped tests by name, and one closing count, so that a
// browser test skipped for want of Chromium is as visible as a failure.
//
//	go run ./cmd/internal/testsum -- go test -json -race ./...
//
// It exits non-zero when a test, a package or a build failed, or when the
// command itself did: the command's exit status is never lost in a pipe.
// Without a command it reads the JSON from standard input.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	s := newSummary(stdout)
	if len(args) == 0 {
		if err := s.read(stdin); err != nil {
			fmt.Fprintf(stderr, "testsum: read: %v\n", err)
			return 2
		}
		return s.finish()
	}
	// Ctrl-C reaches go test as well (one process group): stay, and report
	// what ran until it stopped.
	signal.Notify(make(chan os.Signal, 1), os.Interrupt)
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin, cmd.Stderr = stdin, stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		fmt.Fprintf(stderr, "testsum: %v\n", err)
		return 2
	}
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(stderr, "testsum: start %s: %v\n", args[0], err)
		return 2
	}
	readErr := s.read(out)
	if readErr != nil {
		io.Copy(io.Discard, out) // let the command finish rather than block on a full pipe
	}
	err = cmd.Wait()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		s.commandFailed(fmt.Sprintf("%s exited with status %d", args[0], exit.ExitCode()))
	case err != nil:
		s.commandFailed(fmt.Sprintf("%s: %v", args[0], err))
	case readErr != nil:
		s.commandFailed(fmt.Sprintf("reading the output of %s: %v", args[0], readErr))
	}
	return s.finish()
}
