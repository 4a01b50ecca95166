package web

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/herald-status/herald/store"
	"github.com/herald-status/herald/templates"
	"github.com/herald-status/herald/templates/i18n"
)

// The public side of email subscriptions: the subscribe form, and the pages
// the links in every email lead to. Links carry a token and no cookie, so
// there is nothing for a forged cross-site form to ride on. A GET never
// changes anything (mail scanners fetch links); the pages' buttons POST.

// linkPage lets a subscription link through on its subscriber's page
// alone: each page's emails link to that page, and a link taken to another
// is as good as a mistyped one. A page that does not exist is not found.
func (s *Server) linkPage(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		sp := s.pageOf(c)
		if sp == nil {
			return s.notFoundPage(c, "error.page_not_found", "error.no_status_page")
		}
		c.Set(ctxPage, sp)
		// The token is in the URL: no cache keeps what it opens, errors
		// included.
		c.Response().Header().Set("Cache-Control", "private, no-store")
		id, _, _ := strings.Cut(c.Param("token"), ".")
		sub, err := s.store.GetSubscriber(c.Request().Context(), id)
		switch {
		case err == nil && sub.PageID != sp.id():
			return s.subscriptionPage(c, templates.SubscriptionPage{Step: "invalid"})
		case err != nil && !errors.Is(err, store.ErrNotFound):
			return err
		}
		return next(c) // the store judges the token itself
	}
}

// ctxFormLang is the language the subscribe flow speaks on a request,
// decided once (formLanguage): what a handler says and the page it
// renders must agree.
const ctxFormLang = "herald.form_lang"

// formLanguage is the language of the subscribe flow's pages on this
// request: a subscriber's own (speakAs), else the visitor's among those
// page sp offers (pageLanguage), else its default.
func (s *Server) formLanguage(c echo.Context, sp *sitePage) string {
	if l, ok := c.Get(ctxFormLang).(string); ok {
		return l
	}
	l := i18n.Default
	if snap := sp.snap.Load(); snap != nil {
		l, _ = pageLanguage(c, snap)
	}
	c.Set(ctxFormLang, l)
	return l
}

// speakAs makes the rest of the request speak lang, a subscriber's choice
// for their emails, when they made one: the pages their links open are in
// it, whatever the browser asks for.
func speakAs(c echo.Context, lang string) {
	if i18n.Shipped(lang) {
		c.Set(ctxFormLang, lang)
	}
}

// formContext is formSite's context in the request's language: what the
// subscribe flow's pages render in, and handlers translate their
// messages in.
func (s *Server) formContext(c echo.Context, sp *sitePage) (templates.Site, context.Context) {
	site, ctx := s.formSite(c, sp)
	return site, i18n.With(ctx, s.formLanguage(c, sp))
}

func (s *Server) subscribePage(c echo.Context, status int, p templates.SubscribePage) error {
	sp := s.pageOf(c)
	var ctx context.Context
	p.Site, ctx = s.formContext(c, sp)
	p.EmailOffered = s.cfg.Subscriptions
	if p.Language == "" {
		p.Language = i18n.Lang(ctx)
	}
	if chat := s.chatFormPage(c); chat != nil {
		p.ChatAction = chat.root + "/subscribe/chat"
	}
	if sms := s.smsFormPage(c); sms != nil {
		p.SMSAction = sms.root + "/subscribe/sms"
	}
	if p.Groups == nil && !p.Subscribed && !p.ChatSubscribed {
		groups, err := s.subscribableGroups(c)
		if err != nil {
			return err
		}
		p.Groups = groups
	}
	c.Response().Header().Set("Content-Type", "text/html; charset=utf-8")
	c.Response().Header().Set("Cache-Control", "private, no-store")
	c.Response().WriteHeader(status)
	return templates.Subscribe(p).Render(ctx, c.Response())
}

