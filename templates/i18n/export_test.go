package i18n

// CompareSimple is message id in lang as T fills it in and as go-i18n
// does; ok is false for a message T leaves to go-i18n.
func CompareSimple(lang, id string, args Args) (fast, slow string, ok bool) {
	sm, ok := simple[lang][id]
	if !ok {
		return "", "", false
	}
	slow, err := localize(lang, id, args)
	if err != nil {
		slow = "error: " + err.Error()
	}
	return sm.fill(args), slow, true
}
