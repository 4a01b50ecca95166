package templates

import "net/url"

func queryEscape(s string) string { return url.QueryEscape(s) }

// ViewerSignInPage is what a visitor to a page for viewers by email sees
// without access: a form asking for their address. It wears the default
// page's branding and says nothing of the page (its name is its own
// business), and it answers the same whether or not the address may see
// the page.
type ViewerSignInPage struct {
	Site   Site
	Action string // where the form posts: {root}/viewer/sign-in
	Next   string // the page address the visitor asked for
	Email  string
	Error  string
	// Sent: the form was taken, "check your inbox".
	Sent bool
}

// ViewerLinkPage is a page reached from a sign-in link, or the sign-out.
type ViewerLinkPage struct {
	Site Site
	// Step is "confirm" (the link is good: a button to take it), "bad",
	// "used" or "expired" (Message says which), "sign-out" (a button to
	// sign out) or "signed-out".
	Step    string
	Email   string
	Action  string // where the button posts
	Message string
	Again   string // the sign-in form, to ask for a new link
}
