package store

// dialect is what differs between database backends beneath the one store:
// the hooks of the concurrency contract (see the package comment). The
// rules themselves live once, in Go, in the store's methods.
type dialect interface {
	// lock is tx.lock: make a check-then-write rule on kind/id safe
	// against concurrent writers until the transaction ends.
	lock(t *tx, kind, id string) error
	// lockFeed is taken just before a transaction writes change-feed
	// events and held to commit, so that feed ids commit in order.
	lockFeed(t *tx) error
	// claimSuffix ends the SELECT that picks rows to claim.
	claimSuffix() string
}

// sqliteDialect is the embedded default. SQLite runs one write transaction
// at a time (one writer connection, BEGIN IMMEDIATE), so every rule already
// sees the database alone: no hook has anything to do.
type sqliteDialect struct{}

func (sqliteDialect) lock(*tx, string, string) error { return nil }
func (sqliteDialect) lockFeed(*tx) error             { return nil }
func (sqliteDialect) claimSuffix() string            { return "" }
