package web

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/herald-status/herald/store"
)

// subscriberRequest adds a subscriber (POST /api/v1/subscribers).
// "confirmed": true skips double opt-in, for imports of a list whose
// addresses confirmed elsewhere.
type subscriberRequest struct {
	PageID     string   `json:"page_id"` // "" the default page
	Email      string   `json:"email"`
	Components []string `json:"components"`
	Confirmed  bool     `json:"confirmed"`
}

func (s *Server) apiListSubscribers(c echo.Context) error {
	f := store.SubscriberFilter{Status: store.SubscriberStatus(c.QueryParam("status")), Email: c.QueryParam("email")}
	if f.Status != "" && !f.Status.Valid() {
		return badRequest("invalid_value", "status", "status must be one of pending, confirmed, unsubscribed, suspended")
	}
	var err error
	if f.Limit, f.Offset, err = pageParams(c, 100, 1000); err != nil {
		return err
	}
	list, err := s.store.ListSubscribers(c.Request().Context(), f)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, nonNil(list))
}

func (s *Server) apiGetSubscriber(c echo.Context) error {
	sub, err := s.store.GetSubscriber(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, sub)
}

func (s *Server) apiAddSubscriber(c echo.Context) error {
	var req subscriberRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	sub, err := s.store.AddSubscriber(c.Request().Context(), store.SubscriberInput{PageID: req.PageID, Email: req.Email, Components: req.Components, Confirmed: req.Confirmed})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, sub)
}

func (s *Server) apiDeleteSubscriber(c echo.Context) error {
	if err := s.store.DeleteSubscriber(c.Request().Context(), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// apiExportSubscribers streams every subscriber as CSV, a page of rows at a
// time, so 100,000 subscribers never sit in memory at once.
func (s *Server) apiExportSubscribers(c echo.Context) error {
	// page_id last: the columns before it keep their places for scripts
	// written before pages had subscribers.
	header := []string{"id", "email", "status", "components", "created_at", "confirmed_at", "bounces", "page_id"}
	return s.writeCSV(c, "subscribers.csv", header, func(row func(...string) error) error {
		return s.store.EachSubscriber(c.Request().Context(), func(sub store.Subscriber) error {
			confirmed := ""
			if sub.ConfirmedAt != nil {
				confirmed = sub.ConfirmedAt.UTC().Format(time.RFC3339)
			}
			return row(sub.ID, sub.Email, string(sub.Status), strings.Join(sub.Components, " "),
				sub.CreatedAt.UTC().Format(time.RFC3339), confirmed, strconv.Itoa(sub.Bounces), sub.PageID)
		})
	})
}
