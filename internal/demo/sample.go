package demo

import (
	"bytes"
	"fmt"

	"github.com/ptzone/ptzone"
	"github.com/ptzone/ptzone/interchange"
	"github.com/ptzone/ptzone/policy"
	"github.com/ptzone/ptzone/store"
)

// SampleRecords reads the embedded sample registry, valid or an error.
func SampleRecords() ([]store.ImportRecord, error) {
	v := interchange.Validator{Policy: policy.New(policy.Lists{}), Mode: policy.Existing}
	const name = "testdata/registry/sample.jsonl (embedded)"
	rep, err := interchange.Validate(bytes.NewReader(ptzone.SampleRegistry), name, v, 10)
	if err != nil {
		return nil, err
	}
	if rep.ErrorCount > 0 {
		return nil, fmt.Errorf("the embedded sample registry is invalid: %v", rep.Errors[0])
	}
	var out []store.ImportRecord
	for rec, err := range interchange.Records(bytes.NewReader(ptzone.SampleRegistry), name, v) {
		if err != nil {
			return nil, err
		}
		out = append(out, rec)
	}
	return out, nil
}
