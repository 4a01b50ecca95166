package static

import _ "embed"

//go:embed embed.js
var embedJS []byte

// EmbedScript is the banner script customers put on their own sites
// (served at /embed.js). It is kept apart from the page assets: it runs on
// other people's pages, so it has no content-hashed URL and depends on
// nothing of ours but the public API.
func EmbedScript() []byte { return embedJS }
