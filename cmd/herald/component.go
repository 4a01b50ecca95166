package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/herald-status/herald/store"
)

// cmdComponent lists components and sets their status, over the API.
func cmdComponent(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cmd, err := newAPICommand("component", args, stderr, "list", "set-status")
	if err != nil {
		return err
	}
	switch cmd.sub {
	case "list":
		cmd.fs.synopsis("herald component list [flags]")
	case "set-status":
		cmd.fs.synopsis("herald component set-status [flags] COMPONENT STATUS")
	}
	pos, c, err := cmd.parse()
	if err != nil {
		return err
	}
	if cmd.sub == "list" {
		if len(pos) != 0 {
			return errors.New("component list: takes no arguments")
		}
		return componentList(ctx, c, *cmd.api.json, stdout)
	}
	if len(pos) != 2 {
		return fmt.Errorf("component set-status: give the component (its id or name) and its new status, one of %s", joinStatuses())
	}
	return componentSetStatus(ctx, c, pos[0], pos[1], *cmd.api.json, stdout)
}

func componentList(ctx context.Context, c *apiClient, asJSON bool, stdout io.Writer) error {
	cat, data, err := loadComponents(ctx, c)
	if err != nil {
		return err
	}
	if asJSON {
		return printJSON(stdout, data)
	}
	if len(cat.list) == 0 {
		fmt.Fprintln(stdout, "No components yet: an admin adds them in the console (Components) or with POST /api/v1/components.")
		return nil
	}
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tNAME\tGROUP\tSTATUS")
	for _, comp := range cat.list {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", comp.ID, comp.Name, dash(cat.groups[comp.GroupID]), comp.Status)
	}
	return w.Flush()
}

func componentSetStatus(ctx context.Context, c *apiClient, ref, status string, asJSON bool, stdout io.Writer) error {
	cat, _, err := loadComponents(ctx, c)
	if err != nil {
		return err
	}
	comp, err := cat.find(ref)
	if err != nil {
		return err
	}
	var after store.Component
	data, err := c.send(ctx, http.MethodPatch, "/components/"+comp.ID, map[string]any{"status": normalizeValue(status)}, &after)
	if err != nil {
		return err
	}
	if asJSON {
		return printJSON(stdout, data)
	}
	if after.Status == comp.Status {
		fmt.Fprintf(stdout, "%s was already %s; nothing changed.\n", cat.label(after), after.Status)
		return nil
	}
	fmt.Fprintf(stdout, "%s: %s → %s\n", cat.label(after), comp.Status, after.Status)
	return nil
}

// catalog is every component, with its group's name, to find one by what
// a person calls it.
type catalog struct {
	list   []store.Component
	groups map[string]string // group id → name
}

// loadComponents reads the components and their groups; data is the
// components' JSON as the API sent it.
func loadComponents(ctx context.Context, c *apiClient) (catalog, []byte, error) {
	cat := catalog{groups: map[string]string{}}
	data, err := c.get(ctx, "/components", nil, &cat.list)
	if err != nil {
		return catalog{}, nil, err
	}
	var groups []store.ComponentGroup
	if _, err := c.get(ctx, "/component-groups", nil, &groups); err != nil {
		return catalog{}, nil, err
	}
	for _, g := range groups {
		cat.groups[g.ID] = g.Name
	}
	return cat, data, nil
}

// label is a component as a person knows it: its name, and its group's.
func (cat catalog) label(comp store.Component) string {
	if g := cat.groups[comp.GroupID]; g != "" {
		return comp.Name + " (" + g + ")"
	}
	return comp.Name
}

// name is the component's label, or its id when it is not in the catalog.
func (cat catalog) name(id string) string {
	for _, comp := range cat.list {
		if comp.ID == id {
			return comp.Name
		}
	}
	return id
}

