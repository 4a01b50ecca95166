// Package notify is Herald's delivery side: the dispatcher that turns
// outbox jobs into per-recipient deliveries and sends them, by email over
// SMTP and by signed webhooks, with retries, leases and idempotency ids so
// that a crash at any point loses nothing.
package notify

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/herald-status/herald/store"
)

// Config is what the dispatcher needs.
type Config struct {
	BaseURL  string // public URL of the status page, for links
	PageName string
	// SMTP configures email; nil turns email off (no email deliveries are
	// made, and the subscribe form should be hidden).
	SMTP *SMTPConfig
	// Webhooks configures webhook delivery; nil means the defaults with a
	// guard that allows nothing internal.
	Webhooks *WebhookConfig
	// SMS configures text messages; nil turns them off (no SMS deliveries
	// are made, and the subscribe form offers no phone number).
	SMS *SMSConfig
	// Lease is how long a claimed job or delivery stays claimed without
	// news of its dispatcher. A live dispatcher renews the leases it holds
	// (every RenewEvery), so a long queue keeps its claims; a crash leaves
	// them to expire, and a restart or another replica resumes after at
	// most this long. It must exceed the longest send (SMTP and webhook
	// timeouts). Default 2m.
	Lease time.Duration
	// RenewEvery is how often the leases are renewed. Default a third of
	// Lease.
	RenewEvery time.Duration
	// ExpandBatch is how many subscribers one expansion transaction scans.
	// Default 1000.
	ExpandBatch int
	// Poll is the longest the dispatcher sleeps without looking for due
	// work; committed jobs wake it at once. Default 15s.
	Poll time.Duration
	// ShutdownGrace is how long sends in flight may finish after Run's
	// context ends. Default 10s.
	ShutdownGrace time.Duration
	// Jitter spreads retries by ±Jitter of their delay, so that endpoints
	// that failed together do not retry together. 0 means 0.2; negative none.
	Jitter float64
	Logger *slog.Logger
}

// Dispatcher expands jobs and sends deliveries until its Run ends.
type Dispatcher struct {
	st       *store.Store
	cfg      Config
	owner    string // this process's lease owner id
	log      *slog.Logger
	jobs     *jobCache
	pipes    []*pipeline
	channels []string
	wake     chan struct{}
	email    *emailSender
	hooks    *webhookSender
	sms      *smsSender
	metrics  *deliveryMetrics
}

// pipeline is one channel's sending machinery: a pool of workers fed with
// claimed deliveries.
type pipeline struct {
	channel    string
	workers    int
	claimBatch int
	// batch is the most deliveries a worker takes at once.
	batch     int
	newWorker func() worker
	wake      chan struct{}
}

// worker sends a batch of deliveries and returns a result for each. A
// single delivery is a batch of one: there is no second way to send.
type worker interface {
	send(ctx context.Context, batch []outgoing) []store.DeliveryResult
	close()
}

// outgoing is a claimed delivery with its job, rendered once per job.
type outgoing struct {
	job *preparedJob
	store.Delivery
}

// maxEmailBatch bounds an email worker's batch, which it pipelines on one
// connection: a crash loses the results of at most this many messages per
// connection, besides those being recorded. Webhooks go one at a time: a
// batch would queue deliveries behind one slow endpoint.
const maxEmailBatch = 16

