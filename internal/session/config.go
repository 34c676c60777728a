package session

import (
	"log/slog"
	"time"

	"github.com/sluicehq/sluice"
)

// Config holds the limits and policies of one connection. Zero fields take the
// defaults documented on each field.
type Config struct {
	// Server selects the server role: even stream IDs for our requests, odd for the peer's.
	Server bool
	// Handlers answer the peer's requests. nil rejects every request with REJECTED.
	Handlers *sluice.Handlers

	// MTU is the largest frame we send; larger elements are fragmented so that
	// other streams interleave. Default 64 KiB; minimum 64.
	MTU int
	// MaxReassembly caps the size of one reassembled element (metadata+data).
	// Default 16 MiB.
	MaxReassembly int
	// MaxStreams caps the streams the peer may have open at once. Default 1024.
	MaxStreams int
	// StreamQueueBytes caps the bytes one stream may have queued for the writer
	// (one element is always allowed). Default 64 KiB.
	StreamQueueBytes int
	// ConnBudget caps the bytes queued on the connection until they reach the
	// socket; producers block beyond it. Default 1 MiB.
	ConnBudget int
	// ControlLaneMax caps queued control frames; a peer that makes us queue more
	// (for example a flood of KEEPALIVEs while it does not read) is disconnected.
	// Default 4096.
	ControlLaneMax int
	// WriteTimeout is how long a flush may block before the peer is closed as a
	// slow consumer. Default 30 s.
	WriteTimeout time.Duration
	// KeepaliveInterval is the interval of our KEEPALIVE frames (R=1).
	// Default 20 s. The server takes the client's value from SETUP.
	KeepaliveInterval time.Duration
	// MaxLifetime is how long the peer may be silent before the connection is
	// closed. Default 90 s. The server takes the client's value from SETUP.
	MaxLifetime time.Duration
	// MinKeepalive is the shortest keepalive interval a server follows, whatever
	// the client asked for in SETUP. Default 1 s.
	MinKeepalive time.Duration
	// SetupTimeout is how long a server waits for SETUP. Default 10 s.
	SetupTimeout time.Duration
	// ChannelPrefetch is the credit window a responder grants for the inbound
	// half of a channel. Default 64.
	ChannelPrefetch int

	// InlineReader makes Accept leave the reader loop to the caller, who runs it
	// with Conn.Serve on a goroutine it has anyway (a server's handler).
	InlineReader bool

	// Logger receives connection-level events. Default: slog.Default().
	Logger *slog.Logger
	// FrameHook, when set, sees every frame that crosses, on the reader (in=true)
	// and writer goroutines. It must not keep or modify the slice.
	FrameHook func(in bool, frame []byte)
	// Metrics, when set, receives counter updates.
	Metrics *Metrics
}

// Defaults of Config.
const (
	DefaultMTU              = 64 << 10
	DefaultMaxReassembly    = 16 << 20
	DefaultMaxStreams       = 1024
	DefaultStreamQueueBytes = 64 << 10
	DefaultConnBudget       = 1 << 20
	DefaultControlLaneMax   = 4096
	DefaultWriteTimeout     = 30 * time.Second
	DefaultKeepalive        = 20 * time.Second
	DefaultLifetime         = 90 * time.Second
	DefaultChannelPrefetch  = 64
	minMTU                  = 64
)

func (c *Config) withDefaults() Config {
	d := *c
	set := func(v *int, def int) {
		if *v <= 0 {
			*v = def
		}
	}
	set(&d.MTU, DefaultMTU)
	if d.MTU < minMTU {
		d.MTU = minMTU
	}
	set(&d.MaxReassembly, DefaultMaxReassembly)
	set(&d.MaxStreams, DefaultMaxStreams)
	set(&d.StreamQueueBytes, DefaultStreamQueueBytes)
	set(&d.ConnBudget, DefaultConnBudget)
	set(&d.ControlLaneMax, DefaultControlLaneMax)
	set(&d.ChannelPrefetch, DefaultChannelPrefetch)
	if d.WriteTimeout <= 0 {
		d.WriteTimeout = DefaultWriteTimeout
	}
	if d.KeepaliveInterval <= 0 {
		d.KeepaliveInterval = DefaultKeepalive
	}
	if d.MaxLifetime <= 0 {
		d.MaxLifetime = DefaultLifetime
	}
	if d.MinKeepalive <= 0 {
		d.MinKeepalive = time.Second
	}
	if d.SetupTimeout <= 0 {
		d.SetupTimeout = 10 * time.Second
	}
	if d.Server && d.KeepaliveInterval < d.MinKeepalive {
		d.KeepaliveInterval = d.MinKeepalive
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.Handlers == nil {
		d.Handlers = &sluice.Handlers{}
	}
	return d
}
