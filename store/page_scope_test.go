package store

import (
	"slices"
	"testing"
)

// A scope carried through a batch of change events learns each component
// as it is now: a new internal one is not "every component" on the default
// page, one moved into a page's group joins it, a deleted one leaves; the
// scope it came from stays as the snapshot saw it.
func TestScopeSeesComponentsAsTheyAreNow(t *testing.T) {
	t.Parallel()
	api := Component{ID: "api", Name: "API"}
	ledger := Component{ID: "ledger", Name: "Ledger", Internal: true}

	def := DefaultScope([]Component{api})
	now := def.Seeing(ledger)
	if now.ShowsComponent(ledger.ID) || now.Shows([]string{ledger.ID}, nil) {
		t.Error("the default page shows an internal component made after its snapshot")
	}
	if !now.ShowsComponent(api.ID) || !now.Shows([]string{api.ID, ledger.ID}, nil) {
		t.Error("the default page no longer shows its public component")
	}
	if got := now.Incident(Incident{Components: []string{api.ID, ledger.ID}}).Components; !slices.Equal(got, []string{api.ID}) {
		t.Errorf("the default page's incident names %v, want only the public component", got)
	}
	if !def.ShowsComponent(ledger.ID) {
		t.Error("Seeing changed the scope it was called on")
	}
	if web := (Component{ID: "web", Name: "Web"}); !now.Seeing(web).ShowsComponent(web.ID) {
		t.Error("a public component made after the snapshot is not shown")
	}
	if now.Forgetting(api.ID).ShowsComponent(api.ID) {
		t.Error("a deleted component is still shown")
	}
	if made := def.Seeing(Component{ID: "api", Name: "API", Internal: true}); made.ShowsComponent(api.ID) {
		t.Error("a component made internal is still shown on the default page")
	}

	core := ScopeOf(Page{ID: "p1", Groups: []string{"g"}}, []Component{api})
	moved := Component{ID: "db", Name: "DB", GroupID: "g"}
	if core.ShowsComponent(moved.ID) || !core.Seeing(moved).ShowsComponent(moved.ID) {
		t.Error("a component moved into the page's group does not join it")
	}
	if left := core.Seeing(moved).Seeing(Component{ID: "db", Name: "DB"}); left.ShowsComponent(moved.ID) {
		t.Error("a component moved out of the page's group does not leave it")
	}
	var none *Scope
	if none.Seeing(ledger) != nil || none.Forgetting("x") != nil {
		t.Error("a nil scope (every component) did not stay nil")
	}
}