// New builds a dispatcher. It does not start anything.
func New(st *store.Store, cfg Config) (*Dispatcher, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Lease <= 0 {
		cfg.Lease = 2 * time.Minute
	}
	if cfg.RenewEvery <= 0 || cfg.RenewEvery >= cfg.Lease {
		cfg.RenewEvery = cfg.Lease / 3
	}
	if cfg.ExpandBatch <= 0 {
		cfg.ExpandBatch = 1000
	}
	if cfg.Poll <= 0 {
		cfg.Poll = 15 * time.Second
	}
	if cfg.ShutdownGrace <= 0 {
		cfg.ShutdownGrace = 10 * time.Second
	}
	if cfg.Jitter == 0 {
		cfg.Jitter = 0.2
	}
	base, err := CheckBaseURL(cfg.BaseURL)
	if err != nil {
		return nil, fmt.Errorf("base URL %q %w", cfg.BaseURL, err)
	}
	cfg.BaseURL = base
	if cfg.PageName == "" {
		cfg.PageName = "Herald"
	}
	if err := CheckHeaderText(cfg.PageName); err != nil {
		return nil, fmt.Errorf("page name %q %w", cfg.PageName, err)
	}
	d := &Dispatcher{st: st, cfg: cfg, owner: newOwnerID(), log: cfg.Logger.With("component", "notify"), wake: make(chan struct{}, 1)}
	d.jobs = &jobCache{st: st, m: map[int64]*preparedJob{}}
	d.metrics = newDeliveryMetrics(st)

	wcfg := WebhookConfig{}
	if cfg.Webhooks != nil {
		wcfg = *cfg.Webhooks
	}
	hooks, err := newWebhookSender(d, wcfg)
	if err != nil {
		return nil, err
	}
	d.hooks = hooks
	d.channels = append(d.channels, store.ChannelWebhook)
	d.pipes = append(d.pipes, &pipeline{channel: store.ChannelWebhook, workers: hooks.cfg.Concurrency, claimBatch: max(32, hooks.cfg.Concurrency),
		batch: 1, newWorker: func() worker { return hooks }, wake: make(chan struct{}, 1)})

	if cfg.SMTP != nil {
		email, err := newEmailSender(d, *cfg.SMTP)
		if err != nil {
			return nil, err
		}
		d.email = email
		d.channels = append(d.channels, store.ChannelEmail)
		d.pipes = append(d.pipes, &pipeline{channel: store.ChannelEmail, workers: email.cfg.Concurrency, claimBatch: max(256, 16*email.cfg.Concurrency),
			batch: maxEmailBatch, newWorker: func() worker { return email.newWorker() }, wake: make(chan struct{}, 1)})
	}
	if cfg.SMS != nil {
		sms, err := newSMSSender(d, *cfg.SMS)
		if err != nil {
			return nil, err
		}
		d.sms = sms
		d.channels = append(d.channels, store.ChannelSMS)
		// One worker: the caps count each message before the next.
		d.pipes = append(d.pipes, &pipeline{channel: store.ChannelSMS, workers: 1, claimBatch: 16,
			batch: 1, newWorker: func() worker { return sms }, wake: make(chan struct{}, 1)})
	}
	return d, nil
}

func newOwnerID() string {
	host, _ := os.Hostname()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b))
}

// Wake makes the dispatcher look for work now rather than at its next poll.
func (d *Dispatcher) Wake() {
	poke(d.wake)
	for _, p := range d.pipes {
		poke(p.wake)
	}
}

