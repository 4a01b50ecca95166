package templates

// ConfirmPage asks a signed-in user to prove it is them before a
// sensitive action, carrying the form they sent.
type ConfirmPage struct {
	Console Console
	What    string      // the action, as in "To create an API token, …"
	Action  string      // where the form was sent, and is sent on
	Fields  []FormField // the form as it was sent, but its CSRF token
	// What the user can confirm with.
	App, Passkey, Password bool
	// SSOName and SSOHref: through the provider, for single sign-on
	// users without a factor or password of Herald's.
	SSOName, SSOHref string
	Error            string
}

// FormField is one field of a form carried over to another page.
type FormField struct{ Name, Value string }
