package web

import (
	"encoding/csv"
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
	Email      string   `json:"email"`
	Components []string `json:"components"`
	Confirmed  bool     `json:"confirmed"`
}

// pageParams reads limit (1 to max) and offset from the query.
func pageParams(c echo.Context, def, maxLimit int) (limit, offset int, err error) {
	limit = def
	if v := c.QueryParam("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxLimit {
			return 0, 0, badRequest("invalid_value", "limit", "limit must be a number from 1 to %d", maxLimit)
		}
		limit = n
	}
	if v := c.QueryParam("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return 0, 0, badRequest("invalid_value", "offset", "offset must be a number from 0")
		}
		offset = n
	}
	return limit, offset, nil
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
	sub, err := s.store.AddSubscriber(c.Request().Context(), store.SubscriberInput{Email: req.Email, Components: req.Components, Confirmed: req.Confirmed})
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
	h := c.Response().Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="subscribers.csv"`)
	c.Response().WriteHeader(http.StatusOK)
	w := csv.NewWriter(c.Response())
	if err := w.Write([]string{"id", "email", "status", "components", "created_at", "confirmed_at", "bounces"}); err != nil {
		return err
	}
	err := s.store.EachSubscriber(c.Request().Context(), func(sub store.Subscriber) error {
		confirmed := ""
		if sub.ConfirmedAt != nil {
			confirmed = sub.ConfirmedAt.UTC().Format(time.RFC3339)
		}
		return w.Write([]string{sub.ID, csvCell(sub.Email), string(sub.Status), strings.Join(sub.Components, " "),
			sub.CreatedAt.UTC().Format(time.RFC3339), confirmed, strconv.Itoa(sub.Bounces)})
	})
	w.Flush()
	if err == nil {
		err = w.Error()
	}
	if err != nil {
		// The status line has gone; all that is left is to cut the file
		// short, which the client sees as a failed download.
		s.log.Error("export subscribers", "err", err)
	}
	return nil
}

// csvCell defuses a value a spreadsheet would run as a formula.
func csvCell(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}