// subscribableGroups lists the components the request's page shows, as it
// groups them, for the forms.
func (s *Server) subscribableGroups(c echo.Context) ([]templates.GroupView, error) {
	ctx := c.Request().Context()
	groups, err := s.store.ListComponentGroups(ctx)
	if err != nil {
		return nil, err
	}
	comps, err := s.store.ListComponents(ctx)
	if err != nil {
		return nil, err
	}
	sc := store.DefaultScope(comps)
	if sp := s.pageOf(c); sp != nil && sp.cfg != nil {
		sc = store.ScopeOf(*sp.cfg, comps)
	}
	comps = slices.DeleteFunc(comps, func(c store.Component) bool { return !sc.ShowsComponent(c.ID) })
	return withComponents(groupViews(groups, comps, nil)), nil
}

func (s *Server) handleSubscribeForm(c echo.Context) error {
	if s.pageOf(c) == nil || (!s.cfg.Subscriptions && s.chatFormPage(c) == nil && s.smsFormPage(c) == nil) {
		return s.notFoundPage(c, "error.page_not_found", "error.no_subscriptions")
	}
	return s.subscribePage(c, http.StatusOK, templates.SubscribePage{})
}

// handleSubscribe takes the form. Whatever the address's history, a valid
// address gets the same answer; only a malformed one is told so.
func (s *Server) handleSubscribe(c echo.Context) error {
	sp := s.pageOf(c)
	if !s.cfg.Subscriptions || sp == nil {
		return s.notFoundPage(c, "error.page_not_found", "error.no_email")
	}
	_, ctx := s.formContext(c, sp)
	allowed, err := s.subscribeAllowed(c)
	if err != nil {
		return err
	}
	if !allowed {
		return s.subscribePage(c, http.StatusTooManyRequests, templates.SubscribePage{Email: c.FormValue("email"), Error: i18n.T(ctx, "subscribe.too_many")})
	}
	form, err := c.FormParams()
	if err != nil {
		return s.subscribePage(c, http.StatusBadRequest, templates.SubscribePage{Error: i18n.T(ctx, "subscribe.error_form")})
	}
	email, comps, lang := form.Get("email"), form["components"], form.Get("language")
	selected := map[string]bool{}
	for _, id := range comps {
		selected[id] = true
	}
	again := templates.SubscribePage{Email: email, Selected: selected, Language: lang}
	if !s.offersLanguage(sp, lang) {
		// Only a language the page offers; the store knows only the shipped.
		again.Language, again.Error = "", i18n.T(ctx, "subscribe.error_language")
		return s.subscribePage(c, http.StatusUnprocessableEntity, again)
	}
	err = s.store.SubscribeEmail(ctx, store.SubscriberInput{PageID: sp.id(), Email: email, Components: comps, Language: lang})
	var ve *store.ValidationError
	if errors.As(err, &ve) {
		again.Error = i18n.T(ctx, "subscribe.error_email")
		switch ve.Field {
		case "components":
			again.Error = i18n.T(ctx, "subscribe.error_components")
		case "language":
			again.Language, again.Error = "", i18n.T(ctx, "subscribe.error_language")
		}
		return s.subscribePage(c, http.StatusUnprocessableEntity, again)
	}
	if err != nil {
		return err
	}
	return s.subscribePage(c, http.StatusOK, templates.SubscribePage{Email: email, Subscribed: true})
}

// offersLanguage reports whether page sp offers lang for its emails ("" is
// its default, always offered).
func (s *Server) offersLanguage(sp *sitePage, lang string) bool {
	snap := sp.snap.Load()
	return lang == "" || snap == nil || slices.Contains(snap.site.Languages, lang)
}

// subscribeAllowed counts a sign-up, by email or chat, against the client's
// address: one allowance for both forms, so that neither is a way around
// the other. When it is spent it sets Retry-After.
func (s *Server) subscribeAllowed(c echo.Context) (bool, error) { return s.formAllowed(c, "subscribe") }

