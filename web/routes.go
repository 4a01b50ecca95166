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
	e.Use(s.measure, s.recoverPanics, requestID, securityHeaders)

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

	// What other tools read, from the snapshot too (ecosystem.go): the
	// Statuspage-compatible API, the feeds, badges and the embed script.
	for _, path := range []string{v2Summary, v2Status, v2Components, v2Incidents, v2Unresolved, v2Maintenance, v2Upcoming, v2Active} {
		get(path, s.handleStatuspage)
		public.OPTIONS(path, s.handlePreflight)
	}
	get(feedAtom, s.handleFeed)
	get(feedRSS, s.handleFeed)
	get("/badge.svg", s.handleBadge)
	get("/components/:id/badge.svg", s.handleComponentBadge)
	get("/embed.js", s.handleEmbed)
	get("/metrics", s.handleMetrics())

	// Email subscriptions (subscribe.go): the form and the pages the links
	// in every email lead to. The links' tokens authorise the POSTs.
	subs := e.Group("", s.accessLog(false), middleware.BodyLimit("64K"))
	subs.GET("/subscribe", s.handleSubscribeForm)
	subs.POST("/subscribe", s.handleSubscribe)
	subs.GET("/subscriptions/confirm/:token", s.handleConfirmPage)
	subs.POST("/subscriptions/confirm/:token", s.handleConfirm)
	subs.GET("/subscriptions/manage/:token", s.handleManagePage)
	subs.POST("/subscriptions/manage/:token", s.handleManage)
	subs.GET("/subscriptions/unsubscribe/:token", s.handleUnsubscribePage)
	subs.POST("/subscriptions/unsubscribe/:token", s.handleUnsubscribe)

	// Admin API.
	// Every API route needs a token and the role its rule in access.go says.
	api := e.Group("/api/v1", s.accessLog(false), middleware.BodyLimit("1M"), s.requireToken, s.authorize)
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
	api.PATCH("/incidents/:id", s.apiUpdateIncident, s.refuseDraft)
	api.PUT("/incidents/:id", s.apiUpdateIncident, s.refuseDraft)
	api.DELETE("/incidents/:id", s.apiDiscardDraft)
	api.POST("/incidents/:id/publish", s.apiPublishDraft)
	api.GET("/incidents/:id/updates", s.apiListIncidentUpdates)
	api.POST("/incidents/:id/updates", s.apiPostIncidentUpdate, s.refuseDraft)
	api.GET("/incidents/:id/postmortem", s.apiGetPostmortem)
	api.POST("/incidents/:id/postmortem", s.apiPublishPostmortem, s.refuseDraft)
	api.PUT("/incidents/:id/postmortem", s.apiPublishPostmortem, s.refuseDraft)

	api.POST("/integrations/alertmanager", s.apiAlertmanager)

	api.GET("/maintenances", s.apiListMaintenances)
	api.POST("/maintenances", s.apiCreateMaintenance)
	api.GET("/maintenances/:id", s.apiGetMaintenance)
	api.PATCH("/maintenances/:id", s.apiUpdateMaintenance)
	api.PUT("/maintenances/:id", s.apiUpdateMaintenance)
	api.POST("/maintenances/:id/updates", s.apiPostMaintenanceUpdate)

	api.GET("/audit-log", s.apiAuditLog)

	api.GET("/subscribers", s.apiListSubscribers)
	api.POST("/subscribers", s.apiAddSubscriber)
	api.GET("/subscribers/export", s.apiExportSubscribers)
	api.GET("/subscribers/:id", s.apiGetSubscriber)
	api.DELETE("/subscribers/:id", s.apiDeleteSubscriber)

	api.GET("/webhooks", s.apiListWebhooks)
	api.POST("/webhooks", s.apiCreateWebhook)
	api.GET("/webhooks/:id", s.apiGetWebhook)
	api.PATCH("/webhooks/:id", s.apiUpdateWebhook)
	api.DELETE("/webhooks/:id", s.apiDeleteWebhook)
	api.POST("/webhooks/:id/rotate-secret", s.apiRotateWebhookSecret)
	api.GET("/webhooks/:id/deliveries", s.apiWebhookDeliveries)
	api.POST("/webhooks/:id/deliveries/:delivery/replay", s.apiReplayWebhookDelivery)

	// Console sign-in: no session yet; the form's CSRF token comes from a
	// pre-session cookie.
	login := e.Group("/console", s.accessLog(false), middleware.BodyLimit("64K"), s.consoleErrors, s.preSession, s.checkCSRF)
	login.GET("/login", s.consoleLoginForm)
	login.POST("/login", s.consoleLogin)

	// Console: a signed-in user, the role access.go requires, and a CSRF
	// token on every form.
	con := e.Group("/console", s.accessLog(false), middleware.BodyLimit("1M"), s.consoleErrors, s.requireSession, s.authorize, s.checkCSRF)
	con.GET("", s.consoleDashboard)
	con.POST("/logout", s.consoleLogout)
	con.GET("/account", s.consoleAccount)
	con.POST("/account/password", s.consoleChangePassword)
	con.POST("/account/sign-out-everywhere", s.consoleSignOutEverywhere)

	con.GET("/incidents", s.consoleIncidents)
	con.GET("/incidents/new", s.consoleNewIncident)
	con.POST("/incidents", s.consoleCreateIncident)
	con.POST("/preview", s.consolePreview)
	con.GET("/incidents/:id", s.consoleIncident)
	con.POST("/incidents/:id/updates", s.consolePostUpdate)
	con.GET("/incidents/:id/postmortem", s.consolePostmortem)
	con.POST("/incidents/:id/postmortem", s.consoleSavePostmortem)

	con.GET("/templates", s.consoleTemplates)
	con.GET("/templates/new", s.consoleNewTemplate)
	con.POST("/templates", s.consoleCreateTemplate)
	con.GET("/templates/:id", s.consoleTemplate)
	con.POST("/templates/:id", s.consoleEditTemplate)
	con.POST("/templates/:id/delete", s.consoleDeleteTemplate)

	con.GET("/maintenances", s.consoleMaintenances)
	con.GET("/maintenances/new", s.consoleNewMaintenance)
	con.POST("/maintenances", s.consoleCreateMaintenance)
	con.GET("/maintenances/:id", s.consoleMaintenance)
	con.POST("/maintenances/:id", s.consoleEditMaintenance)
	con.POST("/maintenances/:id/updates", s.consoleMaintenanceUpdate)
	con.POST("/maintenances/:id/cancel", s.consoleCancelMaintenance)

	con.GET("/components", s.consoleComponents)
	con.POST("/components", s.consoleCreateComponent)
	con.GET("/components/:id", s.consoleComponent)
	con.POST("/components/:id", s.consoleEditComponent)
	con.POST("/components/:id/status", s.consoleComponentStatus)
	con.POST("/components/:id/move", s.consoleMoveComponent)
	con.POST("/components/:id/delete", s.consoleDeleteComponent)
	con.POST("/groups", s.consoleCreateGroup)
	con.GET("/groups/:id", s.consoleGroup)
	con.POST("/groups/:id", s.consoleEditGroup)
	con.POST("/groups/:id/move", s.consoleMoveGroup)
	con.POST("/groups/:id/delete", s.consoleDeleteGroup)

	con.GET("/audit", s.consoleAudit)
	con.GET("/audit.csv", s.consoleAuditCSV)

	con.GET("/subscribers", s.consoleSubscribers)
	con.POST("/subscribers", s.consoleAddSubscriber)
	con.GET("/subscribers.csv", s.apiExportSubscribers) // the API's export, for a console session
	con.GET("/subscribers/:id", s.consoleSubscriber)
	con.POST("/subscribers/:id/delete", s.consoleRemoveSubscriber)
	con.GET("/webhooks", s.consoleWebhooks)
	con.POST("/webhooks", s.consoleCreateWebhook)
	con.GET("/webhooks/:id", s.consoleWebhook)
	con.POST("/webhooks/:id/pause", s.consolePauseWebhook)
	con.POST("/webhooks/:id/resume", s.consoleResumeWebhook)
	con.POST("/webhooks/:id/rotate-secret", s.consoleRotateWebhookSecret)
	con.POST("/webhooks/:id/delete", s.consoleDeleteWebhook)
	con.POST("/webhooks/:id/deliveries/:delivery/replay", s.consoleReplayDelivery)

	con.GET("/users", s.consoleUsers)
	con.POST("/users", s.consoleCreateUser)
	con.GET("/users/:id", s.consoleUser)
	con.POST("/users/:id", s.consoleEditUser)
	con.POST("/users/:id/reset-password", s.consoleResetPassword)
	con.POST("/users/:id/sign-out", s.consoleSignOutUser)
	con.GET("/tokens", s.consoleTokens)
	con.POST("/tokens", s.consoleCreateToken)
	con.POST("/tokens/:id/revoke", s.consoleRevokeToken)

	// Unknown API paths answer in the API's error shape, authenticated or not.
	e.Any("/api/*", func(c echo.Context) error {
		return &apiError{Status: 404, Code: "not_found", Message: "no such API endpoint"}
	})
	s.metrics.addRoutes(e.Routes())
	return e
}
