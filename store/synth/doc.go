// Package synth generates synthetic registries shaped like .pt, for
// benchmarks, load tests and the demo: the spread of domains over the
// hierarchies and statuses, about 8% signed (DS), about 10% with their own
// in-bailiwick nameservers (glue), and the rest on a few hundred shared
// hosting providers whose popularity follows a Zipf law. The same options
// always give the same registry, domain by domain.
package synth
