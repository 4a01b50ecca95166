package web

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/herald-status/herald/notify/twiliosig"
	"github.com/herald-status/herald/store"
	"github.com/herald-status/herald/templates"
	"github.com/herald-status/herald/templates/i18n"
)

// The public side of SMS subscriptions: the subscribe page's phone form
// and its code form, the stop link every message carries, and Twilio's
// inbound webhook, by which a reply STOP stops. The forms answer alike
// whether or not a number is known.

// smsFormPage is the page a phone sign-up is for; nil when it is not
// offered there (no SMS provider, no such page, or a page that is not
// public: a number cannot show it is one of the page's people).
func (s *Server) smsFormPage(c echo.Context) *sitePage {
	sp := s.pageOf(c)
	if !s.cfg.SMS || sp == nil || (sp.cfg != nil && sp.cfg.Access != store.AccessPublic) {
		return nil
	}
	return sp
}

// handleSMSSubscribe takes the phone form: a number that is one gets the
// code form, whatever its history (SubscribeSMS sends the code, or not).
func (s *Server) handleSMSSubscribe(c echo.Context) error {
	sp := s.smsFormPage(c)
	if sp == nil {
		return s.notFoundPage(c, "error.page_not_found", "error.no_sms")
	}
	_, ctx := s.formContext(c, sp)
	form, err := c.FormParams()
	if err != nil {
		return s.subscribePage(c, http.StatusBadRequest, templates.SubscribePage{SMSError: i18n.T(ctx, "subscribe.error_form")})
	}
	in := store.SMSSubscriberInput{Phone: form.Get("phone"), PageID: sp.id(), Components: form["components"]}
	again := templates.SubscribePage{Phone: in.Phone, Selected: map[string]bool{}}
	for _, id := range in.Components {
		again.Selected[id] = true
	}
	if ok, err := s.subscribeAllowed(c); err != nil || !ok {
		if err != nil {
			return err
		}
		again.SMSError = i18n.T(ctx, "subscribe.too_many")
		return s.subscribePage(c, http.StatusTooManyRequests, again)
	}
	err = s.store.SubscribeSMS(ctx, in)
	var ve *store.ValidationError
	if errors.As(err, &ve) {
		again.SMSError = smsFormMessage(ctx, ve)
		return s.subscribePage(c, http.StatusUnprocessableEntity, again)
	}
	if err != nil {
		return err
	}
	phone, _ := store.CheckPhone(in.Phone)
	return s.subscribePage(c, http.StatusOK, templates.SubscribePage{SMSCode: true, Phone: phone})
}

// handleSMSConfirm takes the code form.
func (s *Server) handleSMSConfirm(c echo.Context) error {
	sp := s.smsFormPage(c)
	if sp == nil {
		return s.notFoundPage(c, "error.page_not_found", "error.no_sms")
	}
	_, ctx := s.formContext(c, sp)
	form, err := c.FormParams()
	if err != nil {
		return s.subscribePage(c, http.StatusBadRequest, templates.SubscribePage{SMSError: i18n.T(ctx, "subscribe.error_form")})
	}
	phone := form.Get("phone")
	again := templates.SubscribePage{SMSCode: true, Phone: phone}
	if ok, err := s.formAllowed(c, "sms-code"); err != nil || !ok {
		if err != nil {
			return err
		}
		again.SMSError = i18n.T(ctx, "subscribe.too_many")
		return s.subscribePage(c, http.StatusTooManyRequests, again)
	}
	sub, err := s.store.ConfirmSMS(ctx, sp.id(), phone, form.Get("code"))
	var ve *store.ValidationError
	if errors.As(err, &ve) {
		if ve.Field == "phone" { // the hidden field was tampered with: start again
			return s.subscribePage(c, http.StatusUnprocessableEntity, templates.SubscribePage{Phone: phone, SMSError: smsFormMessage(ctx, ve)})
		}
		again.SMSError = smsFormMessage(ctx, ve)
		return s.subscribePage(c, http.StatusUnprocessableEntity, again)
	}
	if err != nil {
		return err
	}
	return s.subscribePage(c, http.StatusOK, templates.SubscribePage{SMSConfirmed: true, Phone: sub.Phone})
}

