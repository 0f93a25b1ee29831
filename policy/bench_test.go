package policy_test

import (
	"testing"

	"github.com/ptzone/ptzone/policy"
)

func BenchmarkCheckNameExisting(b *testing.B) {
	for _, n := range []string{"padaria-central.pt", "xn--aores-caf-q3a4a.com.pt"} {
		b.Run(n, func(b *testing.B) {
			for range b.N {
				if !pol.CheckName(n, policy.Options{Mode: policy.Existing}).Valid {
					b.Fatal("invalid")
				}
			}
		})
	}
}
