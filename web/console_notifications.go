package web

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/herald-status/herald/store"
	"github.com/herald-status/herald/templates"
)

// The console's subscriber and webhook pages (issue 5). Commanders read
// them; changes are for admins (routes.go). Every change goes through the
// same store calls and checks as the JSON API in api_subscribers.go and
// api_webhooks.go.

// subscribersPerPage is one page of the console's subscriber list.
const subscribersPerPage = 50

// deliveriesPerPage is one page of a webhook's delivery log.
const deliveriesPerPage = 50

// pageNumber reads ?page= (1 and up); anything else is page 1.
func pageNumber(c echo.Context) int {
	n, err := strconv.Atoi(c.QueryParam("page"))
	if err != nil || n < 1 {
		return 1
	}
	return n
}

// pageURL is path with the query q and the page n.
func pageURL(path string, q url.Values, n int) string {
	v := url.Values{}
	for k, vs := range q {
		if k != "page" && k != "msg" {
			v[k] = vs
		}
	}
	if n > 1 {
		v.Set("page", strconv.Itoa(n))
	}
	if len(v) == 0 {
		return path
	}
	return path + "?" + v.Encode()
}

func (s *Server) subscribersPage(c echo.Context, status int, view templates.SubscribersPage) error {
	ctx := c.Request().Context()
	q := c.Request().URL.Query()
	view.Console = s.consoleView(c, "subscribers")
	view.Search = q.Get("q")
	f := store.SubscriberFilter{Email: view.Search, Status: store.SubscriberStatus(q.Get("status"))}
	if f.Status != "" && !f.Status.Valid() {
		view.FilterError = "Choose a status from the list."
		f.Status = ""
	}
	view.Status = f.Status
	page := pageNumber(c)
	f.Limit, f.Offset = subscribersPerPage+1, (page-1)*subscribersPerPage
	list, err := s.store.ListSubscribers(ctx, f)
	if err != nil {
		return err
	}
	if len(list) > subscribersPerPage {
		list = list[:subscribersPerPage]
		view.Next = pageURL("/console/subscribers", q, page+1)
	}
	if page > 1 {
		view.Prev = pageURL("/console/subscribers", q, page-1)
	}
	view.Subscribers = list
	if view.ChatSubscriptions, err = s.store.ListChatSubscriptions(ctx); err != nil {
		return err
	}
	if view.SMSSubscribers, err = s.store.ListSMSSubscribers(ctx); err != nil {
		return err
	}
	if view.SMS, err = s.store.SMSTotals(ctx); err != nil {
		return err
	}
	pages, err := s.store.ListPages(ctx)
	if err != nil {
		return err
	}
	view.PageNames = map[string]string{}
	for _, pg := range pages {
		view.PageNames[pg.ID] = pg.Name
	}
	checked := map[string]bool{}
	for _, id := range view.New.Components {
		checked[id] = true
	}
	if view.Groups, view.Components, err = s.choiceGroups(ctx, nil, checked); err != nil {
		return err
	}
	if view.Pages, err = s.store.ListPages(ctx); err != nil {
		return err
	}
	return s.render(c, status, templates.Subscribers(view))
}

func (s *Server) consoleSubscribers(c echo.Context) error {
	return s.subscribersPage(c, http.StatusOK, templates.SubscribersPage{})
}

func (s *Server) consoleAddSubscriber(c echo.Context) error {
	form, err := c.FormParams()
	if err != nil {
		return err
	}
	in := store.SubscriberInput{PageID: form.Get("page_id"), Email: form.Get("email"), Components: form["components"], Confirmed: form.Get("confirmed") == "on"}
	if _, err := s.store.AddSubscriber(c.Request().Context(), in); err != nil {
		errs, err := formErrors(err, templates.SubscriberLabels, "")
		if err != nil {
			return err
		}
		return s.subscribersPage(c, http.StatusUnprocessableEntity, templates.SubscribersPage{New: in, Errors: errs})
	}
	return done(c, "/console/subscribers", "subscriber-added")
}

func (s *Server) subscriberForm(c echo.Context, status int, sub store.Subscriber, errs templates.FormErrors) error {
	_, byID, err := s.componentGroups(c.Request().Context())
	if err != nil {
		return err
	}
	pages, err := s.store.ListPages(c.Request().Context())
	if err != nil {
		return err
	}
	return s.render(c, status, templates.SubscriberView(templates.SubscriberPage{
		Console: s.consoleView(c, "subscribers"), Subscriber: sub, Components: byID, Errors: errs, Pages: pages}))
}

