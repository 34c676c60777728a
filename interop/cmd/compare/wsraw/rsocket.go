package wsraw

import (
	"github.com/sluicehq/sluice/protocol"
	"github.com/sluicehq/sluice/protocol/metadata"
)

// Just enough RSocket for the benchmarks, encoded with sluice's protocol
// package. Each method queues one frame; it leaves with the next Flush (or
// before the next blocking read).

// Setup queues SETUP with composite metadata (routing) and the given
// keepalive interval and max lifetime in milliseconds.
func (c *Conn) Setup(keepaliveMS, lifetimeMS uint32) {
	c.Append(func(b []byte) []byte {
		return protocol.AppendSetup(b, keepaliveMS, lifetimeMS, nil, false,
			metadata.MIMEComposite, "application/octet-stream", nil, nil)
	})
}

// Route returns composite metadata with one routing entry.
func Route(route string) []byte { return metadata.AppendCompositeRoute(nil, route) }

// RequestStream queues REQUEST_STREAM with initial demand n.
func (c *Conn) RequestStream(id, n uint32, md, data []byte) {
	c.Append(func(b []byte) []byte {
		return protocol.AppendRequestWithN(b, protocol.TypeRequestStream, id, 0, n, md, data)
	})
}

// RequestChannel queues REQUEST_CHANNEL with initial demand n and the first element.
func (c *Conn) RequestChannel(id, n uint32, md, data []byte) {
	c.Append(func(b []byte) []byte {
		return protocol.AppendRequestWithN(b, protocol.TypeRequestChannel, id, 0, n, md, data)
	})
}

// RequestResponse queues REQUEST_RESPONSE.
func (c *Conn) RequestResponse(id uint32, md, data []byte) {
	c.Append(func(b []byte) []byte {
		return protocol.AppendRequest(b, protocol.TypeRequestResponse, id, 0, md, data)
	})
}

// RequestN queues REQUEST_N.
func (c *Conn) RequestN(id, n uint32) {
	c.Append(func(b []byte) []byte { return protocol.AppendRequestN(b, id, n) })
}

// Payload queues PAYLOAD with the given flags (N, C).
func (c *Conn) Payload(id uint32, flags protocol.Flags, data []byte) {
	c.Append(func(b []byte) []byte { return protocol.AppendPayload(b, id, flags, nil, data) })
}

// KeepaliveAnswer queues KEEPALIVE without R.
func (c *Conn) KeepaliveAnswer() {
	c.Append(func(b []byte) []byte { return protocol.AppendKeepalive(b, false, 0, nil) })
}

// NextFrame returns the next RSocket frame (its slices alias the read
// buffer, valid until the next call). KEEPALIVEs with R are answered.
func (c *Conn) NextFrame() (protocol.Frame, error) {
	for {
		_, msg, err := c.Next()
		if err != nil {
			return protocol.Frame{}, err
		}
		f, err := protocol.Decode(msg)
		if err != nil {
			return f, err
		}
		if f.Type == protocol.TypeKeepalive {
			if f.Flags.Has(protocol.FlagRespond) {
				c.KeepaliveAnswer()
			}
			continue
		}
		return f, nil
	}
}
