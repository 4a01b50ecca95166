package store

import (
	"testing"
)

// The email search matches a part of the address as plain text: case does
// not matter, and "_" and "%" are not wildcards.
func TestListSubscribersEmailSearch(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		st := newTestStore(t)
		for _, e := range []string{"ops_team@example.com", "opsXteam@example.com", "ada@other.org"} {
			if _, err := st.AddSubscriber(t.Context(), SubscriberInput{Email: e, Confirmed: true}); err != nil {
				t.Fatal(err)
			}
		}
		for _, tt := range []struct {
			q    string
			want int
		}{{"", 3}, {"example", 2}, {"OPS_", 1}, {"%", 0}, {" ada@ ", 1}, {"nobody", 0}} {
			list, err := st.ListSubscribers(t.Context(), SubscriberFilter{Email: tt.q})
			if err != nil {
				t.Fatal(err)
			}
			if len(list) != tt.want {
				t.Errorf("search %q: %d subscribers, want %d", tt.q, len(list), tt.want)
			}
		}
		list, err := st.ListSubscribers(t.Context(), SubscriberFilter{Email: "example", Status: SubscriberPending})
		if err != nil || len(list) != 0 {
			t.Errorf("search with a status filter: %d, %v", len(list), err)
		}
	})
}
