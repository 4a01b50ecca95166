package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/herald-status/herald/store"
)

// escalationFlags are the escalation policy Herald starts with: what
// applies until an admin saves a policy in the console (Settings), which
// then wins.
type escalationFlags struct {
	remindAfter     *time.Duration
	publishAfter    *string
	staleAfter      *time.Duration
	holdingTemplate *string
}

func addEscalationFlags(fs *flagSet) *escalationFlags {
	def := store.DefaultEscalationPolicy()
	return &escalationFlags{
		remindAfter:     fs.Duration("remind-after", def.RemindAfter, "tell the commanders (email, team webhooks) of a draft nobody has published after this long"),
		publishAfter:    fs.String("publish-after", "", "publish the holding statement of a draft nobody has published after this long, per impact, e.g. critical=10m,major=20m (default: never)"),
		staleAfter:      fs.Duration("stale-after", def.StaleAfter, "tell the commanders of an open incident with no update, and no update promised, for this long"),
		holdingTemplate: fs.String("holding-template", "", "id of the incident template the holding statement is written from (default: the built-in statement)"),
	}
}

// parse builds and checks the policy; whether the template exists is
// checked against the database by the caller.
func (f *escalationFlags) parse() (store.EscalationPolicy, error) {
	p := store.EscalationPolicy{RemindAfter: *f.remindAfter, StaleAfter: *f.staleAfter, HoldingTemplate: strings.TrimSpace(*f.holdingTemplate),
		PublishAfter: map[store.Impact]time.Duration{}}
	for _, part := range strings.Split(*f.publishAfter, ",") {
		if part = strings.TrimSpace(part); part == "" {
			continue
		}
		impact, after, ok := strings.Cut(part, "=")
		d, err := time.ParseDuration(strings.TrimSpace(after))
		if !ok || err != nil {
			return p, fmt.Errorf("--publish-after %q: give impact=duration pairs such as critical=10m,major=20m", *f.publishAfter)
		}
		p.PublishAfter[store.Impact(strings.TrimSpace(impact))] = d
	}
	if err := p.Check(); err != nil {
		return p, fmt.Errorf("escalation flags: %w", err)
	}
	return p, nil
}
