// Package jsclient embeds the built browser client (dist/sluice.js, the ESM
// bundle of @sluicehq/client) so the Go server can serve it at /js/sluice.js.
package jsclient

import _ "embed"

// Bundle is dist/sluice.js.
//
//go:embed dist/sluice.js
var Bundle []byte
