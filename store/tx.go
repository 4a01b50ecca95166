package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"
)

// tx is one write transaction. Besides the rows it changes directly, it
// collects a change set — audit entries, change-feed events and outbox
// jobs — that is written at commit, in one defined order, with the rows
// (see commit). Mutations describe what they did with one call each:
//
//   - record: an audited change (action, before, after); when the object
//     is one the public pages show, also its change-feed event;
//   - publish: a public change another record already audits (a component
//     status set by an incident update);
//   - notify: a notification job;
//   - lock: before a check-then-write rule reads what it will decide on.
type tx struct {
	*sqlTx
	ctx   context.Context
	now   time.Time
	store *Store

	audits []auditRow
	events []feedEvent
	jobs   []pendingJob
	// moved is how the transaction changed the outbox's counts of
	// deliveries by channel and state (see countDeliveries).
	moved map[deliveryCount]int
	// results is how it changed jobs' results (see countResult).
	results map[jobChannel]*resultMove
	// wake is set when outbox work became due without a new job (a
	// delivery replayed by hand).
	wake bool
	// err is the first error met while collecting; it fails the commit.
	// record and publish return nothing so that a mutation site is one
	// line, and the only way they fail (a value that cannot be encoded as
	// JSON) is a programming error that must still not commit silently.
	err error
}

// Change is the one post-commit signal: what a committed transaction
// advanced. Everything that wakes on a change — the snapshot, the live
// hub, the dispatcher — listens to it (Store.Changes).
type Change struct {
	// Feed is the change feed's newest event id after the commit; 0 when
	// the transaction wrote no event.
	Feed int64
	// Jobs reports that notification work was queued or made due.
	Jobs bool
}

func (c Change) merge(o Change) Change {
	return Change{Feed: max(c.Feed, o.Feed), Jobs: c.Jobs || o.Jobs}
}

type auditRow struct {
	action, kind, id string
	before, after    any // JSON text, or nil for NULL
}

// feedEvent is one change-feed entry, one per public object a transaction
// changed: a second change to the same object replaces its payload (the
// feed carries each object's final state) and keeps its first type (an
// object created and then updated in one transaction was created).
type feedEvent struct {
	typ, kind, id string
	payload       []byte
}

// feedObject is an object the public pages show; its changes go on the
// change feed, which live streams and reconnecting clients replay.
type feedObject interface {
	feedRef() (kind, id string)
}

func (c Component) feedRef() (string, string)      { return "component", c.ID }
func (g ComponentGroup) feedRef() (string, string) { return "component_group", g.ID }
func (i Incident) feedRef() (string, string)       { return "incident", i.ID }

// feedPayload is the incident as the change feed carries it, to every
// page's live stream and every replica: without its internal notes, which
// only private pages show, rendered from their snapshots.
func (i Incident) feedPayload() any             { return i.Public() }
func (m Maintenance) feedRef() (string, string) { return "maintenance", m.ID }

// inTx runs fn in a write transaction, writes its change set, commits, and
// then sends the post-commit signal. It is for the writes someone waits
// for — an update posted, a form saved — which go before the dispatcher's
// (see writeQueue).
func (s *Store) inTx(ctx context.Context, fn func(*tx) error) error {
	defer s.writers.foreground()()
	return s.runTx(ctx, fn)
}

// inBackgroundTx is inTx for the outbox's own work — expanding jobs,
// claiming, recording results, pruning — which lets a waiting foreground
// write go first.
func (s *Store) inBackgroundTx(ctx context.Context, fn func(*tx) error) error {
	if err := s.writers.yield(ctx); err != nil {
		return err
	}
	return s.runTx(ctx, fn)
}

// writeQueue puts the writes people wait for ahead of background ones on
// a backend with one writer. database/sql hands its one connection to any
// of the transactions waiting for it, so an update posted during a fan-out
// would wait behind as many claims, expansions and results as happened to
// be queued; here a background transaction starts only once no foreground
// one is waiting or running, and a posted update waits at most for the
// background transaction already under way. A background transaction waits
// at most maxYield, so that a stream of foreground writes cannot stop
// notifications. With concurrent writers (off) it does nothing.
type writeQueue struct {
	off bool
	// patience is how long a background transaction gives way at most;
	// maxYield when 0.
	patience time.Duration
	mu       sync.Mutex
	waiting  int           // foreground transactions waiting or running
	clear    chan struct{} // closed when waiting falls to 0
}

// maxYield is the longest a background transaction gives way.
const maxYield = 100 * time.Millisecond