func poke(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// Run expands and sends until ctx ends, then lets sends in flight finish
// (up to ShutdownGrace), records their results and hands back every claim
// it holds, so a restart repeats nothing that was finished.
func (d *Dispatcher) Run(ctx context.Context) error {
	changes, stop := d.st.Changes()
	defer stop()
	var wg sync.WaitGroup
	wg.Go(func() { d.expandLoop(ctx) })
	for _, p := range d.pipes {
		wg.Go(func() { d.runPipeline(ctx, p) })
	}
	if d.email == nil {
		if n, err := d.st.CountSubscribers(ctx, store.SubscriberConfirmed); err == nil && n > 0 {
			d.log.Warn("email is not configured (HERALD_SMTP_HOST), so confirmed subscribers will not be mailed", "subscribers", n)
		}
	}
	for {
		select {
		case <-ctx.Done():
			wg.Wait()
			return nil
		case c := <-changes:
			if c.Jobs {
				d.Wake()
			}
		}
	}
}

// expandLoop turns jobs into deliveries, a batch per transaction, waking
// the senders after each batch so that sending starts while expansion goes on.
func (d *Dispatcher) expandLoop(ctx context.Context) {
	for {
		for ctx.Err() == nil {
			job, ok, err := d.st.ClaimJob(ctx, d.owner, d.cfg.Lease)
			if err != nil {
				d.logErr(ctx, "claim job", err)
				break
			}
			if !ok {
				break
			}
			d.expand(ctx, job)
		}
		select {
		case <-ctx.Done():
			return
		case <-d.wake:
		case <-time.After(d.cfg.Poll):
		}
	}
}

func (d *Dispatcher) expand(ctx context.Context, job store.Job) {
	start, total := time.Now(), 0
	for {
		if ctx.Err() != nil {
			// Stopping: hand the job back so the next start goes on from
			// its cursor at once rather than after the lease.
			release, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			if err := d.st.ReleaseJob(release, job.ID, d.owner); err != nil {
				d.log.Error("release job", "job", job.ID, "err", err)
			}
			return
		}
		made, done, err := d.st.ExpandJob(ctx, job.ID, d.owner, d.cfg.ExpandBatch, d.cfg.Lease, d.channels)
		if err != nil {
			// Unless we are stopping (above, next turn), the lease runs out
			// and the job is claimed again later.
			d.logErr(ctx, "expand job", err, "job", job.ID)
			if ctx.Err() != nil {
				continue
			}
			return
		}
		total += made
		if made > 0 {
			for _, p := range d.pipes {
				poke(p.wake)
			}
		}
		if done {
			d.log.Info("notification queued", "job", job.ID, "kind", job.Kind, "object", job.ObjectType+"/"+job.ObjectID,
				"deliveries", total, "took", time.Since(start).Round(time.Millisecond))
			return
		}
	}
}

// runPipeline claims due deliveries for one channel and feeds them to its
// workers, never holding more claims than the workers can start soon.
func (d *Dispatcher) runPipeline(ctx context.Context, p *pipeline) {
	// Buffered by a claim's worth, so the pump can write its next claim
	// while the workers work through the last one.
	work := make(chan store.Delivery, p.claimBatch)
	// Room for every claim in flight: a worker never waits for the
	// recorder's transaction to finish before sending its next message.
	capacity := int64(p.workers + 2*p.claimBatch)
	results := make(chan store.DeliveryResult, capacity)
	// Sends in flight outlive ctx by the grace period: cutting a message
	// off half-sent would only make a retry, and so a possible duplicate.
	sendCtx, cancelSends := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelSends()
	var workers sync.WaitGroup
	for range p.workers {
		workers.Go(func() {
			w := p.newWorker()
			defer w.close()
			for dl := range work {
				if ctx.Err() != nil { // stopping: hand back what was not started
					results <- store.DeliveryResult{Delivery: dl, Outcome: store.Released}
					continue
				}
				// Take what else is waiting, up to a batch, to send back to back.
				batch := []store.Delivery{dl}
			more:
				for len(batch) < p.batch {
					select {
					case next, ok := <-work:
						if !ok {
							break more
						}
						batch = append(batch, next)
					default:
						break more
					}
				}
				d.send(sendCtx, w, batch, results)
			}
		})
	}
	var inflight atomic.Int64
	held := newHolding()
	// stalled is set while the recorder cannot commit results: claiming
	// more would only pile up more sent messages with nothing to show.
	var stalled atomic.Bool
	freed := make(chan struct{}, 1)
	recorded := make(chan struct{})
	go func() {
		defer close(recorded)
		d.record(ctx, p, results, &inflight, held, &stalled, freed)
	}()

	renewed := make(chan struct{})
	go func() {
		defer close(renewed)
		d.renewLeases(ctx, p, held)
	}()
	defer func() { <-renewed }()

	var pending []store.Delivery
	for ctx.Err() == nil {
		if stalled.Load() {
			select {
			case <-freed:
			case <-ctx.Done():
			}
			continue
		}
		if len(pending) > 0 {
			select {
			case work <- pending[0]:
				pending = pending[1:]
			case <-ctx.Done():
			}
			continue
		}
		// Claim ahead, a batch at a time, so the workers never run dry
		// while a claim is being written.
		room := capacity - inflight.Load()
		if room < int64(p.claimBatch) {
			select {
			case <-freed:
			case <-ctx.Done():
			}
			continue
		}
		ds, err := d.st.ClaimDeliveries(ctx, p.channel, d.owner, p.claimBatch, d.cfg.Lease)
		if err != nil {
			d.logErr(ctx, "claim deliveries", err, "channel", p.channel)
			d.sleep(ctx, time.Second)
			continue
		}
		if len(ds) > 0 {
			held.add(ds)
			inflight.Add(int64(len(ds)))
			pending = ds
			continue
		}
		wait := d.cfg.Poll
		if next, ok, err := d.st.NextDue(ctx, p.channel, d.owner); err == nil && ok {
			wait = min(wait, max(next, 5*time.Millisecond))
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
		case <-p.wake:
		case <-freed:
		case <-timer.C:
		}
		timer.Stop()
	}
	// Stopping: hand back what no worker has started.
	for _, dl := range pending {
		results <- store.DeliveryResult{Delivery: dl, Outcome: store.Released}
	}
	close(work)
	grace := time.AfterFunc(d.cfg.ShutdownGrace, cancelSends)
	workers.Wait()
	grace.Stop()
	close(results)
	<-recorded
}

// renewLeases keeps the claims of this pipeline's channel that are in
// flight, until ctx ends. Claims taken ahead wait in the queue, and
// results may wait for a database that refuses them for a while: without
// renewal their leases ran out under load, and another replica sent the
// same messages again while this one was still sending them. Only what
// is held is renewed: a claim this dispatcher never received runs out.
func (d *Dispatcher) renewLeases(ctx context.Context, p *pipeline, held *holding) {
	tick := time.NewTicker(d.cfg.RenewEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if err := d.st.RenewLeases(ctx, d.owner, d.cfg.Lease, held.held()); err != nil {
			d.logErr(ctx, "renew leases", err, "channel", p.channel)
		}
	}
}

// holding is what a pipeline has claimed and not yet recorded: the leases
// it renews.
type holding struct {
	mu         sync.Mutex
	deliveries map[int64]struct{}
	batches    map[int64]int // a batch's recipients not yet recorded
}

func newHolding() *holding {
	return &holding{deliveries: map[int64]struct{}{}, batches: map[int64]int{}}
}

func (h *holding) add(ds []store.Delivery) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, dl := range ds {
		if dl.BatchID != 0 {
			h.batches[dl.BatchID]++
		} else {
			h.deliveries[dl.ID] = struct{}{}
		}
	}
}

