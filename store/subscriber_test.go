package store

import (
	"errors"
	"strings"
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

// badDomains are addresses whose domain a relay must not be handed: domain
// literals (the relay would deliver to the address inside, internal ones
// included), numbers, and names that are not DNS host names.
var badDomains = []string{
	"probe@[10.0.0.1]", "a@[169.254.169.254]", "a@[127.0.0.1]", "a@[IPv6:::1]",
	"a@10.0.0.1", "a@example.123", "a@-example.com", "a@example-.com", "a@ex-.ample.com",
	"a@ex_ample.com", "a@" + strings.Repeat("l", 64) + ".com", "a@" + strings.Repeat("abcdefghi.", 25) + "com",
	strings.Repeat("l", 65) + "@example.com",
}

// Every way an address comes in — the public form's SubscribeEmail, the
// admin's AddSubscriber, ImportSubscribers, and users — refuses a domain
// that is not a DNS name, and stores nothing; good names pass.
func TestAddressesNeedADNSDomain(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T) {
		st := newTestStore(t)
		ctx := t.Context()
		for _, e := range badDomains {
			t.Run(e, func(t *testing.T) {
				var ve *ValidationError
				if err := st.SubscribeEmail(ctx, SubscriberInput{Email: e}); !errors.As(err, &ve) || ve.Field != "email" {
					t.Errorf("SubscribeEmail: %v", err)
				}
				if _, err := st.AddSubscriber(ctx, SubscriberInput{Email: e, Confirmed: true}); !errors.As(err, &ve) || ve.Field != "email" {
					t.Errorf("AddSubscriber: %v", err)
				}
				if _, err := st.ImportSubscribers(ctx, []SubscriberInput{{Email: "fine@example.com"}, {Email: e}}); !errors.As(err, &ve) || ve.Field != "subscribers[1].email" {
					t.Errorf("ImportSubscribers: %v", err)
				}
				if _, _, err := st.CreateUser(ctx, UserInput{Email: e, Role: RoleViewer}); !errors.As(err, &ve) || ve.Field != "email" {
					t.Errorf("CreateUser: %v", err)
				}
			})
		}
		if n, _ := st.CountSubscribers(ctx, ""); n != 0 {
			t.Errorf("%d subscribers stored", n)
		}
		for _, e := range []string{"a@xn--bcher-kva.example", "a.b+tag@sub-domain.example.com", "x@a1.io", strings.Repeat("l", 64) + "@" + strings.Repeat("d", 63) + ".com"} {
			if _, err := st.AddSubscriber(ctx, SubscriberInput{Email: e, Confirmed: true}); err != nil {
				t.Errorf("AddSubscriber(%s): %v", e, err)
			}
		}
		if _, _, err := st.CreateUser(ctx, UserInput{Email: "ops@localhost", Role: RoleViewer}); err != nil {
			t.Errorf("a user at localhost: %v", err)
		}
	})
}
