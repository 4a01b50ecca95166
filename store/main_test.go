package store

import (
	"os"
	"testing"

	"github.com/herald-status/herald/store/pgtest"
)

// TestMain stops the throwaway PostgreSQL server the tests started, if any.
func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.Stop()
	os.Exit(code)
}