func (h *holding) done(rs []store.DeliveryResult) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, r := range rs {
		if id := r.Delivery.BatchID; id != 0 {
			if h.batches[id]--; h.batches[id] <= 0 {
				delete(h.batches, id)
			}
		} else {
			delete(h.deliveries, r.Delivery.ID)
		}
	}
}

func (h *holding) held() store.Held {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out store.Held
	for id := range h.deliveries {
		out.Deliveries = append(out.Deliveries, id)
	}
	for id := range h.batches {
		out.Batches = append(out.Batches, id)
	}
	return out
}

// recordGather is how long the recorder collects results into one
// transaction. It bounds how many sent messages a crash can leave
// unrecorded (and so send twice after a restart) to about this long's worth.
const recordGather = 20 * time.Millisecond

// recordTimeout bounds one attempt to record results, and how long the
// recorder keeps trying after Run's context has ended.
const recordTimeout = 30 * time.Second

// The recorder's back-off while the database refuses results.
const (
	recordRetryFirst = 100 * time.Millisecond
	recordRetryMax   = 5 * time.Second
)

// record writes results in batches of what arrives within recordGather, so
// a busy channel commits hundreds of results per transaction.
func (d *Dispatcher) record(ctx context.Context, p *pipeline, results <-chan store.DeliveryResult, inflight *atomic.Int64, held *holding, stalled *atomic.Bool, freed chan struct{}) {
	const maxBatch = 512
	batch := make([]store.DeliveryResult, 0, maxBatch)
	var giveUp time.Time // once stopping, when to stop trying
	for r := range results {
		batch = append(batch[:0], r)
		// Gather for a moment: under load results trickle in one by one,
		// and a transaction per handful would make SQLite the bottleneck.
		// A result waits at most this long to be recorded.
		gather := time.NewTimer(recordGather)
	drain:
		for len(batch) < maxBatch {
			select {
			case r, ok := <-results:
				if !ok {
					break drain
				}
				batch = append(batch, r)
			case <-gather.C:
				break drain
			}
		}
		gather.Stop()
		var ok bool
		batch, ok = d.commitResults(ctx, p, batch, results, stalled, &giveUp)
		if ok {
			for _, r := range batch {
				d.logResult(r)
				d.metrics.observe(r)
			}
		}
		held.done(batch)
		inflight.Add(-int64(len(batch)))
		poke(freed)
	}
}

// commitResults records batch, and while the database refuses (disk full,
// its write lock held past busy_timeout) keeps the results and tries again
// with back-off, taking in those that arrive meanwhile, until they commit.
// Dropping them would send every one of those messages again once its
// lease ran out. Meanwhile the claims stay this dispatcher's: nobody else
// claims them before the lease ends, and this dispatcher never claims its
// own again (the store's rule), nor anything else while stalled. Only
// when Run's context has ended does it give up, after recordTimeout: the
// process is going, and a restart sends them again, as after a crash.
// It returns the results, those taken in included, and whether they were
// recorded.
func (d *Dispatcher) commitResults(ctx context.Context, p *pipeline, batch []store.DeliveryResult, results <-chan store.DeliveryResult,
	stalled *atomic.Bool, giveUp *time.Time) ([]store.DeliveryResult, bool) {
	wait := recordRetryFirst
	for attempt := 1; ; attempt++ {
		// Not the Run context: results of sends that finished during
		// shutdown must still be written, or they would be sent again.
		rctx, cancel := context.WithTimeout(context.Background(), recordTimeout)
		err := d.st.RecordResults(rctx, d.owner, batch)
		cancel()
		if err == nil {
			if attempt > 1 {
				d.log.Info("delivery results recorded after the database refused them", "channel", p.channel, "results", len(batch), "attempts", attempt)
				stalled.Store(false)
			}
			return batch, true
		}
		stalled.Store(true)
		if ctx.Err() != nil {
			if giveUp.IsZero() {
				*giveUp = time.Now().Add(recordTimeout)
			}
			if time.Now().After(*giveUp) {
				d.log.Error("stopping with delivery results the database would not take: these messages will be sent again", "channel", p.channel, "results", len(batch), "err", err)
				return batch, false
			}
		}
		d.log.Error("record delivery results; keeping them to try again", "channel", p.channel, "results", len(batch), "attempt", attempt,
			"retry_in", wait, "err", err)
		d.sleep(context.Background(), wait)
		wait = min(2*wait, recordRetryMax)
	more:
		for {
			select {
			case r, ok := <-results:
				if !ok {
					break more
				}
				batch = append(batch, r)
			default:
				break more
			}
		}
	}
}