func (s *Server) consoleSubscriber(c echo.Context) error {
	sub, err := s.store.GetSubscriber(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return s.subscriberForm(c, http.StatusOK, sub, nil)
}

func (s *Server) consoleRemoveSubscriber(c echo.Context) error {
	ctx := c.Request().Context()
	sub, err := s.store.GetSubscriber(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	if c.FormValue("confirm") != "yes" {
		return s.subscriberForm(c, http.StatusUnprocessableEntity, sub, templates.FormErrors{"confirm": "Tick the box to confirm the removal."})
	}
	if err := s.store.DeleteSubscriber(ctx, sub.ID); err != nil {
		return err
	}
	return done(c, "/console/subscribers", "subscriber-removed")
}

// webhookInput is what the register form sent.
func webhookInput(c echo.Context) (store.WebhookInput, error) {
	form, err := c.FormParams()
	if err != nil {
		return store.WebhookInput{}, err
	}
	// Each audience has its own event boxes; the chosen audience's count.
	audience := form.Get("audience")
	events := form["events"]
	if audience == store.AudienceTeam {
		events = form["team_events"]
	}
	return store.WebhookInput{URL: form.Get("url"), Description: form.Get("description"), Audience: audience, Events: events,
		Components: form["components"], Format: form.Get("format")}, nil
}

// webhookFormErrors is formErrors that also knows the SSRF guard's refusal,
// which checkWebhookTarget reports as the API's error against "url".
func webhookFormErrors(err error) (templates.FormErrors, error) {
	var ae *apiError
	if errors.As(err, &ae) && ae.Status == http.StatusUnprocessableEntity && ae.Field != "" {
		return templates.FormErrors{ae.Field: templates.WebhookLabels.Message(ae.Field, strings.TrimPrefix(ae.Message, ae.Field+": "))}, nil
	}
	return formErrors(err, templates.WebhookLabels, "")
}

func (s *Server) webhooksPage(c echo.Context, status int, view templates.WebhooksPage) error {
	ctx := c.Request().Context()
	list, err := s.webhooksSeen(c)
	if err != nil {
		return err
	}
	checked := map[string]bool{}
	for _, id := range view.New.Components {
		checked[id] = true
	}
	view.Console, view.Webhooks, view.Events, view.TeamEvents = s.consoleView(c, "webhooks"), list, store.JobKinds, store.TeamJobKinds
	if view.Groups, view.Components, err = s.choiceGroups(ctx, nil, checked); err != nil {
		return err
	}
	return s.render(c, status, templates.Webhooks(view))
}

func (s *Server) consoleWebhooks(c echo.Context) error {
	return s.webhooksPage(c, http.StatusOK, templates.WebhooksPage{})
}

func (s *Server) consoleCreateWebhook(c echo.Context) error {
	in, err := webhookInput(c)
	if err != nil {
		return err
	}
	err = s.checkWebhookTarget(c, in.URL)
	var w store.Webhook
	var secret string
	if err == nil {
		w, secret, err = s.store.CreateWebhook(c.Request().Context(), in)
	}
	if err != nil {
		errs, err := webhookFormErrors(err)
		if err != nil {
			return err
		}
		return s.webhooksPage(c, http.StatusUnprocessableEntity, templates.WebhooksPage{New: in, Errors: errs})
	}
	// The secret is on this response only (no-store), never again.
	return s.webhookPage(c, http.StatusCreated, w, templates.WebhookPage{Secret: secret, Created: true})
}

func (s *Server) webhookPage(c echo.Context, status int, w store.Webhook, view templates.WebhookPage) error {
	ctx := c.Request().Context()
	page := pageNumber(c)
	list, err := s.deliveriesSeen(c, w, deliveriesPerPage+1, (page-1)*deliveriesPerPage)
	if err != nil {
		return err
	}
	w = w.SeenBy(roleOf(c))
	path := "/console/webhooks/" + w.ID
	if len(list) > deliveriesPerPage {
		list = list[:deliveriesPerPage]
		view.Older = pageURL(path, nil, page+1)
	}
	if page > 1 {
		view.Newer = pageURL(path, nil, page-1)
	}
	_, byID, err := s.componentGroups(ctx)
	if err != nil {
		return err
	}
	view.Console, view.Webhook, view.Deliveries, view.Components = s.consoleView(c, "webhooks"), w, list, byID
	return s.render(c, status, templates.WebhookView(view))
}

func (s *Server) consoleWebhook(c echo.Context) error {
	w, err := s.store.GetWebhook(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return s.webhookPage(c, http.StatusOK, w, templates.WebhookPage{})
}

func (s *Server) setWebhookPaused(c echo.Context, paused bool, flash string) error {
	w, err := s.store.UpdateWebhook(c.Request().Context(), c.Param("id"), store.WebhookPatch{Paused: &paused})
	if err != nil {
		return err
	}
	return done(c, "/console/webhooks/"+w.ID, flash)
}

func (s *Server) consolePauseWebhook(c echo.Context) error {
	return s.setWebhookPaused(c, true, "webhook-paused")
}

func (s *Server) consoleResumeWebhook(c echo.Context) error {
	return s.setWebhookPaused(c, false, "webhook-resumed")
}

func (s *Server) consoleRotateWebhookSecret(c echo.Context) error {
	w, secret, err := s.store.RotateWebhookSecret(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return s.webhookPage(c, http.StatusOK, w, templates.WebhookPage{Secret: secret})
}

func (s *Server) consoleDeleteWebhook(c echo.Context) error {
	ctx := c.Request().Context()
	w, err := s.store.GetWebhook(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	if c.FormValue("confirm") != "yes" {
		return s.webhookPage(c, http.StatusUnprocessableEntity, w, templates.WebhookPage{Errors: templates.FormErrors{"confirm": "Tick the box to confirm the deletion."}})
	}
	if err := s.store.DeleteWebhook(ctx, w.ID); err != nil {
		return err
	}
	return done(c, "/console/webhooks", "webhook-deleted")
}

func (s *Server) consoleReplayDelivery(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("delivery"), 10, 64)
	if err != nil {
		return &apiError{Status: http.StatusNotFound, Code: "not_found", Message: "no such delivery"}
	}
	if _, err := s.store.ReplayWebhookDelivery(c.Request().Context(), c.Param("id"), id); err != nil {
		return err
	}
	return done(c, "/console/webhooks/"+c.Param("id"), "delivery-replayed")
}
