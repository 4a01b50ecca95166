package main

import (
	"os"
	"testing"

	"github.com/herald-status/herald/store/pgtest"
)

// TestMain lets the test binary stand in for the herald binary: the replica
// tests start it as real `herald serve` processes (HERALD_TEST_AS_HERALD=1),
// which they can SIGKILL. It also stops the throwaway PostgreSQL.
func TestMain(m *testing.M) {
	if os.Getenv("HERALD_TEST_AS_HERALD") == "1" {
		main()
		os.Exit(0)
	}
	code := m.Run()
	pgtest.Stop()
	os.Exit(code)
}
