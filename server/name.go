package server

import (
	"strings"

	"github.com/sluicehq/sluice/protocol/metadata"
)

// MIMEClientName is the composite-metadata entry a client may put in SETUP to
// name itself (shown by the demo page and in stats).
const MIMEClientName = "application/x.sluice.client-name"

func nameFromSetup(s Setup) string {
	if s.MetadataMIME != metadata.MIMEComposite || s.Payload.Metadata == nil {
		return ""
	}
	for e, err := range metadata.Composite(s.Payload.Metadata) {
		if err != nil {
			return ""
		}
		if e.MIME == MIMEClientName {
			return strings.ToValidUTF8(string(e.Content), "?")
		}
	}
	return ""
}