// formAllowed is subscribeAllowed for one form's own budget (kind): the
// SMS code form's tries do not use up the sign-ups'.
func (s *Server) formAllowed(c echo.Context, kind string) (bool, error) {
	const window = 10 * time.Minute
	ok, err := s.store.Attempt(c.Request().Context(), store.Limit{Key: kind + ":" + clientKey(c), Max: s.cfg.SubscribeLimit, Window: window})
	if err == nil && !ok {
		c.Response().Header().Set("Retry-After", strconv.Itoa(int(window.Seconds())))
	}
	return ok, err
}

// subscriptionPage renders a link page; an invalid link gets 404, an
// expired one 410.
func (s *Server) subscriptionPage(c echo.Context, p templates.SubscriptionPage) error {
	sp := s.pageOf(c)
	var ctx context.Context
	p.Site, ctx = s.formContext(c, sp)
	status := http.StatusOK
	switch p.Step {
	case "invalid":
		status = http.StatusNotFound
	case "expired":
		status = http.StatusGone
	}
	if status != http.StatusOK && sp.private() && !s.admitsQuietly(c, sp) {
		// A link that names no subscriber of the page is no key to it:
		// the answer wears the default page's name.
		site, _ := s.formSite(c, s.main)
		p.Site, ctx = site, i18n.With(templates.WithRoot(c.Request().Context(), s.main.root), i18n.Lang(ctx))
	}
	if p.Error != "" { // a refused form: the link itself is good
		status = http.StatusUnprocessableEntity
	}
	if p.Language == "" {
		p.Language = p.Subscriber.Language
	}
	if p.Language == "" && len(p.Site.Languages) > 0 {
		p.Language = p.Site.Languages[0]
	}
	if p.Step == "manage" || p.Step == "saved" || p.Step == "language-saved" {
		groups, err := s.subscribableGroups(c)
		if err != nil {
			return err
		}
		p.Groups = groups
	}
	h := c.Response().Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "private, no-store")
	// The token is in the URL: keep it out of Referer headers to other sites.
	h.Set("Referrer-Policy", "no-referrer")
	c.Response().WriteHeader(status)
	return templates.Subscription(p).Render(ctx, c.Response())
}

// badLinkPage renders the page for a link the store refused (ok false for
// any other error).
func (s *Server) badLinkPage(c echo.Context, err error) (bool, error) {
	switch {
	case errors.Is(err, store.ErrBadLink):
		return true, s.subscriptionPage(c, templates.SubscriptionPage{Step: "invalid"})
	case errors.Is(err, store.ErrLinkExpired):
		return true, s.subscriptionPage(c, templates.SubscriptionPage{Step: "expired"})
	}
	return false, nil
}

// linkResult renders the outcome of a store call made from a link.
func (s *Server) linkResult(c echo.Context, sub store.Subscriber, err error, step string) error {
	if bad, perr := s.badLinkPage(c, err); bad {
		return perr
	}
	if err != nil {
		return err
	}
	speakAs(c, sub.Language)
	return s.subscriptionPage(c, templates.SubscriptionPage{Token: c.Param("token"), Subscriber: sub, Step: step})
}

func (s *Server) handleConfirmPage(c echo.Context) error {
	token := c.Param("token")
	if err := s.store.CheckConfirmLink(c.Request().Context(), token); err != nil {
		if bad, perr := s.badLinkPage(c, err); bad {
			return perr
		}
		return err
	}
	id, _, _ := strings.Cut(token, ".")
	sub, err := s.store.GetSubscriber(c.Request().Context(), id)
	if err != nil {
		return err
	}
	speakAs(c, sub.Language)
	if sub.Status == store.SubscriberConfirmed {
		return s.confirmedPage(c, sub)
	}
	return s.subscriptionPage(c, templates.SubscriptionPage{Token: token, Subscriber: sub, Step: "confirm"})
}

func (s *Server) handleConfirm(c echo.Context) error {
	sub, err := s.store.ConfirmSubscription(c.Request().Context(), c.Param("token"))
	if bad, perr := s.badLinkPage(c, err); bad {
		return perr
	}
	if err != nil {
		return err
	}
	return s.confirmedPage(c, sub)
}

