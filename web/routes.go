package web

import (
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
)

// routes registers every route Herald serves, in one place.
func (s *Server) routes() *echo.Echo {
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.HTTPErrorHandler = s.httpErrorHandler
	// Client addresses come from the connection unless a trusted proxy
	// sets them; otherwise anyone could dodge per-address limits.
	e.IPExtractor = echo.ExtractIPDirect()
	if s.cfg.TrustProxy {
		e.IPExtractor = echo.ExtractIPFromXFFHeader()
	}
	e.Use(s.recoverPanics, requestID, securityHeaders)

	// Public pages, served from the snapshot.
	public := e.Group("", s.accessLog(true))
	get := func(path string, h echo.HandlerFunc) {
		public.GET(path, h)
		public.HEAD(path, h) // net/http drops the body of a HEAD response
	}
	get("/", s.handleHome)
	get("/incidents/:id", s.handleIncidentPage)
	get("/maintenance/:id", s.handleMaintenancePage)
	get("/history", s.handleHistory)
	get("/static/*", s.handleStatic)
	get("/favicon.ico", s.handleFavicon)
	public.GET("/events", s.handleEvents)
	get("/healthz", s.handleHealthz)
	get("/readyz", s.handleReadyz)

	// Admin API.
	api := e.Group("/api/v1", s.accessLog(false), middleware.BodyLimit("1M"), s.requireToken)
	api.GET("/component-groups", s.apiListGroups)
	api.POST("/component-groups", s.apiCreateGroup)
	api.GET("/component-groups/:id", s.apiGetGroup)
	api.PATCH("/component-groups/:id", s.apiUpdateGroup)
	api.PUT("/component-groups/:id", s.apiUpdateGroup)
	api.DELETE("/component-groups/:id", s.apiDeleteGroup)

	api.GET("/components", s.apiListComponents)
	api.POST("/components", s.apiCreateComponent)
	api.GET("/components/:id", s.apiGetComponent)
	api.PATCH("/components/:id", s.apiUpdateComponent)
	api.PUT("/components/:id", s.apiUpdateComponent)
	api.DELETE("/components/:id", s.apiDeleteComponent)

	api.GET("/incidents", s.apiListIncidents)
	api.POST("/incidents", s.apiCreateIncident)
	api.GET("/incidents/:id", s.apiGetIncident)
	api.PATCH("/incidents/:id", s.apiUpdateIncident)
	api.PUT("/incidents/:id", s.apiUpdateIncident)
	api.GET("/incidents/:id/updates", s.apiListIncidentUpdates)
	api.POST("/incidents/:id/updates", s.apiPostIncidentUpdate)
	api.GET("/incidents/:id/postmortem", s.apiGetPostmortem)
	api.POST("/incidents/:id/postmortem", s.apiPublishPostmortem)
	api.PUT("/incidents/:id/postmortem", s.apiPublishPostmortem)

	api.GET("/maintenances", s.apiListMaintenances)
	api.POST("/maintenances", s.apiCreateMaintenance)
	api.GET("/maintenances/:id", s.apiGetMaintenance)
	api.PATCH("/maintenances/:id", s.apiUpdateMaintenance)
	api.PUT("/maintenances/:id", s.apiUpdateMaintenance)
	api.POST("/maintenances/:id/updates", s.apiPostMaintenanceUpdate)

	// Unknown API paths answer in the API's error shape, authenticated or not.
	e.Any("/api/*", func(c echo.Context) error {
		return &apiError{Status: 404, Code: "not_found", Message: "no such API endpoint"}
	})
	return e
}
