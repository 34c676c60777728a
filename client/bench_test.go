package client_test

import (
	"context"
	"strconv"
	"sync"
	"testing"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/client"
	"github.com/sluicehq/sluice/internal/testserver"
	"github.com/sluicehq/sluice/protocol"
	"github.com/sluicehq/sluice/server"
)

func benchStream(b *testing.B, size int, prefetch int64) {
	_, url := testserver.Start(b, server.Options{})
	c, err := client.Dial(context.Background(), url)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	b.ReportAllocs()
	b.SetBytes(int64(size))
	b.ResetTimer()
	s, err := c.RequestStream(ctx, sluice.Text(strconv.Itoa(b.N)+" "+strconv.Itoa(size)), client.Route("blob"), client.Prefetch(prefetch))
	if err != nil {
		b.Fatal(err)
	}
	n := 0
	for _, err := range s.All(ctx) {
		if err != nil {
			b.Fatal(err)
		}
		n++
	}
	if n != b.N {
		b.Fatalf("got %d of %d", n, b.N)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "elems/s")
}

func BenchmarkStream64Unbounded(b *testing.B)   { benchStream(b, 64, protocol.MaxN) }
func BenchmarkStream64Prefetch256(b *testing.B) { benchStream(b, 64, 256) }
func BenchmarkStream1KUnbounded(b *testing.B)   { benchStream(b, 1024, protocol.MaxN) }
func BenchmarkStream1KPrefetch256(b *testing.B) { benchStream(b, 1024, 256) }

func BenchmarkRequestResponse64InFlight(b *testing.B) {
	_, url := testserver.Start(b, server.Options{})
	c, err := client.Dial(context.Background(), url)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	data := make([]byte, 64)
	b.ReportAllocs()
	b.ResetTimer()
	var wg sync.WaitGroup
	per := b.N / 64
	for w := 0; w < 64; w++ {
		n := per
		if w == 0 {
			n += b.N % 64
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range n {
				if _, err := c.RequestResponse(ctx, sluice.Payload{Data: data}, client.Route("echo")); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "reqs/s")
}

func BenchmarkStream64Prefetch1024(b *testing.B) { benchStream(b, 64, 1024) }
