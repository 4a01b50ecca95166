package web

import (
	"context"
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/herald-status/herald/notify"
	"github.com/herald-status/herald/store"
	"github.com/herald-status/herald/templates"
	"github.com/herald-status/herald/templates/i18n"
)

// The public side of chat subscriptions: the subscribe page's chat form,
// and the pages the links in the channel's messages lead to. As with
// email, a GET never changes anything (chat tools unfurl links, and link
// scanners fetch them); the pages' buttons POST, authorised by the token.

// chatFormPage is the page a chat sign-up is for; nil when it is not
// offered there (no such page, or a page that is not public: its news must
// not be posted into a channel anyone may read).
func (s *Server) chatFormPage(c echo.Context) *sitePage {
	sp := s.pageOf(c)
	if !s.cfg.ChatSubscriptions || sp == nil || (sp.cfg != nil && sp.cfg.Access != store.AccessPublic) {
		return nil
	}
	return sp
}

// handleChatSubscribe takes the chat form. Whatever the URL's history, a
// valid URL gets the same answer; only a URL that cannot be a webhook of
// the platform chosen, or one the SSRF guard refuses, is told so.
func (s *Server) handleChatSubscribe(c echo.Context) error {
	sp := s.chatFormPage(c)
	if sp == nil {
		return s.notFoundPage(c, "error.page_not_found", "error.no_chat")
	}
	_, ctx := s.formContext(c, sp)
	form, err := c.FormParams()
	if err != nil {
		return s.subscribePage(c, http.StatusBadRequest, templates.SubscribePage{ChatError: i18n.T(ctx, "subscribe.error_form")})
	}
	in := store.ChatSubscriptionInput{URL: form.Get("chat_url"), Platform: form.Get("platform"), PageID: sp.id(), Components: form["components"], AlsoHosts: s.cfg.ChatHosts}
	again := templates.SubscribePage{ChatURL: in.URL, ChatPlatform: in.Platform, ChatSelected: map[string]bool{}}
	for _, id := range in.Components {
		again.ChatSelected[id] = true
	}
	if ok, err := s.subscribeAllowed(c); err != nil || !ok {
		if err != nil {
			return err
		}
		again.ChatError = i18n.T(ctx, "subscribe.too_many")
		return s.subscribePage(c, http.StatusTooManyRequests, again)
	}
	if msg, err := s.checkChatTarget(ctx, in); err != nil || msg != "" {
		if err != nil {
			return err
		}
		again.ChatError = msg
		return s.subscribePage(c, http.StatusUnprocessableEntity, again)
	}
	err = s.store.SubscribeChat(ctx, in)
	var ve *store.ValidationError
	if errors.As(err, &ve) {
		again.ChatError = chatFormMessage(ctx, ve)
		return s.subscribePage(c, http.StatusUnprocessableEntity, again)
	}
	if err != nil {
		return err
	}
	return s.subscribePage(c, http.StatusOK, templates.SubscribePage{ChatSubscribed: true})
}

// checkChatTarget says what is wrong with the URL a visitor pasted: its
// form (the store's rule, which SubscribeChat applies again) and then
// whether the SSRF guard lets Herald call it. "" when nothing is; said in
// ctx's language.
func (s *Server) checkChatTarget(ctx context.Context, in store.ChatSubscriptionInput) (string, error) {
	u, _, err := store.CheckChatURL(in.URL, in.Platform, in.AlsoHosts)
	var ve *store.ValidationError
	if errors.As(err, &ve) {
		return chatFormMessage(ctx, ve), nil
	}
	if err != nil {
		return "", err
	}
	if err := s.cfg.WebhookGuard.CheckURL(ctx, u); err != nil {
		var be *notify.BlockedError
		if errors.As(err, &be) {
			return i18n.T(ctx, "chat.error_blocked", i18n.Args{"Detail": be.Error()}), nil
		}
		return "", err
	}
	return "", nil
}

// chatFormMessage is a refusal as the form shows it, in ctx's language.
// The store's reason is English: English says it; the others say the
// rule in general words.
func chatFormMessage(ctx context.Context, ve *store.ValidationError) string {
	switch ve.Field {
	case "components":
		return i18n.T(ctx, "subscribe.error_components_gone")
	case "url":
		return i18n.T(ctx, "chat.error_url", i18n.Args{"Detail": ve.Message})
	case "platform":
		return i18n.T(ctx, "chat.error_platform", i18n.Args{"Detail": ve.Message})
	}
	return i18n.T(ctx, "subscribe.error_other", i18n.Args{"Detail": ve.Message})
}

func (s *Server) handleChatConfirmPage(c echo.Context) error {
	sub, err := s.store.CheckChatConfirmLink(c.Request().Context(), c.Param("token"))
	return s.chatLinkResult(c, sub, err, "confirm")
}

func (s *Server) handleChatConfirm(c echo.Context) error {
	sub, err := s.store.ConfirmChatSubscription(c.Request().Context(), c.Param("token"))
	return s.chatLinkResult(c, sub, err, "confirmed")
}

func (s *Server) handleChatUnsubscribePage(c echo.Context) error {
	sub, err := s.store.ChatByUnsubscribeLink(c.Request().Context(), c.Param("token"))
	return s.chatLinkResult(c, sub, err, "unsubscribe")
}

func (s *Server) handleChatUnsubscribe(c echo.Context) error {
	sub, err := s.store.UnsubscribeChat(c.Request().Context(), c.Param("token"))
	return s.chatLinkResult(c, sub, err, "unsubscribed")
}

// chatLinkResult renders the page for a link: step, or why the link does
// not work (forged 404, expired 410, used already 409).
func (s *Server) chatLinkResult(c echo.Context, sub store.ChatSubscription, err error, step string) error {
	status := http.StatusOK
	switch {
	case errors.Is(err, store.ErrBadLink):
		step, status = "invalid", http.StatusNotFound
	case errors.Is(err, store.ErrLinkExpired):
		step, status = "expired", http.StatusGone
	case errors.Is(err, store.ErrLinkUsed):
		step, status = "used", http.StatusConflict
	case err != nil:
		return err
	}
	h := c.Response().Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "private, no-store")
	h.Set("Referrer-Policy", "no-referrer") // the token is in the URL
	c.Response().WriteHeader(status)
	site, ctx := s.heraldSite(c)
	return templates.ChatSubscription(templates.ChatSubscriptionPage{Site: site, Token: c.Param("token"), Sub: sub, Step: step}).
		Render(ctx, c.Response())
}

// heraldSite is the site a chat or text message link's page wears,
// Herald's own (a link is not a page's, and a page's host must not show
// its name to just anyone), and the context to render it in: in the
// language the visitor reads the request's page in, with its choice.
func (s *Server) heraldSite(c echo.Context) (templates.Site, context.Context) {
	sp := s.pageOf(c)
	if sp == nil {
		sp = s.main
	}
	site := s.site
	if snap := sp.snap.Load(); snap != nil {
		site.Languages = snap.site.Languages
	}
	return site, i18n.With(c.Request().Context(), s.formLanguage(c, sp))
}

// consoleRemoveChatSubscription removes a visitor's chat subscription.
func (s *Server) consoleRemoveChatSubscription(c echo.Context) error {
	if err := s.store.DeleteChatSubscription(c.Request().Context(), c.Param("id")); err != nil {
		return err
	}
	return done(c, "/console/subscribers", "chat-subscription-removed")
}
