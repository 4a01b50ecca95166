package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Page is a status page besides the default one, which shows everything
// and is not a Page. A page shows the components chosen for it and every
// component of the groups chosen whole, and what concerns them: an
// incident or maintenance that names one of them, or that names no
// component at all (news for everyone).
type Page struct {
	ID   string `json:"id"`
	Slug string `json:"slug"` // the page is at /p/{slug}/
	Name string `json:"name"`
	// Host is a host name of its own (a custom domain pointed at Herald),
	// lower case; empty for none.
	Host       string   `json:"host"`
	Components []string `json:"components"` // chosen one by one
	Groups     []string `json:"groups"`     // chosen whole
	// Access is who may see the page (AccessPublic, AccessSignedIn,
	// AccessIP, AccessEmail); IPRanges the CIDRs an AccessIP page admits.
	Access   string   `json:"access"`
	IPRanges []string `json:"ip_ranges"`
	// Viewers are the addresses and @domains an AccessEmail page admits
	// (page_viewers.go).
	Viewers   []string  `json:"viewers"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Shows reports whether the page shows component c.
func (p Page) Shows(c Component) bool {
	return slices.Contains(p.Components, c.ID) || (c.GroupID != "" && slices.Contains(p.Groups, c.GroupID))
}

// Root is the path of the page under any host: /p/{slug}.
func (p Page) Root() string { return "/p/" + p.Slug }

// URL is the page's absolute address, for feeds, documents and emails,
// given Herald's base URL: at its own host when it has one.
func (p Page) URL(base string) string {
	if p.Host != "" {
		if u, err := url.Parse(base); err == nil && u.Scheme != "" {
			return u.Scheme + "://" + p.Host + p.Root()
		}
	}
	return base + p.Root()
}

// Who may see a page. The default page is public always.
const (
	AccessPublic   = "public"
	AccessSignedIn = "signed_in" // console users, of any role
	AccessIP       = "ip"        // clients whose address is in IPRanges
)

// MaxIPRanges bounds a page's list of CIDRs: each request to it is
// judged against all of them.
const MaxIPRanges = 100

// Private reports whether the page is for some people only.
func (p Page) Private() bool { return p.Access != AccessPublic }

// Admits reports whether a client at addr may see an AccessIP page: the
// one home of the rule. A page of another kind admits nobody by address.
func (p Page) Admits(addr netip.Addr) bool {
	if p.Access != AccessIP {
		return false
	}
	addr = addr.Unmap()
	for _, r := range p.IPRanges {
		if pfx, err := netip.ParsePrefix(r); err == nil && pfx.Contains(addr) {
			return true
		}
	}
	return false
}

// checkAccess validates who may see a page. The ranges are kept
// whatever the access, so they are checked whatever it is; an address
// alone is a range of one.
func checkAccess(access string, ranges []string) (string, []string, error) {
	access = strings.TrimSpace(access)
	if access == "" {
		access = AccessPublic
	}
	switch access {
	case AccessPublic, AccessSignedIn, AccessIP, AccessEmail:
	default:
		return "", nil, invalid("access", "%q is not a kind of access: use %s, %s, %s or %s", access, AccessPublic, AccessSignedIn, AccessIP, AccessEmail)
	}
	out := make([]string, 0, len(ranges))
	for _, r := range ranges {
		r = strings.TrimSpace(r)
		if r == "" {
			continue
		}
		pfx, err := netip.ParsePrefix(r)
		if err != nil {
			addr, aerr := netip.ParseAddr(r)
			if aerr != nil || addr.Zone() != "" {
				return "", nil, invalid("ip_ranges", "%q is not a CIDR range such as 203.0.113.0/24 or 2001:db8::/32", r)
			}
			pfx = netip.PrefixFrom(addr.Unmap(), addr.Unmap().BitLen())
		}
		if s := pfx.Masked().String(); !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	if len(out) > MaxIPRanges {
		return "", nil, invalid("ip_ranges", "%d ranges are more than the %d a page may have", len(out), MaxIPRanges)
	}
	if access == AccessIP && len(out) == 0 {
		return "", nil, invalid("ip_ranges", "a page for some addresses only needs at least one range")
	}
	return access, out, nil
}

// PageInput creates a page; PagePatch changes one (nil: unchanged).
type PageInput struct {
	Slug       string   `json:"slug"`
	Name       string   `json:"name"`
	Host       string   `json:"host"`
	Components []string `json:"components"`
	Groups     []string `json:"groups"`
	Access     string   `json:"access"`
	IPRanges   []string `json:"ip_ranges"`
	Viewers    []string `json:"viewers"`
}

type PagePatch struct {
	Slug       *string   `json:"slug"`
	Name       *string   `json:"name"`
	Host       *string   `json:"host"`
	Components *[]string `json:"components"`
	Groups     *[]string `json:"groups"`
	Access     *string   `json:"access"`
	IPRanges   *[]string `json:"ip_ranges"`
	Viewers    *[]string `json:"viewers"`
}

// The page's config is not public (a customer's host name is its own
// business), so its change-feed event carries nothing but its id, and live
// streams do not pass it on (Event.Public); it is there so that every
// replica rebuilds its pages.
func (p Page) feedRef() (string, string) { return pageKind, p.ID }

const pageKind = "page"

// feedPayload is the page's change-feed payload: its id alone.
func (p Page) feedPayload() any { return map[string]string{"id": p.ID} }

var slugPattern = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$`)

