package notify

import (
	"os"
	"testing"

	"github.com/herald-status/herald/store/pgtest"
)

// TestMain stops the throwaway PostgreSQL the benchmarks start, if any.
func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.Stop()
	os.Exit(code)
}
