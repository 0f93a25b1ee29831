package ptzone

import _ "embed"

// SampleRegistry is testdata/registry/sample.jsonl: a few hundred realistic
// .pt domains in the interchange format, across every hierarchy and status,
// with glue, IPv6 and DS records (legacy algorithms included).
//
//go:embed testdata/registry/sample.jsonl
var SampleRegistry []byte
