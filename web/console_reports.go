package web

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/herald-status/herald/templates"
)

// consoleReport is the time-to-tell report over the last 90 days: month by
// month, the median and the worst time from an incident's impact to the
// public's first word and to the first subscriber reached.
func (s *Server) consoleReport(c echo.Context) error {
	since := s.store.Now().AddDate(0, 0, -90)
	months, err := s.store.ClockReport(c.Request().Context(), since)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, templates.Report(templates.ReportPage{Console: s.consoleView(c, "report"), Since: since.Truncate(24 * time.Hour), Months: months}))
}