// foreground counts a foreground transaction until the returned function
// is called.
func (q *writeQueue) foreground() (done func()) {
	if q.off {
		return func() {}
	}
	q.mu.Lock()
	if q.waiting == 0 {
		q.clear = make(chan struct{})
	}
	q.waiting++
	q.mu.Unlock()
	return func() {
		q.mu.Lock()
		if q.waiting--; q.waiting == 0 {
			close(q.clear)
		}
		q.mu.Unlock()
	}
}

// yield waits while foreground transactions wait or run, up to maxYield.
func (q *writeQueue) yield(ctx context.Context) error {
	if q.off {
		return nil
	}
	q.mu.Lock()
	clear := q.clear
	busy := q.waiting > 0
	q.mu.Unlock()
	if !busy {
		return nil
	}
	patience := q.patience
	if patience == 0 {
		patience = maxYield
	}
	t := time.NewTimer(patience)
	defer t.Stop()
	select {
	case <-clear:
	case <-t.C:
	case <-ctx.Done():
		return ctx.Err()
	}
	return nil
}

func (s *Store) runTx(ctx context.Context, fn func(*tx) error) error {
	sqlTx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	t := &tx{sqlTx: sqlTx, ctx: ctx, now: s.now(), store: s}
	err = fn(t)
	var change Change
	if err == nil {
		change, err = t.commit()
	}
	if err != nil {
		s.write.health.note(err, false) // a write that failed through a query (INSERT … RETURNING)
		if rbErr := sqlTx.Rollback(); rbErr != nil {
			return errors.Join(err, fmt.Errorf("rollback: %w", rbErr))
		}
		return s.asConflict(err)
	}
	if err := sqlTx.Commit(); err != nil {
		return s.asConflict(fmt.Errorf("commit: %w", err))
	}
	if change != (Change{}) {
		s.signal(change)
	}
	return nil
}

// asConflict turns a unique violation — another writer got to the same key
// first — into a ConflictError (a 409, not a 500), keeping the cause.
func (s *Store) asConflict(err error) error {
	if !s.dialect.isUniqueViolation(err) {
		return err
	}
	return &ConflictError{Message: "this clashes with something saved at the same moment; reload and try again", Err: err}
}

