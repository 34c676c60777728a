// Package reactor adapts sluice to github.com/jjeffcaii/reactor-go, for code
// coming from rsocket-go: a request-stream becomes a flux.Flux whose
// Subscription.Request(n) is a REQUEST_N on the wire, and a Flux returned by a
// handler is pulled one element per unit of the requester's credit.
//
// It lives in a module of its own so that the sluice module does not depend on
// reactor-go.
package reactor

import (
	"context"
	"errors"
	"io"
	"sync"

	"github.com/jjeffcaii/reactor-go"
	"github.com/jjeffcaii/reactor-go/flux"
	"github.com/jjeffcaii/reactor-go/mono"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/client"
)

// RequestResponse returns a Mono of the response (a sluice.Payload).
func RequestResponse(c *client.Client, p sluice.Payload, opts ...client.CallOption) mono.Mono {
	return mono.Create(func(ctx context.Context, s mono.Sink) {
		resp, err := c.RequestResponse(ctx, p, opts...)
		if err != nil {
			s.Error(err)
			return
		}
		s.Success(resp)
	})
}

// RequestStream returns a Flux of sluice.Payload. Nothing is granted until the
// subscriber requests: each Subscription.Request(n) becomes REQUEST_STREAM(n)
// (the first) or REQUEST_N(n) on the wire, and Cancel sends CANCEL. The Flux
// serves one subscription.
func RequestStream(c *client.Client, p sluice.Payload, opts ...client.CallOption) flux.Flux {
	d := &demand{}
	f := flux.Create(func(ctx context.Context, sink flux.Sink) {
		s, err := c.RequestStream(ctx, p, append(opts, client.Manual())...)
		if err != nil {
			sink.Error(err)
			return
		}
		if !d.attach(s) {
			return // cancelled before the stream existed
		}
		go func() {
			for {
				el, err := s.Recv(ctx)
				switch {
				case err == nil:
					sink.Next(el)
				case errors.Is(err, io.EOF):
					sink.Complete()
					return
				case errors.Is(err, sluice.ErrCanceled):
					return
				default:
					sink.Error(err)
					return
				}
			}
		}()
	})
	return f.DoOnRequest(d.request).DoOnCancel(d.cancel)
}

// demand forwards requests and cancellation to a stream that may not exist
// yet: reactor-go requests in OnSubscribe, before the source runs.
type demand struct {
	mu       sync.Mutex
	s        sluice.Stream
	pending  int64
	canceled bool
}

func (d *demand) attach(s sluice.Stream) bool {
	d.mu.Lock()
	d.s = s
	n, canceled := d.pending, d.canceled
	d.pending = 0
	d.mu.Unlock()
	if canceled {
		s.Cancel()
		return false
	}
	if n > 0 {
		s.Request(n)
	}
	return true
}

func (d *demand) request(n int) {
	if n <= 0 {
		return
	}
	d.mu.Lock()
	s := d.s
	if s == nil {
		d.pending = min(d.pending+int64(n), reactor.RequestInfinite)
	}
	d.mu.Unlock()
	if s != nil {
		s.Request(int64(n))
	}
}

func (d *demand) cancel() {
	d.mu.Lock()
	s := d.s
	d.canceled = true
	d.mu.Unlock()
	if s != nil {
		s.Cancel()
	}
}

// StreamHandler adapts a handler that returns a Flux into a sluice stream
// handler. The Flux is asked for one element each time the requester has
// credit for one, so its source never runs ahead of the network's demand.
// Elements must be sluice.Payload, []byte or string.
func StreamHandler(h func(ctx context.Context, p sluice.Payload) flux.Flux) func(ctx context.Context, p sluice.Payload, out sluice.Sink) error {
	return func(ctx context.Context, p sluice.Payload, out sluice.Sink) error {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		next := make(chan reactor.Any, 1) // a synchronous source emits inside Request(1)
		done := make(chan error, 1)
		subs := make(chan reactor.Subscription, 1)
		h(ctx, p).SubscribeWith(ctx, reactor.NewSubscriber(
			reactor.OnSubscribe(func(ctx context.Context, su reactor.Subscription) { subs <- su }),
			reactor.OnNext(func(v reactor.Any) error {
				select {
				case next <- v:
					return nil
				case <-ctx.Done():
					return ctx.Err()
				}
			}),
			reactor.OnComplete(func() { done <- nil }),
			reactor.OnError(func(err error) { done <- err }),
		))
		var su reactor.Subscription
		select {
		case su = <-subs:
		case err := <-done:
			return err
		}
		for {
			if err := out.Wait(ctx); err != nil {
				su.Cancel()
				return err
			}
			su.Request(1)
			select {
			case v := <-next:
				el, err := toPayload(v)
				if err != nil {
					su.Cancel()
					return err
				}
				if err := out.Send(ctx, el); err != nil {
					su.Cancel()
					return err
				}
			case err := <-done:
				return err
			case <-ctx.Done():
				su.Cancel()
				return ctx.Err()
			}
		}
	}
}

func toPayload(v reactor.Any) (sluice.Payload, error) {
	switch x := v.(type) {
	case sluice.Payload:
		return x, nil
	case []byte:
		return sluice.Payload{Data: x}, nil
	case string:
		return sluice.Text(x), nil
	}
	return sluice.Payload{}, sluice.Errorf("reactor: element of type %T is not a payload", v)
}