func (d *Dispatcher) logResult(r store.DeliveryResult) {
	dl := r.Delivery
	switch r.Outcome {
	case store.Retry:
		d.log.Warn("delivery failed; will retry", "channel", dl.Channel, "delivery", dl.ID, "recipient", dl.RecipientID, "attempt", dl.Attempt,
			"status", r.Status, "err", r.Error, "retry_in", r.RetryIn.Round(time.Second))
	case store.Failed:
		d.log.Error("delivery failed for good", "channel", dl.Channel, "delivery", dl.ID, "recipient", dl.RecipientID, "attempt", dl.Attempt,
			"status", r.Status, "err", r.Error)
	}
}

// send hands a batch to w with each delivery's job; a delivery whose job
// cannot be loaded is tried again in a minute.
func (d *Dispatcher) send(ctx context.Context, w worker, dls []store.Delivery, results chan<- store.DeliveryResult) {
	batch := make([]outgoing, 0, len(dls))
	for _, dl := range dls {
		job, err := d.jobs.get(ctx, dl.JobID)
		if err != nil {
			results <- store.DeliveryResult{Delivery: dl, Outcome: store.Retry, RetryIn: time.Minute, Error: err.Error()}
			continue
		}
		batch = append(batch, outgoing{job: job, Delivery: dl})
	}
	if len(batch) == 0 {
		return
	}
	for _, r := range w.send(ctx, batch) {
		results <- r
	}
}

// retryIn is the wait before the attempt after attempt (1-based) under
// schedule, with jitter; ok is false when the schedule is exhausted.
func (d *Dispatcher) retryIn(schedule []time.Duration, attempt int) (time.Duration, bool) {
	if attempt < 1 || attempt > len(schedule) {
		return 0, false
	}
	return d.jitter(schedule[attempt-1]), true
}

func (d *Dispatcher) jitter(wait time.Duration) time.Duration {
	if d.cfg.Jitter <= 0 {
		return wait
	}
	f := 1 + d.cfg.Jitter*(2*mrand.Float64()-1)
	return time.Duration(float64(wait) * f)
}

func (d *Dispatcher) sleep(ctx context.Context, wait time.Duration) {
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

func (d *Dispatcher) logErr(ctx context.Context, what string, err error, args ...any) {
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		return
	}
	d.log.Error(what, append(args, "err", err)...)
}

// preparedJob is a job with its rendered bodies, made once per job and
// shared by every delivery of it.
type preparedJob struct {
	store.Job
	// emails are its email, rendered once for each page whose
	// subscribers it goes to and each language they read (by page id, ""
	// the default page, and language).
	emailMu  sync.Mutex
	emails   map[string]*pageEmail
	hookOnce sync.Once
	hook     *webhookBodies
	hookErr  error
}

// jobCache keeps the jobs being delivered, so that 100,000 deliveries of
// one job load and render it once.
type jobCache struct {
	st *store.Store
	mu sync.Mutex
	m  map[int64]*preparedJob
}

const jobCacheSize = 256

func (c *jobCache) get(ctx context.Context, id int64) (*preparedJob, error) {
	c.mu.Lock()
	j, ok := c.m[id]
	c.mu.Unlock()
	if ok {
		return j, nil
	}
	job, err := c.st.GetJob(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("load job %d: %w", id, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if j, ok := c.m[id]; ok {
		return j, nil
	}
	if len(c.m) >= jobCacheSize {
		for k := range c.m { // drop an arbitrary one; they reload cheaply
			delete(c.m, k)
			break
		}
	}
	j = &preparedJob{Job: job}
	c.m[id] = j
	return j, nil
}
