package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/herald-status/herald/store"
)

// cmdIncident runs incidents from a terminal, over the API: open one, post
// an update, resolve it, list and read them.
func cmdIncident(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cmd, err := newAPICommand("incident", args, stderr, "open", "update", "resolve", "list", "show")
	if err != nil {
		return err
	}
	fs := cmd.fs
	var post *postFlags
	var all *bool
	var impact, startedAt *string
	switch cmd.sub {
	case "open":
		fs.synopsis("herald incident open [flags] TITLE MESSAGE")
		post = addPostFlags(fs, "investigating")
		impact = fs.FlagSet.String("impact", "", "none, minor, major or critical (default: what the components' new statuses mean)")
		startedAt = fs.FlagSet.String("started-at", "", "when the impact began, if before now: RFC 3339, or YYYY-MM-DD HH:MM in this computer's time zone")
	case "update":
		fs.synopsis("herald incident update ID [flags] MESSAGE")
		post = addPostFlags(fs, "")
	case "resolve":
		fs.synopsis("herald incident resolve ID [flags] MESSAGE")
		post = addPostFlags(fs, string(store.Resolved))
	case "list":
		fs.synopsis("herald incident list [flags]")
		all = fs.FlagSet.Bool("all", false, "list resolved incidents too, not only the open ones and drafts")
	case "show":
		fs.synopsis("herald incident show ID [flags]")
	}
	pos, c, err := cmd.parse()
	if err != nil {
		return err
	}
	out := incidentOutput{c: c, json: *cmd.api.json, w: stdout}

	switch cmd.sub {
	case "list":
		if len(pos) != 0 {
			return errors.New("incident list: takes no arguments (--all lists resolved incidents too)")
		}
		return out.list(ctx, *all)
	case "show":
		if len(pos) != 1 {
			return errors.New("incident show: give the incident's id (see herald incident list)")
		}
		return out.show(ctx, pos[0])
	case "open":
		if len(pos) != 2 {
			return errors.New(`incident open: give the title and the first message, each in quotes, e.g. herald incident open --impact major "Logins failing" "We are looking into it." (the message "-" reads it from stdin)`)
		}
		return out.open(ctx, post, pos[0], pos[1], *impact, *startedAt)
	case "update":
		if len(pos) != 2 {
			return errors.New(`incident update: give the incident's id and the message, in quotes, e.g. herald incident update ID --status monitoring "Fix deployed; watching." (the message "-" reads it from stdin)`)
		}
		return out.post(ctx, post, pos[0], pos[1])
	}
	// resolve
	if len(pos) != 2 {
		return errors.New(`incident resolve: give the incident's id and the closing message, in quotes, e.g. herald incident resolve ID "Logins work normally again." (the message "-" reads it from stdin)`)
	}
	return out.post(ctx, post, pos[0], pos[1])
}

// postFlags are the flags of a message posted to an incident.
type postFlags struct {
	status     *string
	components listFlag
	nextUpdate *string
	noNotify   *bool
	note       *string
}

// addPostFlags adds them; status is the status posted ("" for the
// incident's current one), which --status changes unless it is resolved:
// resolve only resolves.
func addPostFlags(fs *flagSet, status string) *postFlags {
	p := &postFlags{status: &status}
	switch status {
	case "":
		p.status = fs.FlagSet.String("status", "", "investigating, identified, monitoring or resolved (default: the incident's current status)")
	case string(store.Investigating):
		p.status = fs.FlagSet.String("status", status, "investigating, identified, monitoring or resolved")
	}
	fs.FlagSet.Var(&p.components, "component", "a component and its new status, NAME=STATUS (name or id; repeat for several), e.g. API=major_outage")
	p.nextUpdate = fs.FlagSet.String("next-update", "", "promise the next update: in a while (30m, 1h) or at a time (RFC 3339)")
	p.noNotify = fs.FlagSet.Bool("no-notify", false, "post without emailing subscribers or calling webhooks")
	p.note = fs.FlagSet.String("internal-note", "", "a note shown beside the message on private pages only, and to their subscribers")
	return p
}