// confirmedPage links to preferences with the manage token, which the
// confirmation link (a different token) does not carry.
func (s *Server) confirmedPage(c echo.Context, sub store.Subscriber) error {
	manage, _, err := s.store.SubscriberLinks(c.Request().Context(), sub.ID)
	if err != nil {
		return err
	}
	speakAs(c, sub.Language)
	return s.subscriptionPage(c, templates.SubscriptionPage{Token: manage, Subscriber: sub, Step: "confirmed"})
}

func (s *Server) handleManagePage(c echo.Context) error {
	sub, err := s.store.SubscriberByLink(c.Request().Context(), c.Param("token"))
	return s.linkResult(c, sub, err, "manage")
}

// handleManage saves preferences, or turns an unsubscribed address back on.
func (s *Server) handleManage(c echo.Context) error {
	ctx, token := c.Request().Context(), c.Param("token")
	form, err := c.FormParams()
	if err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, "the form could not be read")
	}
	switch form.Get("action") {
	case "resubscribe":
		sub, err := s.store.Resubscribe(ctx, token)
		return s.linkResult(c, sub, err, "saved")
	case "save":
		sub, err := s.store.SetSubscriptionPreferences(ctx, token, store.SubscriptionPreferences{
			Components: form["components"], MaintenanceReminders: form.Get("maintenance_reminders") == "on"})
		var ve *store.ValidationError
		if errors.As(err, &ve) {
			sub, err = s.store.SubscriberByLink(ctx, token)
			if err == nil {
				return s.refuseManage(c, sub, "subscribe.error_components")
			}
		}
		return s.linkResult(c, sub, err, "saved")
	case "language":
		lang := form.Get("language")
		if !s.offersLanguage(s.pageOf(c), lang) {
			// Told before the store is asked, which would take any shipped
			// language: the page offers its subscribers only its own.
			sub, err := s.store.SubscriberByLink(ctx, token)
			if err != nil {
				return s.linkResult(c, sub, err, "manage")
			}
			return s.refuseManage(c, sub, "subscribe.error_language")
		}
		sub, err := s.store.SetSubscriberLanguage(ctx, token, lang)
		var ve *store.ValidationError
		if errors.As(err, &ve) {
			if sub, err = s.store.SubscriberByLink(ctx, token); err == nil {
				return s.refuseManage(c, sub, "subscribe.error_language")
			}
		}
		return s.linkResult(c, sub, err, "language-saved")
	}
	// No action this form sends: a bad link is told so first.
	if _, err := s.store.SubscriberByLink(ctx, token); err != nil {
		if bad, perr := s.badLinkPage(c, err); bad {
			return perr
		}
		return err
	}
	return echo.NewHTTPError(http.StatusBadRequest, "unknown action")
}

// refuseManage shows the preferences again, saying (message id) why what
// was asked was not done, in the subscriber's language.
func (s *Server) refuseManage(c echo.Context, sub store.Subscriber, id string) error {
	speakAs(c, sub.Language)
	_, ctx := s.formContext(c, s.pageOf(c))
	return s.subscriptionPage(c, templates.SubscriptionPage{Token: c.Param("token"), Subscriber: sub, Step: "manage", Error: i18n.T(ctx, id)})
}

func (s *Server) handleUnsubscribePage(c echo.Context) error {
	sub, err := s.store.SubscriberByLink(c.Request().Context(), c.Param("token"))
	return s.linkResult(c, sub, err, "unsubscribe")
}

// handleUnsubscribe serves both the page's button and RFC 8058 one-click
// unsubscription: a mail provider POSTs "List-Unsubscribe=One-Click" to the
// List-Unsubscribe URL, with no cookie and no confirmation step.
func (s *Server) handleUnsubscribe(c echo.Context) error {
	sub, err := s.store.Unsubscribe(c.Request().Context(), c.Param("token"))
	return s.linkResult(c, sub, err, "unsubscribed")
}
