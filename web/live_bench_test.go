package web

// Benchmarks for live updates: how long a change takes to reach a reading
// client while another has stopped reading, and what one broadcast costs.
// The tests (live_test.go) assert only that nobody is held up; the figures
// are here.
//
//	go test -run '^$' -bench 'Live|Hub' -benchmem ./web

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/herald-status/herald/store"
)

// BenchmarkLiveDeliveryWithStalledClient is commit-to-delivery for a client
// that reads, with a stalled client always present: from the API's answer
// (which comes after the commit) to the event arriving, the snapshot
// rebuild included. Beside ns/op (which includes the POST itself) it reports
// the median and worst commit-to-delivery time.
func BenchmarkLiveDeliveryWithStalledClient(b *testing.B) {
	ts := newTestServer(b, withStallableStreams)
	reader := openStream(b, ts, "?types=json", nil)
	var delays []time.Duration
	for b.Loop() {
		if ts.srv.LiveClients() < 2 { // the last stalled client was dropped
			b.StopTimer()
			stallStream(b, ts)
			b.StartTimer()
		}
		ts.mustCall(b, http.StatusCreated, "POST", "/api/v1/incidents", map[string]any{"name": fmt.Sprint("incident ", len(delays)), "body": bigBody, "status": "resolved"}, nil)
		committed := time.Now()
		reader.nextOf(b, "incident.created")
		delays = append(delays, time.Since(committed))
	}
	slices.Sort(delays)
	b.ReportMetric(float64(delays[len(delays)/2].Microseconds())/1000, "ms-median-delivery")
	b.ReportMetric(float64(delays[len(delays)-1].Microseconds())/1000, "ms-worst-delivery")
}

// BenchmarkHubBroadcast is one event handed to 100 clients that read while
// one more never reads (it is dropped whenever its buffer fills, and
// replaced). The readers are drained between batches, off the clock.
func BenchmarkHubBroadcast(b *testing.B) {
	const readers, batch = 100, 512
	h := NewHub(2*batch, 0)
	defer h.Close()
	subscribe := func(ip string) *streamClient {
		c, _, _, err := h.subscribe(ip, kindJSON, "")
		if err != nil {
			b.Fatal(err)
		}
		return c
	}
	var reading []*streamClient
	for i := range readers {
		reading = append(reading, subscribe(fmt.Sprint("10.0.0.", i)))
	}
	slow := subscribe("10.0.1.1")
	f := &frame{kind: kindJSON, bytes: encodeFrame(1, "incident.updated", []byte(`{"id":"x"}`))}
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		if n++; n%batch == 0 {
			b.StopTimer()
			for _, c := range reading {
				for len(c.ch) > 0 {
					<-c.ch
				}
			}
			select {
			case <-slow.gone:
				slow = subscribe("10.0.1.1")
			default:
			}
			b.StartTimer()
		}
		h.broadcast(f)
	}
	for _, c := range reading {
		select {
		case <-c.gone:
			b.Fatal("a client that read was dropped: the figure is not for 100 clients")
		default:
		}
	}
}

// BenchmarkLiveStatusChange is what one component's status change costs the
// status page, at each page size: the rebuild it causes (ns/op, allocs/op;
// the store write is off the clock) and the page event open pages receive
// when the component has a major outage (event-bytes) and when it is back
// (back-event-bytes), against the whole region a page further behind is
// sent (whole-bytes). The component is in a group that shows a problem
// already (open), or in one that opens because of it and closes again.
//
// The page of 300 components is measured offering three languages too
// (languages=3): the rebuild renders the region and its event in each.
//
//	go test -run '^$' -bench LiveStatusChange -benchmem -count 3 ./web
func BenchmarkLiveStatusChange(b *testing.B) {
	for _, n := range []int{30, 300, 3000} {
		for _, where := range []string{"open group", "closed group", "open group/languages=3"} {
			where, langs := strings.CutSuffix(where, "/languages=3")
			if langs && n != 300 {
				continue
			}
			name := fmt.Sprintf("components=%d/%s", n, strings.ReplaceAll(where, " ", "_"))
			if langs {
				name += "/languages=3"
			}
			b.Run(name, func(b *testing.B) {
				srv := newScaledBenchServer(b, n, 0)
				ctx := context.Background()
				if langs {
					offered := []string{"de", "ja"}
					if _, err := srv.store.SaveBranding(ctx, "", store.BrandingPatch{Languages: &offered}); err != nil {
						b.Fatal(err)
					}
					if err := srv.rebuildSnapshot(ctx); err != nil {
						b.Fatal(err)
					}
				}
				comps, err := srv.store.ListComponents(ctx)
				if err != nil {
					b.Fatal(err)
				}
				groups, err := srv.store.ListComponentGroups(ctx)
				if err != nil {
					b.Fatal(err)
				}
				// The first component of the first group that shows a
				// problem, or of the first that does not (Payments).
				var c store.Component
				for _, sec := range store.Sections(groups, comps) {
					if (sec.Status() == store.Operational) == (where == "closed group") {
						c = sec.Components[0]
						break
					}
				}
				statuses := []store.ComponentStatus{store.MajorOutage, c.Status}
				var sizes [2]int
				b.ReportAllocs()
				for i := 0; b.Loop(); i++ {
					b.StopTimer()
					s := statuses[i%2]
					if _, err := srv.store.UpdateComponent(ctx, c.ID, store.ComponentPatch{Status: &s}); err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
					if err := srv.rebuildSnapshot(ctx); err != nil {
						b.Fatal(err)
					}
					sizes[i%2] = len(srv.main.snap.Load().liveFrame.bytes)
				}
				b.ReportMetric(float64(sizes[0]), "event-bytes")
				b.ReportMetric(float64(sizes[1]), "back-event-bytes")
				b.ReportMetric(float64(len(srv.main.snap.Load().liveFrame.complete())), "whole-bytes")
			})
		}
	}
}