// find is the one component ref names: its id, its name (exactly, then in
// any case), or "Group/Name" when names repeat across groups. A name that
// fits several, or none, is an error that lists the candidates.
func (cat catalog) find(ref string) (store.Component, error) {
	ref = strings.TrimSpace(ref)
	for _, comp := range cat.list {
		if comp.ID == ref {
			return comp, nil
		}
	}
	matchers := []func(store.Component) bool{
		func(c store.Component) bool { return c.Name == ref },
		func(c store.Component) bool { return strings.EqualFold(c.Name, ref) },
	}
	if group, name, ok := cutLast(ref, "/"); ok {
		matchers = append(matchers, func(c store.Component) bool {
			return strings.EqualFold(c.Name, name) && strings.EqualFold(cat.groups[c.GroupID], group)
		})
	}
	for _, match := range matchers {
		var found []store.Component
		for _, comp := range cat.list {
			if match(comp) {
				found = append(found, comp)
			}
		}
		switch len(found) {
		case 0:
			continue
		case 1:
			return found[0], nil
		}
		return store.Component{}, fmt.Errorf("component %q is ambiguous: %d components have that name; give the id or Group/Name:\n%s", ref, len(found), cat.describe(found))
	}
	if len(cat.list) == 0 {
		return store.Component{}, fmt.Errorf("no component %q: this Herald has no components yet", ref)
	}
	// Suggest the names that contain what was typed, or else all of them.
	var near []store.Component
	for _, comp := range cat.list {
		if strings.Contains(strings.ToLower(comp.Name), strings.ToLower(ref)) {
			near = append(near, comp)
		}
	}
	if len(near) > 0 {
		return store.Component{}, fmt.Errorf("no component %q; did you mean one of these?\n%s", ref, cat.describe(near))
	}
	return store.Component{}, fmt.Errorf("no component %q; the components are:\n%s", ref, cat.describe(cat.list))
}

// maxCandidates bounds the components an error lists.
const maxCandidates = 20

// describe lists components one a line, id first, as an error shows them.
func (cat catalog) describe(list []store.Component) string {
	sorted := append([]store.Component(nil), list...)
	sort.SliceStable(sorted, func(i, j int) bool {
		return strings.ToLower(cat.label(sorted[i])) < strings.ToLower(cat.label(sorted[j]))
	})
	var b strings.Builder
	for i, comp := range sorted {
		if i == maxCandidates {
			fmt.Fprintf(&b, "  … and %d more (herald component list)\n", len(sorted)-maxCandidates)
			break
		}
		fmt.Fprintf(&b, "  %s  %s\n", comp.ID, cat.label(comp))
	}
	return strings.TrimRight(b.String(), "\n")
}

// changes turns --component NAME=STATUS flags into the API's map of
// component id to new status.
func (cat catalog) changes(flags []string) (map[string]string, error) {
	out := map[string]string{}
	for _, f := range flags {
		ref, status, ok := cutLast(f, "=")
		if !ok || strings.TrimSpace(ref) == "" || strings.TrimSpace(status) == "" {
			return nil, fmt.Errorf("--component %q: write it as NAME=STATUS, e.g. --component API=major_outage (statuses: %s)", f, joinStatuses())
		}
		comp, err := cat.find(ref)
		if err != nil {
			return nil, err
		}
		out[comp.ID] = normalizeValue(status)
	}
	return out, nil
}

// ids turns --component NAME flags into component ids.
func (cat catalog) ids(flags []string) ([]string, error) {
	out := []string{}
	for _, ref := range flags {
		comp, err := cat.find(ref)
		if err != nil {
			return nil, err
		}
		out = append(out, comp.ID)
	}
	return out, nil
}

// names is the components' names, joined, for a table cell.
func (cat catalog) names(ids []string) string {
	names := make([]string, len(ids))
	for i, id := range ids {
		names[i] = cat.name(id)
	}
	return strings.Join(names, ", ")
}

// cutLast is strings.Cut at the last sep: a component's name may contain
// "=" or "/", a status never does, and a group's name rarely.
func cutLast(s, sep string) (before, after string, ok bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+len(sep):], true
}

// normalizeValue lets an enumeration be typed loosely (major-outage,
// Major_Outage); the API decides whether the value is one it knows.
func normalizeValue(v string) string {
	return strings.ReplaceAll(strings.ToLower(strings.TrimSpace(v)), "-", "_")
}

func joinStatuses() string {
	s := make([]string, len(store.ComponentStatuses))
	for i, v := range store.ComponentStatuses {
		s[i] = string(v)
	}
	return strings.Join(s, ", ")
}

func dash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}
