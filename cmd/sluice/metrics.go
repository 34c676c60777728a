package main

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sluicehq/sluice/server"
)

// maxStreamSeries caps the per-stream series exported on one scrape.
const maxStreamSeries = 2000

// metricsHandler exports the server's counters and a per-connection,
// per-stream view of demand in the Prometheus text format.
func metricsHandler(srv *server.Server) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := srv.Metrics()
	counter := func(name, help string, f func() int64) {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help},
			func() float64 { return float64(f()) }))
	}
	gauge := func(name, help string, f func() int64) {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help},
			func() float64 { return float64(f()) }))
	}
	counter("sluice_connections_total", "Connections accepted (SETUP accepted).", m.ConnectionsOpened.Load)
	gauge("sluice_connections_open", "Connections open now.", func() int64 { return m.ConnectionsOpened.Load() - m.ConnectionsClosed.Load() })
	counter("sluice_streams_total", "Streams opened.", m.StreamsOpened.Load)
	gauge("sluice_streams_open", "Streams open now.", func() int64 { return m.StreamsOpened.Load() - m.StreamsClosed.Load() })
	counter("sluice_elements_sent_total", "Elements (PAYLOAD with N) sent.", m.ElementsSent.Load)
	counter("sluice_elements_received_total", "Elements received.", m.ElementsReceived.Load)
	counter("sluice_request_n_received_total", "REQUEST_N frames received.", m.RequestNReceived.Load)
	counter("sluice_request_n_sent_total", "REQUEST_N frames sent.", m.RequestNSent.Load)
	counter("sluice_credit_granted_total", "Credit (elements) granted to the server by REQUEST_N.", m.CreditGranted.Load)
	counter("sluice_credit_requested_total", "Credit (elements) the server granted to peers.", m.CreditRequested.Load)
	counter("sluice_slow_consumer_closes_total", "Connections closed because the peer stopped reading.", m.SlowConsumerCloses.Load)
	counter("sluice_protocol_errors_total", "ERROR frames sent because of malformed or illegal input.", m.ProtocolErrors.Load)
	counter("sluice_frames_written_total", "Frames written.", m.FramesWritten.Load)
	counter("sluice_flushes_total", "Write system calls (batches) made.", m.Flushes.Load)
	gauge("sluice_queued_bytes", "Bytes queued for writers, not yet on the socket.", m.QueuedBytes.Load)
	reg.MustRegister(&streamCollector{srv: srv})
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}

var (
	labels          = []string{"conn", "name", "stream", "route", "kind"}
	descOutstanding = prometheus.NewDesc("sluice_stream_credit_outstanding", "Credit the peer granted that is not used yet (2^31-1 = unbounded).", labels, nil)
	descGranted     = prometheus.NewDesc("sluice_stream_credit_granted", "Credit the peer granted in all (saturating).", labels, nil)
	descSent        = prometheus.NewDesc("sluice_stream_elements_sent", "Elements sent on the stream.", labels, nil)
	descReceived    = prometheus.NewDesc("sluice_stream_elements_received", "Elements received on the stream.", labels, nil)
	descQueued      = prometheus.NewDesc("sluice_stream_queued_bytes", "Bytes queued on the stream for the writer.", labels, nil)
	descStarved     = prometheus.NewDesc("sluice_stream_starved_seconds", "Time the producer waited for credit.", labels, nil)
	descConnQueued  = prometheus.NewDesc("sluice_connection_queued_bytes", "Bytes queued on the connection until they reach the socket.", []string{"conn", "name"}, nil)
)

type streamCollector struct{ srv *server.Server }

func (c *streamCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descOutstanding, descGranted, descSent, descReceived, descQueued, descStarved, descConnQueued} {
		ch <- d
	}
}

func (c *streamCollector) Collect(ch chan<- prometheus.Metric) {
	n := 0
	for _, conn := range c.srv.Connections() {
		id := fmt.Sprintf("%p", conn)
		st := conn.Stats()
		ch <- prometheus.MustNewConstMetric(descConnQueued, prometheus.GaugeValue, float64(st.QueuedBytes), id, conn.Name)
		for _, s := range st.Streams {
			if n >= maxStreamSeries {
				return
			}
			n++
			l := []string{id, conn.Name, strconv.FormatUint(uint64(s.ID), 10), s.Route, s.Kind}
			ch <- prometheus.MustNewConstMetric(descOutstanding, prometheus.GaugeValue, float64(s.CreditOutstanding), l...)
			ch <- prometheus.MustNewConstMetric(descGranted, prometheus.GaugeValue, float64(s.CreditGranted), l...)
			ch <- prometheus.MustNewConstMetric(descSent, prometheus.GaugeValue, float64(s.Sent), l...)
			ch <- prometheus.MustNewConstMetric(descReceived, prometheus.GaugeValue, float64(s.Received), l...)
			ch <- prometheus.MustNewConstMetric(descQueued, prometheus.GaugeValue, float64(s.QueuedBytes), l...)
			ch <- prometheus.MustNewConstMetric(descStarved, prometheus.GaugeValue, s.Starved.Seconds(), l...)
		}
	}
}