// smsFormMessage is a refusal as the forms show it, in ctx's language
// (the store's reason in English; general words in the others).
func smsFormMessage(ctx context.Context, ve *store.ValidationError) string {
	switch ve.Field {
	case "components":
		return i18n.T(ctx, "subscribe.error_components_gone")
	case "phone":
		return i18n.T(ctx, "sms.error_phone", i18n.Args{"Detail": ve.Message})
	case "code":
		return i18n.T(ctx, "sms.error_code", i18n.Args{"Detail": ve.Message})
	}
	return i18n.T(ctx, "subscribe.error_other", i18n.Args{"Detail": ve.Message})
}

func (s *Server) handleSMSStopPage(c echo.Context) error {
	sub, err := s.store.SMSByStopLink(c.Request().Context(), c.Param("token"))
	return s.smsStopResult(c, sub, err, "stop")
}

func (s *Server) handleSMSStop(c echo.Context) error {
	sub, err := s.store.StopSMSByLink(c.Request().Context(), c.Param("token"))
	return s.smsStopResult(c, sub, err, "stopped")
}

func (s *Server) smsStopResult(c echo.Context, sub store.SMSSubscriber, err error, step string) error {
	status := http.StatusOK
	switch {
	case errors.Is(err, store.ErrBadLink):
		step, status = "invalid", http.StatusNotFound
	case err != nil:
		return err
	}
	c.Response().Header().Set("Content-Type", "text/html; charset=utf-8")
	c.Response().Header().Set("Cache-Control", "private, no-store")
	c.Response().WriteHeader(status)
	site, ctx := s.heraldSite(c)
	return templates.SMSStop(templates.SMSStopPage{Site: site, Token: c.Param("token"), Sub: sub, Step: step}).Render(ctx, c.Response())
}

// smsStopWords are the replies that stop, as carriers and Twilio's own
// opt-out handling know them.
var smsStopWords = []string{"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"}

// handleTwilioInbound is Twilio's messaging webhook. Its X-Twilio-Signature
// is checked as Twilio documents it, over the URL Twilio requested: the
// --base-url Herald is reached at (behind --trust-proxy, a proxy's own
// address is not it) and this path. A bad or missing signature gets 403 and
// changes nothing. A reply STOP (or its synonyms) stops every subscription
// of the number; any other message is ignored. The answer is empty TwiML:
// Twilio itself confirms an opt-out to the sender.
func (s *Server) handleTwilioInbound(c echo.Context) error {
	if s.cfg.TwilioAuthToken == "" {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	req := c.Request()
	if err := req.ParseForm(); err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, "the form could not be read")
	}
	u := strings.TrimRight(s.cfg.BaseURL, "/") + req.URL.RequestURI()
	if !twiliosig.Check(s.cfg.TwilioAuthToken, u, req.PostForm, req.Header.Get("X-Twilio-Signature")) {
		s.log.Warn("twilio inbound webhook refused: bad or missing X-Twilio-Signature", "url", u, "ip", c.RealIP())
		return echo.NewHTTPError(http.StatusForbidden, "bad or missing X-Twilio-Signature")
	}
	word := strings.ToUpper(strings.TrimSpace(req.PostForm.Get("Body")))
	for _, w := range smsStopWords {
		if word != w {
			continue
		}
		n, err := s.store.StopSMSNumber(req.Context(), req.PostForm.Get("From"))
		var ve *store.ValidationError
		if err != nil && !errors.As(err, &ve) { // a sender that is no number stops nothing
			return err
		}
		s.log.Info("sms stopped by reply", "subscriptions", n)
		break
	}
	return c.Blob(http.StatusOK, "text/xml; charset=utf-8", []byte(`<?xml version="1.0" encoding="UTF-8"?><Response></Response>`))
}

// consoleRemoveSMSSubscriber removes an SMS subscriber (an admin's call).
func (s *Server) consoleRemoveSMSSubscriber(c echo.Context) error {
	if err := s.store.DeleteSMSSubscriber(c.Request().Context(), c.Param("id")); err != nil {
		return err
	}
	return done(c, "/console/subscribers", "sms-subscriber-removed")
}
