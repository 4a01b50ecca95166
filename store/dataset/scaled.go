package dataset

import (
	"context"
	"fmt"

	"github.com/herald-status/herald/store"
)

// BenchmarkScaled is the Benchmark data set grown to components components
// (a multiple of 6, at least 30): its five groups come first, as they are,
// and copies of them follow ("Core platform 2", "REST API 2", …), every
// copy operational. It is the page of a large company, where most of the
// page is quiet and an incident touches a few groups.
func BenchmarkScaled(ctx context.Context, st *store.Store, components int) error {
	per := len(benchmark.groups[0].components)
	if components < per*len(benchmark.groups) || components%per != 0 {
		return fmt.Errorf("dataset: %d components: want a multiple of %d, at least %d", components, per, per*len(benchmark.groups))
	}
	p := benchmark
	p.groups = nil
	for i := 0; len(p.groups)*per < components; i++ {
		g := benchmark.groups[i%len(benchmark.groups)]
		if copyNo := i/len(benchmark.groups) + 1; copyNo > 1 {
			names := make([]string, len(g.components))
			for j, c := range g.components {
				names[j] = fmt.Sprintf("%s %d", c.name, copyNo)
			}
			g = benchGroup(fmt.Sprintf("%s %d", g.name, copyNo), names...)
		}
		p.groups = append(p.groups, g)
	}
	return p.build(ctx, st)
}
