package web

import (
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/herald-status/herald/store"
)

// pageRoutes registers what every status page serves, on g: its pages,
// its live stream, and what other tools read of it, from the snapshot too
// (public_ecosystem.go): the Statuspage-compatible API, the feeds,
// calendars and badges.
func (s *Server) pageRoutes(g *echo.Group) {
	// Every route of a page goes through pageAccess: who may see a
	// private page is judged here, for all of them (public_access.go).
	get := func(path string, h echo.HandlerFunc) {
		g.GET(path, h, s.pageAccess)
		g.HEAD(path, h, s.pageAccess)
	}
	get("/", s.handleHome)
	get("/incidents/:id", s.handleIncidentPage)
	get("/maintenance/:id", s.handleMaintenancePage)
	get("/groups/:id", s.handleGroupPage)
	get("/history", s.handleHistory)
	g.GET("/events", s.handleEvents, s.pageAccess)
	for _, path := range []string{v2Summary, v2Status, v2Components, v2Incidents, v2Unresolved, v2Maintenance, v2Upcoming, v2Active} {
		get(path, s.handleStatuspage)
		g.OPTIONS(path, s.handlePreflight, s.pageAccess)
	}
	get(feedAtom, s.handleFeed)
	get(feedRSS, s.handleFeed)
	get(calendarPath, s.handleCalendar)
	get("/components/:id/maintenance.ics", s.handleCalendar)
	get("/maintenance/:id/calendar.ics", s.handleMaintenanceCalendar)
	get("/badge.svg", s.handleBadge)
	get("/components/:id/badge.svg", s.handleComponentBadge)
	get("/branding/:file", s.handleBrandAsset)
}

// subscriptionRoutes registers a page's email subscriptions on g: the form,
// which only those who may see the page may use, and the pages the links
// in its emails lead to, which its subscribers reach whatever the page's
// access has become (an unsubscribe link must always work), on their own
// page only (linkPage).
func (s *Server) subscriptionRoutes(g *echo.Group) {
	g.GET("/subscribe", s.handleSubscribeForm, s.pageAccess)
	g.POST("/subscribe", s.handleSubscribe, s.pageAccess)
	g.GET("/subscriptions/confirm/:token", s.handleConfirmPage, s.linkPage)
	g.POST("/subscriptions/confirm/:token", s.handleConfirm, s.linkPage)
	g.GET("/subscriptions/manage/:token", s.handleManagePage, s.linkPage)
	g.POST("/subscriptions/manage/:token", s.handleManage, s.linkPage)
	g.GET("/subscriptions/unsubscribe/:token", s.handleUnsubscribePage, s.linkPage)
	g.POST("/subscriptions/unsubscribe/:token", s.handleUnsubscribe, s.linkPage)
	// Chat subscriptions (public_chat_subscribe.go): a public page's
	// form, and the pages its channel's links lead to, whose token the
	// store judges.
	g.POST("/subscribe/chat", s.handleChatSubscribe, s.pageAccess)
	g.GET("/subscriptions/chat/confirm/:token", s.handleChatConfirmPage)
	g.POST("/subscriptions/chat/confirm/:token", s.handleChatConfirm)
	g.GET("/subscriptions/chat/unsubscribe/:token", s.handleChatUnsubscribePage)
	g.POST("/subscriptions/chat/unsubscribe/:token", s.handleChatUnsubscribe)
	// SMS subscriptions (public_sms_subscribe.go): a public page's phone
	// and code forms.
	g.POST("/subscribe/sms", s.handleSMSSubscribe, s.pageAccess)
	g.POST("/subscribe/sms/confirm", s.handleSMSConfirm, s.pageAccess)
}

// getAndHead registers a GET route on g and the same for HEAD, whose body
// net/http drops.
func getAndHead(g *echo.Group) func(path string, h echo.HandlerFunc) {
	return func(path string, h echo.HandlerFunc) {
		g.GET(path, h)
		g.HEAD(path, h)
	}
}

