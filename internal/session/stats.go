package session

import (
	"sync/atomic"
	"time"
)

// Metrics are counters shared by many connections (a server's, say). All
// fields are updated atomically; read them at any time.
type Metrics struct {
	ConnectionsOpened  atomic.Int64
	ConnectionsClosed  atomic.Int64
	StreamsOpened      atomic.Int64
	StreamsClosed      atomic.Int64
	ElementsSent       atomic.Int64
	ElementsReceived   atomic.Int64
	RequestNSent       atomic.Int64 // REQUEST_N frames sent
	RequestNReceived   atomic.Int64 // REQUEST_N frames received
	CreditGranted      atomic.Int64 // credit granted to us by peers (sum of N, unbounded counted once as 2^31-1)
	CreditRequested    atomic.Int64 // credit we granted to peers
	SlowConsumerCloses atomic.Int64
	ProtocolErrors     atomic.Int64 // ERROR frames we sent because of the peer's input
	QueuedBytes        atomic.Int64 // gauge: bytes queued for the writers of all connections
	FramesWritten      atomic.Int64
	Flushes            atomic.Int64
}

// Stats is a snapshot of one connection.
type Stats struct {
	Server        bool
	StreamsOpen   int
	QueuedBytes   int // bytes queued until they reach the socket
	ControlQueued int // control frames waiting
	Sent          int64
	Received      int64
	Streams       []StreamStats
}

// StreamStats is a snapshot of one stream.
type StreamStats struct {
	ID        uint32
	Kind      string // "request-response", "request-stream", "request-channel", "fire-and-forget"
	Requester bool
	Route     string
	// Outbound: credit the peer granted us and what we used.
	CreditGranted     int64 // cumulative credit granted by the peer (saturating at 2^31-1)
	CreditOutstanding int64 // credit left; 2^31-1 = unbounded
	Sent              int64 // elements sent (queued for the writer)
	QueuedFrames      int
	QueuedBytes       int
	Starved           time.Duration // total time Send waited for credit
	// Inbound: credit we granted and what arrived.
	Requested int64 // cumulative credit we granted (saturating)
	InFlight  int64 // granted minus received
	Received  int64
	Buffered  int // elements received but not yet taken by the application
}