// commit writes the change set in its defined order: audit entries, then
// change-feed events (under the feed lock, so that feed ids are in commit
// order), then outbox jobs with the page as it stands after everything
// else. It returns the signal to send once the transaction has committed.
func (t *tx) commit() (Change, error) {
	if t.err != nil {
		return Change{}, t.err
	}
	for _, a := range t.audits {
		actor := ActorFrom(t.ctx)
		if _, err := t.exec(`INSERT INTO audit_log (at, actor_type, actor_id, actor_name, action, object_type, object_id, before_json, after_json)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, t.now, actor.Type, actor.ID, actor.Name, a.action, a.kind, a.id, a.before, a.after); err != nil {
			return Change{}, fmt.Errorf("audit %s: %w", a.action, err)
		}
	}
	var change Change
	if len(t.events) > 0 {
		if err := t.store.dialect.lockFeed(t); err != nil {
			return Change{}, fmt.Errorf("lock change feed: %w", err)
		}
	}
	for _, e := range t.events {
		if err := t.QueryRowContext(t.ctx, `INSERT INTO events (type, object_type, object_id, payload, created_at) VALUES (?, ?, ?, ?, ?) RETURNING id`,
			e.typ, e.kind, e.id, string(e.payload), t.now).Scan(&change.Feed); err != nil {
			return Change{}, fmt.Errorf("record event %s: %w", e.typ, err)
		}
	}
	if err := t.writeJobs(); err != nil {
		return Change{}, err
	}
	// Last but the signal: on a backend with concurrent writers the rows
	// of results and counts are the most shared of all (every dispatcher
	// writes them), so they are locked for as short a time as possible,
	// and always in the same order.
	if err := t.writeResults(); err != nil {
		return Change{}, err
	}
	if err := t.writeCounts(); err != nil {
		return Change{}, err
	}
	change.Jobs = len(t.jobs) > 0 || t.wake
	if change != (Change{}) {
		if err := t.store.dialect.committed(t, change); err != nil {
			return Change{}, fmt.Errorf("signal the change: %w", err)
		}
	}
	return change, nil
}

func (t *tx) exec(query string, args ...any) (sql.Result, error) {
	return t.ExecContext(t.ctx, query, args...)
}

// record notes one audited change: action on the object kind/id, with its
// state before and after (nil for "did not exist"). When the object is one
// the public pages show, the change feed carries after as the API shows it
// (or just its id once deleted).
func (t *tx) record(action, kind, id string, before, after any) {
	t.audits = append(t.audits, auditRow{action: action, kind: kind, id: id, before: t.auditJSON(action, before), after: t.auditJSON(action, after)})
	switch obj := after.(type) {
	case feedObject:
		t.feed(before == nil, obj)
	case nil:
		if obj, public := before.(feedObject); public {
			t.deleted(kind, id, obj)
		}
	}
}

// publish puts a public object's new state on the change feed for a change
// another record already audits.
func (t *tx) publish(obj feedObject) { t.feed(false, obj) }

func (t *tx) feed(created bool, obj feedObject) {
	kind, id := obj.feedRef()
	var v any = obj
	if p, ok := obj.(interface{ feedPayload() any }); ok {
		v = p.feedPayload()
	}
	payload, err := json.Marshal(v)
	if err != nil {
		t.fail(fmt.Errorf("event for %s %s: %w", kind, id, err))
		return
	}
	typ := kind + ".updated"
	if created {
		typ = kind + ".created"
	}
	t.addEvent(feedEvent{typ: typ, kind: kind, id: id, payload: payload})
}

// deleted puts an object's removal on the feed: its id, and for an incident
// or a maintenance what it concerned and the pages it was narrowed to, so
// that only the pages that showed it are told (a stream sends the id alone:
// web's streamPayload). A draft was never public: its discarding is not news.
func (t *tx) deleted(kind, id string, was feedObject) {
	v := map[string]any{"id": id}
	switch o := was.(type) {
	case Incident:
		if o.Draft {
			return
		}
		v["components"], v["pages"] = o.Components, o.Pages
	case Maintenance:
		v["components"], v["pages"] = o.Components, o.Pages
	}
	payload, err := json.Marshal(v)
	if err != nil {
		t.fail(fmt.Errorf("event for %s %s: %w", kind, id, err))
		return
	}
	t.addEvent(feedEvent{typ: kind + ".deleted", kind: kind, id: id, payload: payload})
}

func (t *tx) addEvent(e feedEvent) {
	for i, prev := range t.events {
		if prev.kind == e.kind && prev.id == e.id {
			if e.typ == e.kind+".updated" {
				e.typ = prev.typ
			}
			t.events[i] = e
			return
		}
	}
	t.events = append(t.events, e)
}

// auditJSON encodes an audit before or after; nil, and a typed nil such as
// *Postmortem(nil), stay NULL.
func (t *tx) auditJSON(action string, v any) any {
	if v == nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.fail(fmt.Errorf("audit %s: %w", action, err))
		return nil
	}
	if string(b) == "null" {
		return nil
	}
	return string(b)
}

func (t *tx) fail(err error) {
	if t.err == nil {
		t.err = err
	}
}

// lock is called by a check-then-write rule before it reads the state it
// decides on (the last active admin, a subscriber's address, a
// maintenance's status, the components an incident hands back, a draft
// being published, a delivery being replayed): kind names the rule's
// aggregate and id its row ("" for the whole kind). See the package
// comment for the contract.
func (t *tx) lock(kind, id string) error {
	if err := t.store.dialect.lock(t, kind, id); err != nil {
		return fmt.Errorf("lock %s %s: %w", kind, id, err)
	}
	return nil
}

// Changes returns a channel that receives the post-commit signal after
// each commit that wrote change-feed events or notification work, and a
// function to stop. Signals are coalesced: a reader that falls behind gets
// one Change carrying the newest feed id and whether any of the commits it
// missed queued jobs; it then reads what changed with EventsSince. A
// replica on another database would feed the same channel from
// LISTEN/NOTIFY.
func (s *Store) Changes() (<-chan Change, func()) {
	ch := make(chan Change, 1)
	s.mu.Lock()
	s.listeners[ch] = struct{}{}
	s.mu.Unlock()
	return ch, func() {
		s.mu.Lock()
		delete(s.listeners, ch)
		s.mu.Unlock()
	}
}

// signal hands c to every listener, merged with any signal still pending
// there. Only signal sends, under s.mu, so after it has emptied a full
// buffer the send cannot block.
func (s *Store) signal(c Change) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for ch := range s.listeners {
		next := c
		select {
		case old := <-ch:
			next = old.merge(c)
		default:
		}
		ch <- next
	}
}