// routes registers every route Herald serves, in one place. A route that
// needs a sign-in names on its own line the least role that may use it
// (guarded, in auth_access.go); testdata/routes.golden lists them all.
func (s *Server) routes() *echo.Echo {
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.HTTPErrorHandler = s.httpErrorHandler
	// Client addresses come from the connection unless a trusted proxy
	// sets them; otherwise anyone could dodge per-address limits.
	e.IPExtractor = echo.ExtractIPDirect()
	if len(s.cfg.TrustedProxies) > 0 {
		e.IPExtractor = echo.ExtractIPFromXFFHeader(trustOnly(s.cfg.TrustedProxies)...)
	}
	e.Use(s.measure, s.recoverPanics, requestID, securityHeaders)

	// Public pages, served from the snapshot: the default page's at the
	// root (and at another page's host name, that page's), and each other
	// page's under /p/{slug} (public_sites.go).
	public := e.Group("", s.accessLog(true))
	s.pageRoutes(public)
	s.pageRoutes(public.Group(pageGroup))
	get := getAndHead(public)
	get("/static/*", s.handleStatic)
	get("/favicon.ico", s.handleFavicon)
	get("/healthz", s.handleHealthz)
	get("/readyz", s.handleReadyz)
	get("/embed.js", s.handleEmbed)
	get("/metrics", s.handleMetrics())

	// Email subscriptions (public_subscribe.go): the form and the pages the links
	// in every email lead to. The links' tokens authorise the POSTs.
	subs := e.Group("", s.accessLog(false), middleware.BodyLimit("64K"))
	s.subscriptionRoutes(subs)
	s.subscriptionRoutes(subs.Group(pageGroup))
	// A text message's stop link (short: it counts against 160
	// characters), and Twilio's inbound webhook, signed by Twilio.
	subs.GET("/s/:token", s.handleSMSStopPage)
	subs.POST("/s/:token", s.handleSMSStop)
	subs.POST("/sms/twilio/inbound", s.handleTwilioInbound)

	// Viewers by email (public_viewer.go): the way into a page for
	// viewers by email, outside pageAccess; the link's token authorises
	// its POST.
	viewers := e.Group("", s.accessLog(false), middleware.BodyLimit("64K"))
	s.viewerRoutes(viewers)
	s.viewerRoutes(viewers.Group(pageGroup))

	// Admin API: a token, and on each line the least role the route needs.
	// Reading is for everyone signed in; incidents, maintenance and
	// component status for commanders; configuration for admins. Tokens act
	// with their effective role.
	api := s.guarded(e.Group("/api/v1", s.accessLog(false), middleware.BodyLimit("1M"), s.requireToken))
	api.GET("/component-groups", store.RoleViewer, s.apiListGroups)
	api.POST("/component-groups", store.RoleAdmin, s.apiCreateGroup)
	api.GET("/component-groups/:id", store.RoleViewer, s.apiGetGroup)
	api.PATCH("/component-groups/:id", store.RoleAdmin, s.apiUpdateGroup)
	api.PUT("/component-groups/:id", store.RoleAdmin, s.apiUpdateGroup)
	api.DELETE("/component-groups/:id", store.RoleAdmin, s.apiDeleteGroup)

	api.GET("/pages", store.RoleViewer, s.apiListPages)
	api.POST("/pages", store.RoleAdmin, s.apiCreatePage)
	api.GET("/pages/:id", store.RoleViewer, s.apiGetPage)
	api.PATCH("/pages/:id", store.RoleAdmin, s.apiUpdatePage)
	api.PUT("/pages/:id", store.RoleAdmin, s.apiUpdatePage)
	api.DELETE("/pages/:id", store.RoleAdmin, s.apiDeletePage)
	// Branding (api_branding.go): the default page's, and another page's.
	for _, prefix := range []string{"", "/pages/:id"} {
		api.GET(prefix+"/branding", store.RoleViewer, s.apiGetBranding)
		api.PATCH(prefix+"/branding", store.RoleAdmin, s.apiUpdateBranding)
		api.PUT(prefix+"/branding/:image", store.RoleAdmin, s.apiPutBrandImage)
		api.DELETE(prefix+"/branding/:image", store.RoleAdmin, s.apiDeleteBrandImage)
	}

	api.GET("/components", store.RoleViewer, s.apiListComponents)
	api.POST("/components", store.RoleAdmin, s.apiCreateComponent)
	api.GET("/components/:id", store.RoleViewer, s.apiGetComponent)
	// A commander may change a component's status here; the handler
	// refuses other fields unless the caller is an admin.
	api.PATCH("/components/:id", store.RoleCommander, s.apiUpdateComponent)
	api.PUT("/components/:id", store.RoleCommander, s.apiUpdateComponent)
	api.DELETE("/components/:id", store.RoleAdmin, s.apiDeleteComponent)

	api.GET("/incidents", store.RoleViewer, s.apiListIncidents)
	api.POST("/incidents", store.RoleCommander, s.apiCreateIncident)
	api.GET("/incidents/:id", store.RoleViewer, s.apiGetIncident)
	api.PATCH("/incidents/:id", store.RoleCommander, s.apiUpdateIncident, s.refuseDraft)
	api.PUT("/incidents/:id", store.RoleCommander, s.apiUpdateIncident, s.refuseDraft)
	// Incident drafts (issue 6): commanders publish or discard them.
	api.DELETE("/incidents/:id", store.RoleCommander, s.apiDiscardDraft)
	api.POST("/incidents/:id/publish", store.RoleCommander, s.apiPublishDraft)
	api.POST("/incidents/:id/hold", store.RoleCommander, s.apiHoldDraft)
	api.DELETE("/incidents/:id/hold", store.RoleCommander, s.apiReleaseDraft)
	api.GET("/incidents/:id/updates", store.RoleViewer, s.apiListIncidentUpdates)
	api.POST("/incidents/:id/updates", store.RoleCommander, s.apiPostIncidentUpdate, s.refuseDraft)
	api.PATCH("/incidents/:id/updates/:update_id", store.RoleCommander, s.apiEditIncidentUpdate, s.refuseDraft)
	api.DELETE("/incidents/:id/updates/:update_id", store.RoleCommander, s.apiDeleteIncidentUpdate, s.refuseDraft)
	api.GET("/incidents/:id/postmortem", store.RoleViewer, s.apiGetPostmortem)
	api.POST("/incidents/:id/postmortem", store.RoleCommander, s.apiPublishPostmortem, s.refuseDraft)
	api.PUT("/incidents/:id/postmortem", store.RoleCommander, s.apiPublishPostmortem, s.refuseDraft)

	// An integration posts with a commander's token (issue 6).
	api.POST("/integrations/alertmanager", store.RoleCommander, s.apiAlertmanager)

	api.GET("/maintenances", store.RoleViewer, s.apiListMaintenances)
	api.POST("/maintenances", store.RoleCommander, s.apiCreateMaintenance)
	api.GET("/maintenances/:id", store.RoleViewer, s.apiGetMaintenance)
	api.PATCH("/maintenances/:id", store.RoleCommander, s.apiUpdateMaintenance)
	api.PUT("/maintenances/:id", store.RoleCommander, s.apiUpdateMaintenance)
	api.POST("/maintenances/:id/updates", store.RoleCommander, s.apiPostMaintenanceUpdate)

	api.GET("/audit-log", store.RoleAdmin, s.apiAuditLog) // as the console's: see there

	// Commanders read subscribers and webhooks (issue 5: they need to see
	// who will hear about an incident, and a delivery's fate); changing them
	// is for admins: subscribers are personal data and webhook URLs often
	// carry credentials.
	api.GET("/subscribers", store.RoleCommander, s.apiListSubscribers)
	api.POST("/subscribers", store.RoleAdmin, s.apiAddSubscriber)
	api.GET("/subscribers/export", store.RoleCommander, s.apiExportSubscribers)
	api.GET("/subscribers/:id", store.RoleCommander, s.apiGetSubscriber)
	api.DELETE("/subscribers/:id", store.RoleAdmin, s.apiDeleteSubscriber)

	api.GET("/webhooks", store.RoleCommander, s.apiListWebhooks)
	api.POST("/webhooks", store.RoleAdmin, s.apiCreateWebhook)
	api.GET("/webhooks/:id", store.RoleCommander, s.apiGetWebhook)
	api.PATCH("/webhooks/:id", store.RoleAdmin, s.apiUpdateWebhook)
	api.DELETE("/webhooks/:id", store.RoleAdmin, s.apiDeleteWebhook)
	api.POST("/webhooks/:id/rotate-secret", store.RoleAdmin, s.apiRotateWebhookSecret)
	api.GET("/webhooks/:id/deliveries", store.RoleCommander, s.apiWebhookDeliveries)
	api.POST("/webhooks/:id/deliveries/:delivery/replay", store.RoleAdmin, s.apiReplayWebhookDelivery)

	// Console sign-in: no session yet; the form's CSRF token comes from a
	// pre-session cookie.
	login := e.Group("/console", s.accessLog(false), middleware.BodyLimit("64K"), s.consoleErrors, s.preSession, s.checkCSRF)
	login.GET("/login", s.consoleLoginForm)
	login.POST("/login", s.consoleLogin)
	login.POST("/login/code", s.consoleLoginCode)
	login.GET("/login/sso", s.consoleSSOStart)
	login.GET("/login/sso/callback", s.consoleSSOCallback)
	login.POST("/login/passkey/begin", s.consoleLoginPasskeyBegin)
	login.POST("/login/passkey/finish", s.consoleLoginPasskeyFinish)

	// Console: a signed-in user, the role on each line, and a CSRF token on
	// every form.
	con := s.guarded(e.Group("/console", s.accessLog(false), middleware.BodyLimit("1M"), s.consoleErrors, s.requireSession), s.checkCSRF)
	con.GET("", store.RoleViewer, s.consoleDashboard)
	con.POST("/logout", store.RoleViewer, s.consoleLogout)
	con.GET("/account", store.RoleViewer, s.consoleAccount)
	con.POST("/account/password", store.RoleViewer, s.consoleChangePassword)
	con.POST("/account/sign-out-everywhere", store.RoleViewer, s.consoleSignOutEverywhere)
	con.POST("/account/notifications", store.RoleCommander, s.consoleAccountNotifications)
	con.GET("/account/two-factor", store.RoleViewer, s.consoleTwoFactor)
	con.GET("/account/two-factor/qr.svg", store.RoleViewer, s.consoleTOTPQR)
	con.POST("/account/two-factor/begin", store.RoleViewer, s.consoleBeginTOTP, s.confirm("add an authenticator app"))
	con.POST("/account/two-factor/confirm", store.RoleViewer, s.consoleConfirmTOTP, s.confirm("add an authenticator app"))
	con.POST("/account/two-factor/cancel", store.RoleViewer, s.consoleCancelTOTP)
	con.POST("/account/two-factor/remove", store.RoleViewer, s.consoleRemoveTOTP)
	con.POST("/account/passkeys/begin", store.RoleViewer, s.consolePasskeyBegin)
	con.POST("/account/passkeys/finish", store.RoleViewer, s.consolePasskeyFinish)
	con.POST("/account/passkeys/:key/remove", store.RoleViewer, s.consolePasskeyRemove, s.confirm("remove a passkey"))
	con.GET("/confirm/sso", store.RoleViewer, s.consoleConfirmSSO)
	con.POST("/confirm/passkey/begin", store.RoleViewer, s.consoleConfirmPasskeyBegin)
	con.POST("/confirm/passkey/finish", store.RoleViewer, s.consoleConfirmPasskeyFinish)

	con.GET("/incidents", store.RoleViewer, s.consoleIncidents)
	con.GET("/incidents/new", store.RoleCommander, s.consoleNewIncident)
	con.POST("/incidents", store.RoleCommander, s.consoleCreateIncident)
	con.POST("/preview", store.RoleCommander, s.consolePreview)
	con.GET("/incidents/:id", store.RoleViewer, s.consoleIncident)
	con.GET("/dashboard/drafts", store.RoleViewer, s.consoleDashboardDrafts)
	con.GET("/dashboard/open", store.RoleViewer, s.consoleDashboardOpen)
	con.GET("/report", store.RoleViewer, s.consoleReport)
	con.GET("/drafts/:id", store.RoleViewer, s.consoleDraft)
	con.POST("/drafts/:id/publish", store.RoleCommander, s.consolePublishDraft)
	con.POST("/drafts/:id/discard", store.RoleCommander, s.consoleDiscardDraft)
	con.POST("/drafts/:id/hold", store.RoleCommander, s.consoleHoldDraft)
	con.POST("/drafts/:id/release", store.RoleCommander, s.consoleReleaseDraft)
	con.POST("/incidents/:id/updates", store.RoleCommander, s.consolePostUpdate)
	con.GET("/incidents/:id/edit", store.RoleCommander, s.consoleEditIncidentForm)
	con.POST("/incidents/:id/edit", store.RoleCommander, s.consoleEditIncident)
	con.GET("/incidents/:id/updates/:update_id/edit", store.RoleCommander, s.consoleEditUpdateForm)
	con.POST("/incidents/:id/updates/:update_id", store.RoleCommander, s.consoleEditUpdate)
	con.GET("/incidents/:id/updates/:update_id/delete", store.RoleCommander, s.consoleDeleteUpdateForm)
	con.POST("/incidents/:id/updates/:update_id/delete", store.RoleCommander, s.consoleDeleteUpdate)
	con.GET("/incidents/:id/postmortem", store.RoleViewer, s.consolePostmortem)
	con.POST("/incidents/:id/postmortem", store.RoleCommander, s.consoleSavePostmortem)

	con.GET("/templates", store.RoleViewer, s.consoleTemplates)
	con.GET("/templates/new", store.RoleCommander, s.consoleNewTemplate)
	con.POST("/templates", store.RoleCommander, s.consoleCreateTemplate)
	con.GET("/templates/:id", store.RoleViewer, s.consoleTemplate)
	con.POST("/templates/:id", store.RoleCommander, s.consoleEditTemplate)
	con.POST("/templates/:id/delete", store.RoleCommander, s.consoleDeleteTemplate)

	con.GET("/maintenances", store.RoleViewer, s.consoleMaintenances)
	con.GET("/maintenances/new", store.RoleCommander, s.consoleNewMaintenance)
	con.POST("/maintenances", store.RoleCommander, s.consoleCreateMaintenance)
	con.GET("/maintenances/:id", store.RoleViewer, s.consoleMaintenance)
	con.POST("/maintenances/:id", store.RoleCommander, s.consoleEditMaintenance)
	con.POST("/maintenances/:id/updates", store.RoleCommander, s.consoleMaintenanceUpdate)
	con.POST("/maintenances/:id/cancel", store.RoleCommander, s.consoleCancelMaintenance)

	con.GET("/components", store.RoleViewer, s.consoleComponents)
	con.POST("/components", store.RoleAdmin, s.consoleCreateComponent)
	con.GET("/components/:id", store.RoleViewer, s.consoleComponent)
	con.POST("/components/:id", store.RoleAdmin, s.consoleEditComponent)
	con.POST("/components/:id/status", store.RoleCommander, s.consoleComponentStatus)
	con.POST("/components/:id/move", store.RoleAdmin, s.consoleMoveComponent)
	con.POST("/components/:id/delete", store.RoleAdmin, s.consoleDeleteComponent)
	con.POST("/groups", store.RoleAdmin, s.consoleCreateGroup)
	con.GET("/groups/:id", store.RoleViewer, s.consoleGroup)
	con.POST("/groups/:id", store.RoleAdmin, s.consoleEditGroup)
	con.POST("/groups/:id/move", store.RoleAdmin, s.consoleMoveGroup)
	con.POST("/groups/:id/delete", store.RoleAdmin, s.consoleDeleteGroup)
	con.GET("/pages", store.RoleViewer, s.consolePages)
	con.POST("/pages", store.RoleAdmin, s.consoleCreatePage)
	con.GET("/pages/:id", store.RoleViewer, s.consolePage)
	con.POST("/pages/:id", store.RoleAdmin, s.consoleEditPage, s.confirm("change a page"))
	con.POST("/pages/:id/delete", store.RoleAdmin, s.consoleDeletePage, s.confirm("delete a page"))
	// Branding (console_branding.go): the default page's, and another page's.
	for _, prefix := range []string{"", "/pages/:id"} {
		con.GET(prefix+"/branding", store.RoleViewer, s.consoleBranding)
		con.POST(prefix+"/branding", store.RoleAdmin, s.consoleSaveBranding)
		con.POST(prefix+"/branding/:image", store.RoleAdmin, s.consoleBrandImage)
		con.GET(prefix+"/branding/:image", store.RoleViewer, s.consoleBrandPreview)
	}

	// The audit log is for reading, and nothing anywhere edits it. Its
	// before/after values repeat admin-only data (webhook URLs, which often
	// carry credentials; subscribers' emails; users and tokens), so it is for
	// admins, as GET /api/v1/audit-log is.
	con.GET("/audit", store.RoleAdmin, s.consoleAudit)
	con.GET("/audit.csv", store.RoleAdmin, s.consoleAuditCSV)

	// Subscribers and webhooks, as in the API: commanders read, admins change.
	con.GET("/subscribers", store.RoleCommander, s.consoleSubscribers)
	con.POST("/subscribers", store.RoleAdmin, s.consoleAddSubscriber)
	con.GET("/subscribers.csv", store.RoleCommander, s.apiExportSubscribers) // the API's export, for a console session
	con.GET("/subscribers/:id", store.RoleCommander, s.consoleSubscriber)
	con.POST("/subscribers/:id/delete", store.RoleAdmin, s.consoleRemoveSubscriber)
	con.POST("/chat-subscriptions/:id/delete", store.RoleAdmin, s.consoleRemoveChatSubscription)
	con.POST("/sms-subscribers/:id/delete", store.RoleAdmin, s.consoleRemoveSMSSubscriber)
	con.GET("/webhooks", store.RoleCommander, s.consoleWebhooks)
	con.POST("/webhooks", store.RoleAdmin, s.consoleCreateWebhook, s.confirm("add a webhook"))
	con.GET("/webhooks/:id", store.RoleCommander, s.consoleWebhook)
	con.POST("/webhooks/:id/pause", store.RoleAdmin, s.consolePauseWebhook, s.confirm("pause a webhook"))
	con.POST("/webhooks/:id/resume", store.RoleAdmin, s.consoleResumeWebhook, s.confirm("resume a webhook"))
	con.POST("/webhooks/:id/rotate-secret", store.RoleAdmin, s.consoleRotateWebhookSecret, s.confirm("rotate a webhook's secret"))
	con.POST("/webhooks/:id/delete", store.RoleAdmin, s.consoleDeleteWebhook, s.confirm("delete a webhook"))
	con.POST("/webhooks/:id/deliveries/:delivery/replay", store.RoleAdmin, s.consoleReplayDelivery, s.confirm("send a delivery again"))

	con.GET("/users", store.RoleAdmin, s.consoleUsers)
	con.POST("/users", store.RoleAdmin, s.consoleCreateUser, s.confirm("add a user"))
	con.POST("/users/two-factor", store.RoleAdmin, s.consoleFactorRoles, s.confirm("change who must use a second factor"))
	con.GET("/users/:id", store.RoleAdmin, s.consoleUser)
	con.POST("/users/:id", store.RoleAdmin, s.consoleEditUser, s.confirm("change a user"))
	con.POST("/users/:id/reset-password", store.RoleAdmin, s.consoleResetPassword, s.confirm("give a user a one-time password"))
	con.POST("/users/:id/sign-out", store.RoleAdmin, s.consoleSignOutUser)
	con.POST("/users/:id/reset-factors", store.RoleAdmin, s.consoleResetFactors, s.confirm("reset a user's second factors"))
	con.GET("/tokens", store.RoleAdmin, s.consoleTokens)
	con.POST("/tokens", store.RoleAdmin, s.consoleCreateToken, s.confirm("create an API token"))
	con.POST("/tokens/:id/revoke", store.RoleAdmin, s.consoleRevokeToken)
	con.GET("/settings", store.RoleAdmin, s.consoleSettings)
	con.POST("/settings/escalation", store.RoleAdmin, s.consoleSaveEscalation, s.confirm("change the escalation policy"))

	// Unknown API paths answer in the API's error shape, authenticated or not.
	e.Any("/api/*", func(c echo.Context) error {
		return &apiError{Status: 404, Code: "not_found", Message: "no such API endpoint"}
	})
	s.metrics.addRoutes(e.Routes())
	return e
}