// body is the API fields of a post: the message (the argument, or stdin
// for "-") and what the flags set, with the components resolved by name.
func (p *postFlags) body(ctx context.Context, c *apiClient, message string) (map[string]any, catalog, error) {
	msg, err := readMessage(message)
	if err != nil {
		return nil, catalog{}, err
	}
	body := map[string]any{"body": msg}
	if status := normalizeValue(*p.status); status != "" {
		body["status"] = status
	}
	var cat catalog
	if len(p.components) > 0 {
		var err error
		if cat, _, err = loadComponents(ctx, c); err != nil {
			return nil, cat, err
		}
		changes, err := cat.changes(p.components)
		if err != nil {
			return nil, cat, err
		}
		body["components"] = changes
	}
	if v := strings.TrimSpace(*p.nextUpdate); v != "" {
		if d, err := time.ParseDuration(v); err == nil {
			minutes := int(d.Round(time.Minute) / time.Minute)
			if minutes < 1 {
				return nil, cat, fmt.Errorf("--next-update %s: promise at least a minute ahead", v)
			}
			body["next_update_in_minutes"] = minutes
		} else {
			at, err := parseTime("--next-update", v)
			if err != nil {
				return nil, cat, fmt.Errorf("--next-update %q: give a duration such as 30m or a time such as 2026-11-25T11:30:00Z", v)
			}
			body["next_update_at"] = at.UTC().Format(time.RFC3339)
		}
	}
	if *p.noNotify {
		body["notify"] = false
	}
	if *p.note != "" {
		body["internal_note"] = *p.note
	}
	return body, cat, nil
}

// incidentOutput prints what the incident commands got back: the API's
// JSON with --json, words and tables otherwise.
type incidentOutput struct {
	c    *apiClient
	json bool
	w    io.Writer
}

func (o incidentOutput) open(ctx context.Context, p *postFlags, title, message, impact, startedAt string) error {
	body, cat, err := p.body(ctx, o.c, message)
	if err != nil {
		return err
	}
	body["name"] = title
	if impact != "" {
		body["impact"] = normalizeValue(impact)
	}
	if startedAt != "" {
		at, err := parseTime("--started-at", startedAt)
		if err != nil {
			return err
		}
		body["started_at"] = at.UTC()
	}
	var inc store.Incident
	data, err := o.c.send(ctx, http.MethodPost, "/incidents", body, &inc)
	if err != nil {
		return err
	}
	if o.json {
		return printJSON(o.w, data)
	}
	fmt.Fprintf(o.w, "Opened incident %s %q: %s, impact %s.\n", inc.ID, inc.Name, inc.Status, inc.Impact)
	o.printChanges(inc, cat)
	o.printNotified(p)
	fmt.Fprintf(o.w, "Public page: %s\n", o.c.pageURL("/incidents/"+inc.ID))
	return nil
}

// post posts an update to incident id.
func (o incidentOutput) post(ctx context.Context, p *postFlags, id, message string) error {
	body, cat, err := p.body(ctx, o.c, message)
	if err != nil {
		return err
	}
	var inc store.Incident
	data, err := o.c.send(ctx, http.MethodPost, "/incidents/"+url.PathEscape(id)+"/updates", body, &inc)
	if err != nil {
		return err
	}
	if o.json {
		return printJSON(o.w, data)
	}
	verb := "Posted an update to"
	if inc.Status == store.Resolved && body["status"] == string(store.Resolved) {
		verb = "Resolved"
	}
	fmt.Fprintf(o.w, "%s incident %s %q: now %s.\n", verb, inc.ID, inc.Name, inc.Status)
	o.printChanges(inc, cat)
	if inc.NextUpdateAt != nil {
		fmt.Fprintf(o.w, "Next update promised by %s.\n", fmtTime(*inc.NextUpdateAt))
	}
	o.printNotified(p)
	return nil
}

// printChanges lists the component changes the latest update made.
func (o incidentOutput) printChanges(inc store.Incident, cat catalog) {
	if len(inc.Updates) == 0 {
		return
	}
	for _, a := range inc.Updates[0].AffectedComponents {
		name := a.Name
		if name == "" {
			name = cat.name(a.ComponentID)
		}
		fmt.Fprintf(o.w, "  %s: %s → %s\n", name, a.OldStatus, a.NewStatus)
	}
}

func (o incidentOutput) printNotified(p *postFlags) {
	if *p.noNotify {
		fmt.Fprintln(o.w, "Subscribers were not notified (--no-notify).")
	}
}

