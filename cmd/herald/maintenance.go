package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/herald-status/herald/store"
)

// cmdMaintenance schedules and lists maintenance windows, over the API.
func cmdMaintenance(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cmd, err := newAPICommand("maintenance", args, stderr, "schedule", "list")
	if err != nil {
		return err
	}
	fs := cmd.fs
	var sched *scheduleFlags
	var all *bool
	switch cmd.sub {
	case "schedule":
		fs.synopsis("herald maintenance schedule --start T (--end T | --duration D) [flags] TITLE MESSAGE")
		sched = &scheduleFlags{
			start:    fs.FlagSet.String("start", "", "when it begins: RFC 3339, or YYYY-MM-DD HH:MM in this computer's time zone (required)"),
			end:      fs.FlagSet.String("end", "", "when it ends (the same forms as --start); or give --duration"),
			duration: fs.FlagSet.Duration("duration", 0, "how long it lasts, e.g. 1h30m, instead of --end"),
			manual:   fs.FlagSet.Bool("manual", false, "start and complete it by hand (POST …/updates), not at the scheduled times"),
			noNotify: fs.FlagSet.Bool("no-notify", false, "schedule it without telling subscribers"),
			remind:   fs.FlagSet.Duration("remind-before", 0, "remind subscribers this long before it starts, e.g. 1h (whole minutes; none by default)"),
		}
		fs.FlagSet.Var(&sched.components, "component", "a component under maintenance (name or id; repeat for several)")
	case "list":
		fs.synopsis("herald maintenance list [flags]")
		all = fs.FlagSet.Bool("all", false, "list completed maintenance too, not only what is scheduled or under way")
	}
	pos, c, err := cmd.parse()
	if err != nil {
		return err
	}
	if cmd.sub == "list" {
		if len(pos) != 0 {
			return errors.New("maintenance list: takes no arguments (--all lists completed ones too)")
		}
		return maintenanceList(ctx, c, *all, *cmd.api.json, stdout)
	}
	if len(pos) != 2 {
		return errors.New(`maintenance schedule: give the title and the announcement, each in quotes, e.g. herald maintenance schedule --start "2026-12-01 02:00" --duration 1h --component API "Database upgrade" "The API may be read-only for 15 minutes." (the announcement "-" reads it from stdin)`)
	}
	return maintenanceSchedule(ctx, c, sched, pos[0], pos[1], *cmd.api.json, stdout)
}

type scheduleFlags struct {
	start, end       *string
	duration         *time.Duration
	manual, noNotify *bool
	remind           *time.Duration
	components       listFlag
}

// window is the maintenance's start and end from the flags.
func (f *scheduleFlags) window() (time.Time, time.Time, error) {
	if *f.start == "" {
		return time.Time{}, time.Time{}, errors.New("maintenance schedule: --start is required")
	}
	from, err := parseTime("--start", *f.start)
	if err != nil {
		return time.Time{}, time.Time{}, err
	}
	switch {
	case *f.end != "" && *f.duration != 0:
		return time.Time{}, time.Time{}, errors.New("maintenance schedule: give --end or --duration, not both")
	case *f.duration < 0:
		return time.Time{}, time.Time{}, fmt.Errorf("--duration %s: give a positive duration such as 1h", *f.duration)
	case *f.duration > 0:
		return from, from.Add(*f.duration), nil
	case *f.end == "":
		return time.Time{}, time.Time{}, errors.New("maintenance schedule: say when it ends, with --end or --duration")
	}
	until, err := parseTime("--end", *f.end)
	return from, until, err
}

func maintenanceSchedule(ctx context.Context, c *apiClient, f *scheduleFlags, title, message string, asJSON bool, stdout io.Writer) error {
	msg, err := readMessage(message)
	if err != nil {
		return err
	}
	from, until, err := f.window()
	if err != nil {
		return err
	}
	cat, _, err := loadComponents(ctx, c)
	if err != nil {
		return err
	}
	ids, err := cat.ids(f.components)
	if err != nil {
		return err
	}
	body := map[string]any{
		"name": title, "message": msg, "components": ids,
		"scheduled_for": from.UTC().Format(time.RFC3339), "scheduled_until": until.UTC().Format(time.RFC3339),
	}
	if *f.manual {
		body["auto_transition"] = false
	}
	if *f.noNotify {
		body["notify"] = false
	}
	if *f.remind != 0 {
		if *f.remind < 0 || *f.remind%time.Minute != 0 {
			return fmt.Errorf("--remind-before %s: give a positive whole number of minutes, such as 30m or 1h", *f.remind)
		}
		body["remind_before_minutes"] = int(*f.remind / time.Minute)
	}
	var m store.Maintenance
	data, err := c.send(ctx, http.MethodPost, "/maintenances", body, &m)
	if err != nil {
		return err
	}
	if asJSON {
		return printJSON(stdout, data)
	}
	fmt.Fprintf(stdout, "Scheduled maintenance %s %q: %s to %s.\n", m.ID, m.Name, fmtTime(m.ScheduledFor), fmtTime(m.ScheduledUntil))
	if len(m.Components) > 0 {
		fmt.Fprintf(stdout, "Under maintenance then: %s.\n", cat.names(m.Components))
	}
	if !m.AutoTransition {
		fmt.Fprintf(stdout, "It starts and completes only when someone says so (POST /api/v1/maintenances/%s/updates, or the console).\n", m.ID)
	}
	if *f.noNotify {
		fmt.Fprintln(stdout, "Subscribers were not notified (--no-notify).")
	}
	if m.RemindBefore > 0 {
		fmt.Fprintf(stdout, "Subscribers who want reminders are reminded %s before it starts.\n", time.Duration(m.RemindBefore)*time.Minute)
	}
	fmt.Fprintf(stdout, "Public page: %s\n", c.pageURL("/maintenance/"+m.ID))
	return nil
}

func maintenanceList(ctx context.Context, c *apiClient, all, asJSON bool, stdout io.Writer) error {
	q := url.Values{}
	if !all {
		var open []string
		for _, s := range store.MaintenanceStatuses {
			if s != store.MaintenanceCompleted {
				open = append(open, string(s))
			}
		}
		q.Set("status", strings.Join(open, ","))
	}
	var list []store.Maintenance
	data, err := c.get(ctx, "/maintenances", q, &list)
	if err != nil {
		return err
	}
	if asJSON {
		return printJSON(stdout, data)
	}
	if len(list) == 0 {
		if all {
			fmt.Fprintln(stdout, "No maintenance.")
		} else {
			fmt.Fprintln(stdout, "No maintenance scheduled or under way (herald maintenance list --all lists completed ones too).")
		}
		return nil
	}
	cat, _, err := loadComponents(ctx, c)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tSTATUS\tTITLE\tFROM\tUNTIL\tCOMPONENTS")
	for _, m := range list {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", m.ID, m.Status, shorten(m.Name, 48), fmtTime(m.ScheduledFor), fmtTime(m.ScheduledUntil), dash(shorten(cat.names(m.Components), 40)))
	}
	return w.Flush()
}
