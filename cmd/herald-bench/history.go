package main

// The long-history benchmark: what a page with years behind it costs
// against a new one, in the same run. Two databases hold the same page
// (the benchmark data set); one also holds -incidents resolved incidents,
// all older than the 90 days the page shows, written in bulk in seconds.
// Each round resolves an incident on each in turn (A B A B) and times what
// users wait for: the resolve, the page showing it, and the first, the
// last and an old numbered history page after the change.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/herald-status/herald/store"
	"github.com/herald-status/herald/store/dataset"
	"github.com/herald-status/herald/web"
)

type historyOptions struct {
	incidents int
	rounds    int
	width     int
	emptyDB   string
	historyDB string
}

func historyMain(args []string) error {
	fs := flag.NewFlagSet("herald-bench history", flag.ExitOnError)
	var o historyOptions
	fs.IntVar(&o.incidents, "incidents", 100_000, "old resolved incidents in the long history")
	fs.IntVar(&o.rounds, "rounds", 20, "incidents resolved on each database; medians are reported")
	fs.IntVar(&o.width, "components", 1, "components each resolved incident affects (1 to 30)")
	fs.StringVar(&o.emptyDB, "empty-db", "", "the new page's database: a new SQLite path or an empty PostgreSQL database (postgres://…); default a temporary SQLite file")
	fs.StringVar(&o.historyDB, "history-db", "", "the long history's database, the same way")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: herald-bench history [flags]\n\nCompares a page with a long history against a new one, in one run: resolving an incident, the page\nshowing it, and history pages.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	fs.Parse(args)
	if o.incidents < 1 || o.rounds < 1 || o.width < 1 || o.width > 30 {
		return errors.New("-incidents and -rounds must be at least 1, -components 1 to 30")
	}
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "herald-bench-history-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	pages := make([]*historyPage, 2)
	for i, n := range []int{0, o.incidents} {
		db := []string{o.emptyDB, o.historyDB}[i]
		if db == "" {
			db = filepath.Join(dir, fmt.Sprintf("herald-%d.db", i))
		}
		start := time.Now()
		p, err := openHistoryPage(ctx, db, n)
		if err != nil {
			return err
		}
		defer p.close()
		pages[i] = p
		fmt.Printf("%s (%s): %d old incidents, built in %s\n", p.name, p.st.Backend(), n, time.Since(start).Round(time.Millisecond))
	}

	var samples [2]historySample
	for round := range o.rounds {
		for i, p := range pages {
			if err := p.round(ctx, o.width, round, &samples[i]); err != nil {
				return fmt.Errorf("%s, round %d: %w", p.name, round+1, err)
			}
		}
	}
	fmt.Printf("\nMedians of %d rounds, %d component(s) per incident; load average %s\n\n", o.rounds, o.width, loadAverage())
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "\tnew page\t%d old incidents\tratio\t\n", o.incidents)
	for _, row := range []struct {
		name string
		a, b []time.Duration
	}{
		{"resolve", samples[0].resolve, samples[1].resolve},
		{"until the page shows it", samples[0].fresh, samples[1].fresh},
	} {
		a, b := medianDur(row.a), medianDur(row.b)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.2f×\t\n", row.name, fmtDur(a), fmtDur(b), float64(b)/float64(a))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	// A new page's history is a page long: its pages are compared with
	// each other, the first against the last.
	long := &samples[1]
	first, last, numbered := medianDur(long.first), medianDur(long.last), medianDur(long.numbered)
	fmt.Printf("\nThe long history's pages, each the first read after a change:\n"+
		"  first page (/history)             %s\n"+
		"  last page, by its cursor          %s (%.2f× the first)\n"+
		"  last page, by number (?page=N)    %s\n", fmtDur(first), fmtDur(last), float64(last)/float64(first), fmtDur(numbered))
	return nil
}

// historySample is what one database's rounds measured.
type historySample struct {
	resolve, fresh, first, last, numbered []time.Duration
}

// historyPage is one database with Herald serving it on loopback.
type historyPage struct {
	name  string
	st    *store.Store
	comps []store.Component
	url   string
	fresh func(context.Context) error // until the page shows every commit
	close func()
}

