package web

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/herald-status/herald/notify"
	"github.com/herald-status/herald/store"
)

// webhookRequest registers an endpoint (POST /api/v1/webhooks).
type webhookRequest struct {
	URL         string   `json:"url"`
	Description string   `json:"description"`
	Audience    string   `json:"audience"` // subscribers (default) or team
	Events      []string `json:"events"`
	Components  []string `json:"components"`
	Format      string   `json:"format"`
}

// webhookPatchRequest changes one (PATCH /api/v1/webhooks/{id}); "paused":
// false also re-enables an endpoint Herald disabled.
type webhookPatchRequest struct {
	URL         *string   `json:"url"`
	Description *string   `json:"description"`
	Events      *[]string `json:"events"`
	Components  *[]string `json:"components"`
	Format      *string   `json:"format"`
	Paused      *bool     `json:"paused"`
}

// webhookWithSecret is the answer to create and rotate: the only time the
// secret is shown.
type webhookWithSecret struct {
	store.Webhook
	Secret string `json:"secret"`
}

// checkWebhookTarget refuses URLs the SSRF guard would not dial, at
// registration, so the mistake shows now rather than in a delivery log.
func (s *Server) checkWebhookTarget(c echo.Context, raw string) error {
	u, err := store.CheckWebhookURL(raw)
	if err != nil {
		return err
	}
	if err := s.cfg.WebhookGuard.CheckURL(c.Request().Context(), u); err != nil {
		var be *notify.BlockedError
		if errors.As(err, &be) {
			return &apiError{Status: http.StatusUnprocessableEntity, Code: "invalid_value", Field: "url", Message: "url: " + be.Error()}
		}
		return err
	}
	return nil
}

func (s *Server) apiListWebhooks(c echo.Context) error {
	list, err := s.webhooksSeen(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, nonNil(list))
}

func (s *Server) apiGetWebhook(c echo.Context) error {
	w, err := s.store.GetWebhook(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, w.SeenBy(roleOf(c)))
}

// webhooksSeen lists the webhooks as the caller may see them (a commander
// sees each URL's origin only).
func (s *Server) webhooksSeen(c echo.Context) ([]store.Webhook, error) {
	list, err := s.store.ListWebhooks(c.Request().Context())
	for i := range list {
		list[i] = list[i].SeenBy(roleOf(c))
	}
	return list, err
}

// deliveriesSeen is an endpoint's delivery log as the caller may see it.
func (s *Server) deliveriesSeen(c echo.Context, w store.Webhook, limit, offset int) ([]store.WebhookDelivery, error) {
	list, err := s.store.ListWebhookDeliveries(c.Request().Context(), w.ID, limit, offset)
	for i := range list {
		list[i] = list[i].SeenBy(roleOf(c), w.URL)
	}
	return list, err
}

func (s *Server) apiCreateWebhook(c echo.Context) error {
	var req webhookRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if err := s.checkWebhookTarget(c, req.URL); err != nil {
		return err
	}
	w, secret, err := s.store.CreateWebhook(c.Request().Context(), store.WebhookInput{
		URL: req.URL, Description: req.Description, Audience: req.Audience, Events: req.Events, Components: req.Components, Format: req.Format})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, webhookWithSecret{Webhook: w, Secret: secret})
}

func (s *Server) apiUpdateWebhook(c echo.Context) error {
	var req webhookPatchRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if req.URL != nil {
		if err := s.checkWebhookTarget(c, *req.URL); err != nil {
			return err
		}
	}
	w, err := s.store.UpdateWebhook(c.Request().Context(), c.Param("id"), store.WebhookPatch{
		URL: req.URL, Description: req.Description, Events: req.Events, Components: req.Components, Format: req.Format, Paused: req.Paused})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, w)
}

func (s *Server) apiRotateWebhookSecret(c echo.Context) error {
	w, secret, err := s.store.RotateWebhookSecret(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, webhookWithSecret{Webhook: w, Secret: secret})
}

func (s *Server) apiDeleteWebhook(c echo.Context) error {
	if err := s.store.DeleteWebhook(c.Request().Context(), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// apiWebhookDeliveries is the endpoint's delivery log, newest first.
func (s *Server) apiWebhookDeliveries(c echo.Context) error {
	limit, offset, err := pageParams(c, 50, 500)
	if err != nil {
		return err
	}
	w, err := s.store.GetWebhook(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	list, err := s.deliveriesSeen(c, w, limit, offset)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, nonNil(list))
}

// apiReplayWebhookDelivery sends a finished delivery again, with the same
// webhook-id so a receiver that did get it can tell.
func (s *Server) apiReplayWebhookDelivery(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("delivery"), 10, 64)
	if err != nil {
		return &apiError{Status: http.StatusNotFound, Code: "not_found", Message: "no such delivery"}
	}
	d, err := s.store.ReplayWebhookDelivery(c.Request().Context(), c.Param("id"), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, d)
}
