// Package jsclient embeds the built browser client (js-client/dist, committed) so that
// `sluice serve` can serve it at /js/sluice.js. Rebuild with `npm run build` at the repo root.
package jsclient

import _ "embed"

// Bundle is dist/sluice.js: the ESM client, served as /js/sluice.js (text/javascript).
//
//go:embed dist/sluice.js
var Bundle []byte

// BundleMin is dist/sluice.min.js, the same client minified.
//
//go:embed dist/sluice.min.js
var BundleMin []byte