func openHistoryPage(ctx context.Context, db string, incidents int) (*historyPage, error) {
	st, err := store.Open(ctx, db)
	if err != nil {
		return nil, err
	}
	p := &historyPage{name: "new page", st: st, close: func() { st.Close() }}
	if incidents > 0 {
		p.name = "long history"
	}
	fail := func(err error) (*historyPage, error) { p.close(); return nil, err }
	if comps, err := st.ListComponents(ctx); err != nil || len(comps) > 0 {
		return fail(fmt.Errorf("%s must be empty (it has %d components): %v", store.RedactURL(db), len(comps), err))
	}
	if err := dataset.Benchmark(ctx, st); err != nil {
		return fail(fmt.Errorf("build data set: %w", err))
	}
	if p.comps, err = st.ListComponents(ctx); err != nil {
		return fail(err)
	}
	if incidents > 0 {
		if err := st.ImportPastIncidents(ctx, store.PastHistory(st.Now(), p.comps, incidents)); err != nil {
			return fail(fmt.Errorf("import the history: %w", err))
		}
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	srvCtx, cancel := context.WithCancel(ctx)
	srv, err := web.New(srvCtx, web.Config{BaseURL: "http://127.0.0.1", PageName: "Acme", Logger: logger}, st)
	if err != nil {
		cancel()
		return fail(err)
	}
	runDone := make(chan error, 1)
	go func() { runDone <- srv.Run(srvCtx) }()
	url, stopHTTP, err := serveLoopback(srv.Handler(), logger)
	if err != nil {
		cancel()
		<-runDone
		return fail(err)
	}
	p.url = strings.TrimSuffix(url, "/")
	p.close = func() { stopHTTP(); cancel(); <-runDone; st.Close() }
	p.fresh = srv.WaitFresh
	return p, nil
}

// round opens an incident (not timed), resolves it, waits for the page to
// show it, and reads three history pages, each the first read after the
// change (history pages are cached per snapshot). A history of one page
// has no last page apart from the first: those reads are skipped.
func (p *historyPage) round(ctx context.Context, width, round int, s *historySample) error {
	down := map[string]store.ComponentStatus{}
	for i := range width {
		down[p.comps[(round+i)%len(p.comps)].ID] = store.MajorOutage
	}
	inc, err := p.st.CreateIncident(ctx, store.IncidentInput{Name: "Bench " + strconv.Itoa(round), Body: "Looking.", Components: down, SkipNotify: true})
	if err != nil {
		return err
	}
	if err := p.fresh(ctx); err != nil {
		return err
	}
	// The history's length once this one is resolved: what the last
	// page's number and the cursor to it depend on.
	resolved, err := p.st.CountIncidents(ctx, store.IncidentFilter{Resolved: true})
	if err != nil {
		return err
	}
	done, err := p.st.ListMaintenances(ctx, store.MaintenanceFilter{Statuses: []store.MaintenanceStatus{store.MaintenanceCompleted}, Limit: 100_000})
	if err != nil {
		return err
	}
	entries := resolved + 1 + len(done)
	start := time.Now()
	if _, err := p.st.PostIncidentUpdate(ctx, inc.ID, store.IncidentUpdateInput{Status: store.Resolved, Body: "Fixed.", SkipNotify: true}); err != nil {
		return err
	}
	s.resolve = append(s.resolve, time.Since(start))
	if err := p.fresh(ctx); err != nil {
		return err
	}
	s.fresh = append(s.fresh, time.Since(start))

	lastPage := (entries + web.HistoryPageSize - 1) / web.HistoryPageSize
	var lastURL string
	if lastPage > 1 {
		body, _, err := p.get(ctx, "/history?page="+strconv.Itoa(lastPage-1))
		if err != nil {
			return err
		}
		m := nextLink.FindSubmatch(body)
		if m == nil {
			return fmt.Errorf("page %d has no link to the next page", lastPage-1)
		}
		lastURL = string(m[1])
	}
	if err := p.fresh(ctx); err != nil { // a fresh snapshot: nothing cached
		return err
	}
	for _, r := range []struct {
		path string
		into *[]time.Duration
	}{{"/history", &s.first}, {lastURL, &s.last}, {"/history?page=" + strconv.Itoa(lastPage), &s.numbered}} {
		if lastPage < 2 && r.into != &s.first {
			continue
		}
		_, took, err := p.get(ctx, r.path)
		if err != nil {
			return err
		}
		*r.into = append(*r.into, took)
	}
	return nil
}

var nextLink = regexp.MustCompile(`href="(/history\?before=[^"]+)"`)

func (p *historyPage) get(ctx context.Context, path string) ([]byte, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.url+path, nil)
	if err != nil {
		return nil, 0, err
	}
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	took := time.Since(start)
	if err != nil {
		return nil, 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, 0, fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return body, took, nil
}

func medianDur(v []time.Duration) time.Duration {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}