func (o incidentOutput) list(ctx context.Context, all bool) error {
	q := url.Values{}
	if !all {
		q.Set("unresolved", "true")
	}
	var list []store.Incident
	data, err := o.c.get(ctx, "/incidents", q, &list)
	if err != nil {
		return err
	}
	if o.json {
		return printJSON(o.w, data)
	}
	if len(list) == 0 {
		if all {
			fmt.Fprintln(o.w, "No incidents.")
		} else {
			fmt.Fprintln(o.w, "No open incidents (herald incident list --all lists resolved ones too).")
		}
		return nil
	}
	cat, _, err := loadComponents(ctx, o.c)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(o.w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tSTATUS\tIMPACT\tTITLE\tCOMPONENTS\tSTARTED\tUPDATED")
	for _, inc := range list {
		status := string(inc.Status)
		if inc.Draft {
			status = "draft"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", inc.ID, status, inc.Impact, shorten(inc.Name, 48),
			dash(shorten(cat.names(inc.Components), 40)), fmtTime(inc.StartedAt), fmtTime(inc.UpdatedAt))
	}
	return w.Flush()
}

func (o incidentOutput) show(ctx context.Context, id string) error {
	var inc store.Incident
	data, err := o.c.get(ctx, "/incidents/"+url.PathEscape(id), nil, &inc)
	if err != nil {
		return err
	}
	if o.json {
		return printJSON(o.w, data)
	}
	cat, _, err := loadComponents(ctx, o.c)
	if err != nil {
		return err
	}
	fmt.Fprintln(o.w, inc.Name)
	w := tabwriter.NewWriter(o.w, 0, 4, 2, ' ', 0)
	status := inc.Status.Label()
	if inc.Draft {
		status += " (a draft: not public until it is published in the console)"
	}
	fmt.Fprintf(w, "  id\t%s\n  status\t%s\n  impact\t%s\n  started\t%s\n", inc.ID, status, inc.Impact.Label(), fmtTime(inc.StartedAt))
	if inc.ResolvedAt != nil {
		fmt.Fprintf(w, "  resolved\t%s\n", fmtTime(*inc.ResolvedAt))
	}
	if inc.NextUpdateAt != nil {
		fmt.Fprintf(w, "  next update\tpromised by %s\n", fmtTime(*inc.NextUpdateAt))
	}
	var comps []string
	for _, cid := range inc.Components {
		for _, comp := range cat.list {
			if comp.ID == cid {
				comps = append(comps, cat.label(comp)+" "+string(comp.Status))
			}
		}
	}
	fmt.Fprintf(w, "  components\t%s\n", dash(strings.Join(comps, "; ")))
	if !inc.Draft {
		fmt.Fprintf(w, "  public page\t%s\n", o.c.pageURL("/incidents/"+inc.ID))
	}
	if inc.Postmortem != nil {
		fmt.Fprintf(w, "  postmortem\tpublished %s\n", fmtTime(inc.Postmortem.PublishedAt))
	}
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(o.w, "\nUpdates, newest first:")
	for _, u := range inc.Updates {
		fmt.Fprintf(o.w, "\n  %s  %s\n", fmtTime(u.CreatedAt), u.Status.Label())
		for _, line := range strings.Split(strings.TrimSpace(u.Body), "\n") {
			fmt.Fprintf(o.w, "    %s\n", line)
		}
		for _, a := range u.AffectedComponents {
			fmt.Fprintf(o.w, "    · %s: %s → %s\n", a.Name, a.OldStatus, a.NewStatus)
		}
	}
	return nil
}

// readMessage is a message argument, or standard input when it is "-".
func readMessage(arg string) (string, error) {
	msg := arg
	if arg == "-" {
		b, err := io.ReadAll(os.Stdin)
		if err != nil {
			return "", fmt.Errorf("read the message from stdin: %w", err)
		}
		msg = string(b)
	}
	msg = strings.TrimSpace(msg)
	if msg == "" {
		return "", errors.New("the message is empty: say what is happening, for the people reading the status page")
	}
	return msg, nil
}

// parseTime reads a time as RFC 3339, or as YYYY-MM-DD HH:MM in this
// computer's time zone (TZ), as a person types it.
func parseTime(flagName, v string) (time.Time, error) {
	v = strings.TrimSpace(v)
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	for _, layout := range []string{"2006-01-02 15:04", "2006-01-02T15:04"} {
		if t, err := time.ParseInLocation(layout, v, time.Local); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%s %q: give a time such as 2026-11-25T09:00:00Z, or 2026-11-25 10:00 in this computer's time zone (%s)", flagName, v, time.Now().Format("MST"))
}

// fmtTime shows a time in this computer's time zone, which it names.
func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.Local().Format("2006-01-02 15:04 MST")
}

// shorten cuts s to n characters for a table cell.
func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
