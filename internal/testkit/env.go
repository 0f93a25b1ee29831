package testkit

import (
	"os"
	"strconv"
	"testing"
)

// EnvInt returns the positive number in the environment variable name,
// or def when it is unset: benchmarks take their sizes so, small by
// default and large when the scripts of bench/ set them. Any other value
// fails the test, naming the variable.
func EnvInt(t testing.TB, name string, def int) int {
	t.Helper()
	v, ok := os.LookupEnv(name)
	if !ok || v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		t.Fatalf("%s=%q is not a positive number", name, v)
	}
	return n
}
