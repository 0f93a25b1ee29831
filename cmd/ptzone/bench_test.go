package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ptzone/ptzone/daemon"
	"github.com/ptzone/ptzone/publish"
	"github.com/ptzone/ptzone/store"
)

// BenchmarkPublishHeld measures a publication as the daemon runs it, after
// 1,000 domains of pt changed their nameservers: one Publisher, wired as
// "zone publish" wires it, publishing again and again with its last zones
// and states held in memory (the CLI reads them from disk each time).
//
// It needs a registry and a data directory that bench/zone.sh prepares
// (PTZONE_BENCH_DATABASE_URL, PTZONE_BENCH_DATA_DIR: keys and a first
// publication) and is skipped without them. Each iteration's registry
// change is made outside the timer; the first publication, which reads
// the last one from disk, is not timed.
func BenchmarkPublishHeld(b *testing.B) {
	dsn, dir := os.Getenv("PTZONE_BENCH_DATABASE_URL"), os.Getenv("PTZONE_BENCH_DATA_DIR")
	if dsn == "" || dir == "" {
		b.Skip("PTZONE_BENCH_DATABASE_URL and PTZONE_BENCH_DATA_DIR name the registry and data directory bench/zone.sh prepares")
	}
	ctx := context.Background()
	e := &env{stdout: io.Discard, stderr: io.Discard, getenv: func(k string) string {
		if k == "PTZONE_DATA_DIR" {
			return dir
		}
		return os.Getenv(k)
	}}
	var pf pipelineFlags
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	pf.register(fs)
	if err := fs.Parse([]string{"--db", dsn, "--assume-checked"}); err != nil {
		b.Fatal(err)
	}
	pub, reg, err := pf.publisher(ctx, e, &daemon.Config{}, filepath.Join(dir, "zones"))
	if err != nil {
		b.Fatal(err)
	}
	defer reg.Close()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)

	// Rounds of 1,000 domains each, past those bench/zone.sh changes,
	// moved to servers named for this run. Each round takes domains no
	// run of this benchmark has moved yet: a domain's first move can take
	// glue away, a later one cannot, and a run after another would
	// otherwise measure only later moves.
	round, run := 0, time.Now().Unix()
	change := func() {
		round++
		hosts := []string{fmt.Sprintf("ns1.held%d-%d.example", run, round), fmt.Sprintf("ns2.held%d-%d.example", run, round)}
		if _, err := conn.Exec(ctx, `UPDATE domains SET nameservers = ptz_make_nameservers($1, ARRAY['','']), updated = now()
			WHERE id IN (SELECT id FROM domains WHERE zone = 'pt' AND status = 'active' AND ns_text NOT LIKE '%.held%'
				ORDER BY id OFFSET 100000 LIMIT 1000)`, hosts); err != nil {
			b.Fatal(err)
		}
	}
	at := time.Now().UTC().Truncate(time.Second).Add(time.Hour)
	publishOnce := func() publish.Times {
		at = at.Add(time.Minute)
		outs, err := pub.RunOnce(ctx, publish.Request{Now: at, TriggeredBy: "bench"})
		if err != nil {
			b.Fatal(err)
		}
		var t publish.Times
		for _, o := range outs {
			if o.Outcome != store.OutcomePublished && o.Outcome != publish.OutcomeUnchanged {
				b.Fatalf("%s: %s %v", o.Zone, o.Outcome, o.Refusals)
			}
			if o.Zone == "pt" && (o.Outcome != store.OutcomePublished || o.Mode != "incremental") {
				b.Fatalf("pt: %s, %s: not an incremental publication", o.Outcome, o.Mode)
			}
			t.Load, t.Generate = o.Times.Load, o.Times.Generate
			t.Sign += o.Times.Sign
			t.Verify += o.Times.Verify
			t.Write += o.Times.Write
		}
		return t
	}
	change()
	publishOnce() // reads the last publication from disk
	var sum publish.Times
	for b.Loop() {
		b.StopTimer()
		change()
		b.StartTimer()
		t := publishOnce()
		sum.Load += t.Load
		sum.Generate += t.Generate
		sum.Sign += t.Sign
		sum.Verify += t.Verify
		sum.Write += t.Write
	}
	n := float64(b.N)
	b.ReportMetric(sum.Load.Seconds()/n, "load-s/op")
	b.ReportMetric(sum.Generate.Seconds()/n, "generate-s/op")
	b.ReportMetric(sum.Sign.Seconds()/n, "sign-s/op")
	b.ReportMetric(sum.Verify.Seconds()/n, "verify-s/op")
	b.ReportMetric(sum.Write.Seconds()/n, "write-s/op")
}