func checkSlug(v string) (string, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return "", invalid("slug", "is required")
	}
	if !slugPattern.MatchString(v) {
		return "", invalid("slug", "%q is not a slug: use 1 to 64 lower-case letters, digits and inner hyphens", v)
	}
	return v, nil
}

// CheckPageHost normalises a page's host name: a DNS name with at least one
// dot, no port, no scheme. Empty is allowed (no host of its own).
func CheckPageHost(v string) (string, error) {
	v = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(v), "."))
	if v == "" {
		return "", nil
	}
	if msg := checkDNSName(v, true); msg != "" {
		return "", invalid("host", "%q is not a host name such as status.example.com (no scheme, port or path): %s", v, msg)
	}
	return v, nil
}

func (t *tx) checkPage(p *Page) error {
	var err error
	if p.Slug, err = checkSlug(p.Slug); err != nil {
		return err
	}
	if p.Name, err = checkLine("name", p.Name, MaxNameLength, true); err != nil {
		return err
	}
	if p.Host, err = CheckPageHost(p.Host); err != nil {
		return err
	}
	if p.Access, p.IPRanges, err = checkAccess(p.Access, p.IPRanges); err != nil {
		return err
	}
	if p.Viewers, err = checkViewers(p.Access, p.Viewers); err != nil {
		return err
	}
	p.Components, p.Groups = dedupe(p.Components), dedupe(p.Groups)
	for _, id := range p.Components {
		if err := t.exists("components", id); err != nil {
			return invalid("components", "no component %q", id)
		}
	}
	for _, id := range p.Groups {
		if err := t.exists("component_groups", id); err != nil {
			return invalid("groups", "no component group %q", id)
		}
	}
	var other string
	err = t.QueryRowContext(t.ctx, `SELECT id FROM pages WHERE slug = ? AND id <> ?`, p.Slug, p.ID).Scan(&other)
	if err == nil {
		return invalid("slug", "another page is at /p/%s/", p.Slug)
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	if p.Host != "" {
		err = t.QueryRowContext(t.ctx, `SELECT id FROM pages WHERE host = ? AND id <> ?`, p.Host, p.ID).Scan(&other)
		if err == nil {
			return invalid("host", "another page has the host %s", p.Host)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
	}
	return nil
}

func dedupe(ids []string) []string {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// exists reports ErrNotFound unless table has a row with id.
func (t *tx) exists(table, id string) error {
	var one int
	err := t.QueryRowContext(t.ctx, `SELECT 1 FROM `+table+` WHERE id = ?`, id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	return err
}

// CreatePage adds a page.
func (s *Store) CreatePage(ctx context.Context, in PageInput) (Page, error) {
	p := Page{ID: newID(), Slug: in.Slug, Name: in.Name, Host: in.Host, Components: in.Components, Groups: in.Groups, Access: in.Access, IPRanges: in.IPRanges, Viewers: in.Viewers}
	err := s.inTx(ctx, func(t *tx) error {
		if err := t.checkPage(&p); err != nil {
			return err
		}
		p.CreatedAt, p.UpdatedAt = t.now, t.now
		if _, err := t.exec(`INSERT INTO pages (id, slug, name, host, access, ip_ranges, viewers, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			p.ID, p.Slug, p.Name, p.Host, p.Access, strings.Join(p.IPRanges, " "), strings.Join(p.Viewers, " "), p.CreatedAt, p.UpdatedAt); err != nil {
			return err
		}
		if err := t.writePageParts(p); err != nil {
			return err
		}
		t.record("page.create", pageKind, p.ID, nil, p)
		return nil
	})
	if err != nil {
		return Page{}, fmt.Errorf("store: create page: %w", err)
	}
	return p, nil
}

// UpdatePage changes a page.
func (s *Store) UpdatePage(ctx context.Context, id string, patch PagePatch) (Page, error) {
	var p Page
	err := s.inTx(ctx, func(t *tx) error {
		before, err := t.page(id)
		if err != nil {
			return err
		}
		p = before
		if patch.Slug != nil {
			p.Slug = *patch.Slug
		}
		if patch.Name != nil {
			p.Name = *patch.Name
		}
		if patch.Host != nil {
			p.Host = *patch.Host
		}
		if patch.Components != nil {
			p.Components = *patch.Components
		}
		if patch.Groups != nil {
			p.Groups = *patch.Groups
		}
		if patch.Access != nil {
			p.Access = *patch.Access
		}
		if patch.IPRanges != nil {
			p.IPRanges = *patch.IPRanges
		}
		if patch.Viewers != nil {
			p.Viewers = *patch.Viewers
		}
		if err := t.checkPage(&p); err != nil {
			return err
		}
		p.UpdatedAt = t.now
		if _, err := t.exec(`UPDATE pages SET slug = ?, name = ?, host = ?, access = ?, ip_ranges = ?, viewers = ?, updated_at = ? WHERE id = ?`,
			p.Slug, p.Name, p.Host, p.Access, strings.Join(p.IPRanges, " "), strings.Join(p.Viewers, " "), p.UpdatedAt, p.ID); err != nil {
			return err
		}
		if err := t.dropUnheard(p); err != nil {
			return err
		}
		if err := t.endViewerSessions(before, p); err != nil {
			return err
		}
		if _, err := t.exec(`DELETE FROM page_components WHERE page_id = ?`, p.ID); err != nil {
			return err
		}
		if _, err := t.exec(`DELETE FROM page_groups WHERE page_id = ?`, p.ID); err != nil {
			return err
		}
		if err := t.writePageParts(p); err != nil {
			return err
		}
		t.record("page.update", pageKind, p.ID, before, p)
		return nil
	})
	if err != nil {
		return Page{}, fmt.Errorf("store: update page %s: %w", id, err)
	}
	return p, nil
}

// DeletePage removes a page; its URLs answer 404 from then on.
func (s *Store) DeletePage(ctx context.Context, id string) error {
	err := s.inTx(ctx, func(t *tx) error {
		before, err := t.page(id)
		if err != nil {
			return err
		}
		// Its subscribers signed up for it, not for another page: they go
		// with it (their pending deliveries are skipped, as for any
		// subscriber removed).
		if _, err := t.exec(`DELETE FROM subscribers WHERE page_id = ?`, id); err != nil {
			return err
		}
		if _, err := t.exec(`DELETE FROM pages WHERE id = ?`, id); err != nil {
			return err
		}
		if err := t.deleteBranding(id); err != nil {
			return err
		}
		t.record("page.delete", pageKind, id, before, nil)
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: delete page %s: %w", id, err)
	}
	return nil
}

func (t *tx) writePageParts(p Page) error {
	for _, c := range p.Components {
		if _, err := t.exec(`INSERT INTO page_components (page_id, component_id) VALUES (?, ?)`, p.ID, c); err != nil {
			return err
		}
	}
	for _, g := range p.Groups {
		if _, err := t.exec(`INSERT INTO page_groups (page_id, group_id) VALUES (?, ?)`, p.ID, g); err != nil {
			return err
		}
	}
	return nil
}

func (t *tx) page(id string) (Page, error) {
	pages, err := listPages(t.ctx, t, `WHERE id = ?`, id)
	if err != nil {
		return Page{}, err
	}
	if len(pages) == 0 {
		return Page{}, &NotFoundError{Kind: "page", ID: id}
	}
	return pages[0], nil
}

// GetPage reads one page.
func (s *Store) GetPage(ctx context.Context, id string) (Page, error) {
	pages, err := listPages(ctx, s.read, `WHERE id = ?`, id)
	if err != nil {
		return Page{}, fmt.Errorf("store: get page %s: %w", id, err)
	}
	if len(pages) == 0 {
		return Page{}, fmt.Errorf("store: get page: %w", &NotFoundError{Kind: "page", ID: id})
	}
	return pages[0], nil
}

// ListPages lists the pages by slug.
func (s *Store) ListPages(ctx context.Context) ([]Page, error) {
	pages, err := listPages(ctx, s.read, "")
	if err != nil {
		return nil, fmt.Errorf("store: list pages: %w", err)
	}
	return pages, nil
}

func listPages(ctx context.Context, q querier, where string, args ...any) ([]Page, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, slug, name, host, access, ip_ranges, viewers, created_at, updated_at FROM pages `+where+` ORDER BY slug`, args...)
	if err != nil {
		return nil, err
	}
	pages := []Page{}
	byID := map[string]int{}
	for rows.Next() {
		p := Page{Components: []string{}, Groups: []string{}}
		var ranges, viewers string
		if err := rows.Scan(&p.ID, &p.Slug, &p.Name, &p.Host, &p.Access, &ranges, &viewers, &p.CreatedAt, &p.UpdatedAt); err != nil {
			rows.Close()
			return nil, err
		}
		p.IPRanges = append([]string{}, strings.Fields(ranges)...)
		p.Viewers = append([]string{}, strings.Fields(viewers)...)
		byID[p.ID] = len(pages)
		pages = append(pages, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, part := range []struct {
		query string
		add   func(*Page, string)
	}{
		{`SELECT page_id, component_id FROM page_components ORDER BY component_id`, func(p *Page, id string) { p.Components = append(p.Components, id) }},
		{`SELECT page_id, group_id FROM page_groups ORDER BY group_id`, func(p *Page, id string) { p.Groups = append(p.Groups, id) }},
	} {
		rows, err := q.QueryContext(ctx, part.query)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var pageID, id string
			if err := rows.Scan(&pageID, &id); err != nil {
				rows.Close()
				return nil, err
			}
			if i, ok := byID[pageID]; ok {
				part.add(&pages[i], id)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return pages, nil
}

// Scope is what one page shows, resolved against the components as they
// are: the one home of the rule. A page shows the components it lists and
// those of the groups it lists; an incident or a maintenance when it names
// one of those, or names no component at all (news for everyone), unless
// it is narrowed to chosen pages and this is not one of them. The default
// page shows every component but the internal ones (DefaultScope); a nil
// Scope is everything.
type Scope struct {
	page       string // the page's id, DefaultPageID for the default page
	cfg        *Page  // the page's settings; nil for the default page
	all        bool   // every component (a default page with no internal ones)
	components map[string]bool
	ids        []string
}

// DefaultPageID names the default page where pages are listed by id: in
// an incident's narrowing to chosen pages.
const DefaultPageID = "default"

// ScopeOf resolves p against the components there are.
func ScopeOf(p Page, components []Component) *Scope {
	sc := &Scope{page: p.ID, cfg: &p, components: map[string]bool{}}
	for _, c := range components {
		if p.Shows(c) {
			sc.components[c.ID] = true
			sc.ids = append(sc.ids, c.ID)
		}
	}
	return sc
}

// DefaultScope is what the default page shows: every component but the
// internal ones.
func DefaultScope(components []Component) *Scope {
	sc := &Scope{page: DefaultPageID, components: map[string]bool{}}
	sc.all = !slices.ContainsFunc(components, func(c Component) bool { return c.Internal })
	for _, c := range components {
		if !c.Internal {
			sc.components[c.ID] = true
			sc.ids = append(sc.ids, c.ID)
		}
	}
	return sc
}

// pagesShowing lists the pages (by id, "" the default page) that show a
// job touching the components comps and narrowed to narrowed (none: to no
// page in particular), resolved as the pages are now: whose subscribers
// may hear of it.
func (t *tx) pagesShowing(comps, narrowed []string) ([]string, error) {
	components, err := listComponents(t.ctx, t.sqlTx)
	if err != nil {
		return nil, err
	}
	pages, err := listPages(t.ctx, t.sqlTx, "")
	if err != nil {
		return nil, err
	}
	var out []string
	if DefaultScope(components).Shows(comps, narrowed) {
		out = append(out, "")
	}
	for _, p := range pages {
		if ScopeOf(p, components).Shows(comps, narrowed) {
			out = append(out, p.ID)
		}
	}
	return out, nil
}

// checkNarrowing validates a list of pages to narrow an incident to: each
// an existing page's id or DefaultPageID; sorted, without repeats.
func (t *tx) checkNarrowing(ids []string) ([]string, error) {
	ids = dedupe(ids)
	for _, id := range ids {
		if id == DefaultPageID {
			continue
		}
		if err := t.exists("pages", id); err != nil {
			return nil, invalid("pages", "no page %q; give pages by id, and %q for the default page", id, DefaultPageID)
		}
	}
	slices.Sort(ids)
	return ids, nil
}

// setIncidentPages narrows an incident to pages (checked here), or widens
// it again (none).
func (t *tx) setIncidentPages(id string, pages []string) error {
	return t.setNarrowing("incident_pages", "incident_id", id, pages)
}

// setMaintenancePages is setIncidentPages for a maintenance.
func (t *tx) setMaintenancePages(id string, pages []string) error {
	return t.setNarrowing("maintenance_pages", "maintenance_id", id, pages)
}

func (t *tx) setNarrowing(table, key, id string, pages []string) error {
	pages, err := t.checkNarrowing(pages)
	if err != nil {
		return err
	}
	if _, err := t.exec(`DELETE FROM `+table+` WHERE `+key+` = ?`, id); err != nil {
		return err
	}
	for _, p := range pages {
		if _, err := t.exec(`INSERT INTO `+table+` (`+key+`, page_id) VALUES (?, ?)`, id, p); err != nil {
			return err
		}
	}
	return nil
}

// PageScope is what the page with id shows ("" the default page).
func (s *Store) PageScope(ctx context.Context, id string) (*Scope, error) {
	var sc *Scope
	err := s.reading(ctx, func(q querier) error {
		components, err := listComponents(ctx, q)
		if err != nil {
			return err
		}
		if id == "" {
			sc = DefaultScope(components)
			return nil
		}
		pages, err := listPages(ctx, q, `WHERE id = ?`, id)
		if err != nil {
			return err
		}
		if len(pages) == 0 {
			return &NotFoundError{Kind: "page", ID: id}
		}
		sc = ScopeOf(pages[0], components)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: scope of page %s: %w", id, err)
	}
	return sc, nil
}

// pageScope is what the page with id shows ("" the default page); a page
// that does not exist is a field error on page_id.
func (t *tx) pageScope(id string) (*Scope, error) {
	components, err := listComponents(t.ctx, t.sqlTx)
	if err != nil {
		return nil, err
	}
	if id == "" {
		return DefaultScope(components), nil
	}
	p, err := t.page(id)
	if err != nil {
		return nil, asFieldError("page_id", err)
	}
	return ScopeOf(p, components), nil
}

// Incident is inc as the page shows it: naming only the components the
// page shows, in its list and in its updates' changes, and not the pages
// it is narrowed to. A nil Scope leaves it whole.
func (sc *Scope) Incident(inc Incident) Incident {
	if sc == nil {
		return inc
	}
	inc.Components = filterIDs(inc.Components, sc.ShowsComponent)
	inc.Pages = []string{}
	updates := make([]IncidentUpdate, len(inc.Updates))
	for i, u := range inc.Updates {
		u.AffectedComponents = slices.DeleteFunc(slices.Clone(u.AffectedComponents), func(a AffectedComponent) bool { return !sc.ShowsComponent(a.ComponentID) })
		updates[i] = u
	}
	inc.Updates = updates
	return inc
}

// Maintenance is m as the page shows it, as Incident.
func (sc *Scope) Maintenance(m Maintenance) Maintenance {
	if sc == nil {
		return m
	}
	m.Components = filterIDs(m.Components, sc.ShowsComponent)
	m.Pages = []string{}
	return m
}

func filterIDs(ids []string, keep func(string) bool) []string {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if keep(id) {
			out = append(out, id)
		}
	}
	return out
}

// ShowsNow reports whether the page shows component c as it is now (a
// change event's), which may differ from the components the scope was
// resolved against: one just made internal, or added to a group.
func (sc *Scope) ShowsNow(c Component) bool {
	switch {
	case sc == nil:
		return true
	case sc.cfg == nil:
		return !c.Internal
	}
	return sc.cfg.Shows(c)
}

// Seeing is the scope once component c is as it is now (a change event's):
// the live stream judges each event of a batch by the components as the
// events before it left them, not as the page's last snapshot saw them.
// An internal component created since then must not pass for a shown one.
// sc itself is left as it is; nil stays nil.
func (sc *Scope) Seeing(c Component) *Scope {
	if sc == nil {
		return nil
	}
	shown := sc.ShowsNow(c)
	all := sc.all
	if sc.cfg == nil {
		// The default page shows all only while no component is internal;
		// once one is, it stays a list until the next rebuild counts again.
		all = all && !c.Internal
	}
	if shown == sc.components[c.ID] && all == sc.all {
		return sc
	}
	return sc.with(c.ID, shown, all)
}

// Forgetting is the scope once the component with id is deleted.
func (sc *Scope) Forgetting(id string) *Scope {
	if sc == nil || !sc.components[id] {
		return sc
	}
	return sc.with(id, false, sc.all)
}

func (sc *Scope) with(id string, shown, all bool) *Scope {
	out := &Scope{page: sc.page, cfg: sc.cfg, all: all, components: maps.Clone(sc.components)}
	out.ids = slices.DeleteFunc(slices.Clone(sc.ids), func(x string) bool { return x == id })
	delete(out.components, id)
	if shown {
		out.components[id] = true
		out.ids = append(out.ids, id)
	}
	return out
}

// ShowsComponent reports whether the page shows the component with id.
func (sc *Scope) ShowsComponent(id string) bool { return sc == nil || sc.all || sc.components[id] }

// Shows reports whether the page shows an incident or maintenance that
// names the components affected and is narrowed to pages (none: to no
// page in particular).
func (sc *Scope) Shows(affected, pages []string) bool {
	if sc == nil {
		return true
	}
	if len(pages) > 0 && !slices.Contains(pages, sc.page) {
		return false
	}
	if sc.all || len(affected) == 0 {
		return true
	}
	for _, id := range affected {
		if sc.components[id] {
			return true
		}
	}
	return false
}

// where is Shows in SQL, for the rows of table (incidents or maintenances)
// whose links to components (and to pages, when narrowable: pagesLink
// "" when not) have key: for the lists that page through the history in
// the database.
func (sc *Scope) where(table, link, pagesLink, key string) (string, []any) {
	var args []any
	narrowed := ``
	if pagesLink != "" {
		narrowed = ` AND (NOT EXISTS (SELECT 1 FROM ` + pagesLink + ` y WHERE y.` + key + ` = ` + table + `.id) OR EXISTS (SELECT 1 FROM ` + pagesLink + ` y WHERE y.` + key + ` = ` + table + `.id AND y.page_id = ?))`
		args = append(args, sc.page)
	}
	if sc.all {
		return `TRUE` + narrowed, args
	}
	none := `NOT EXISTS (SELECT 1 FROM ` + link + ` x WHERE x.` + key + ` = ` + table + `.id)`
	if len(sc.ids) == 0 {
		return none + narrowed, args
	}
	comps := make([]any, len(sc.ids))
	for i, id := range sc.ids {
		comps[i] = id
	}
	return `(` + none + ` OR EXISTS (SELECT 1 FROM ` + link + ` x WHERE x.` + key + ` = ` + table + `.id AND x.component_id IN (` + placeholders(len(sc.ids)) + `)))` + narrowed,
		append(comps, args...)
}
