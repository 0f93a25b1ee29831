package dnssec

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"math/big"
	"math/rand/v2"
	"testing"
)

// testP256Key returns a key pair whose verifier has its table built.
func testP256Key(t testing.TB, seed uint64) (*ecdsa.PrivateKey, *p256Key) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.NewChaCha8([32]byte{byte(seed)}))
	if err != nil {
		t.Fatal(err)
	}
	raw := append(priv.X.FillBytes(make([]byte, 32)), priv.Y.FillBytes(make([]byte, 32))...)
	k, ok := newP256Key(raw)
	if !ok {
		t.Fatal("newP256Key refused a valid key")
	}
	k.buildTable()
	return priv, k
}

func rawSig(r, s *big.Int) []byte {
	return append(r.FillBytes(make([]byte, 32)), s.FillBytes(make([]byte, 32))...)
}

// stdVerify is the reference the table path must agree with.
func stdVerify(k *p256Key, digest, sig []byte) bool {
	return ecdsa.Verify(k.pub, digest, new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:]))
}

func TestP256TableAgreesWithCryptoECDSA(t *testing.T) {
	priv, k := testP256Key(t, 1)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 300 {
		msg := []byte{byte(i), byte(i >> 8), byte(rng.Uint32())}
		digest := sha256.Sum256(msg)
		r, s, err := ecdsa.Sign(rand.NewChaCha8([32]byte{byte(i)}), priv, digest[:])
		if err != nil {
			t.Fatal(err)
		}
		sig := rawSig(r, s)
		if !k.verifyWithTable(digest[:], sig) {
			t.Fatalf("signature %d: a valid signature was rejected", i)
		}
		// A flipped bit anywhere in the signature or the digest.
		bad := append([]byte(nil), sig...)
		bad[rng.IntN(64)] ^= 1 << rng.IntN(8)
		if got, want := k.verifyWithTable(digest[:], bad), stdVerify(k, digest[:], bad); got != want || got {
			t.Fatalf("signature %d tampered: table path %v, crypto/ecdsa %v", i, got, want)
		}
		badDigest := digest
		badDigest[rng.IntN(32)] ^= 1 << rng.IntN(8)
		if k.verifyWithTable(badDigest[:], sig) {
			t.Fatalf("signature %d accepted over another digest", i)
		}
	}
}

func TestP256TableRejectsOutOfRangeScalars(t *testing.T) {
	priv, k := testP256Key(t, 2)
	digest := sha256.Sum256([]byte("canary"))
	r, s, _ := ecdsa.Sign(rand.NewChaCha8([32]byte{9}), priv, digest[:])
	n := p256Order
	nMinus1 := new(big.Int).Sub(n, big.NewInt(1))
	max := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 256), big.NewInt(1))
	for _, c := range []struct {
		name string
		r, s *big.Int
	}{
		{"r=0", big.NewInt(0), s},
		{"s=0", r, big.NewInt(0)},
		{"r=n", n, s},
		{"s=n", r, n},
		{"r=r+n", new(big.Int).Add(r, n).Mod(new(big.Int).Add(r, n), new(big.Int).Lsh(big.NewInt(1), 256)), s},
		{"s=n-s", r, new(big.Int).Sub(n, s)}, // the other valid-looking s is not this key's
		{"r=n-1", nMinus1, s},
		{"s=2^256-1", r, max},
	} {
		sig := rawSig(c.r, c.s)
		if got, want := k.verifyWithTable(digest[:], sig), stdVerify(k, digest[:], sig); got != want {
			t.Errorf("%s: table path %v, crypto/ecdsa %v", c.name, got, want)
		}
	}
}

// ECDSA signatures are malleable: (r, n-s) is valid too. The table path
// must accept it exactly when crypto/ecdsa does.
func TestP256TableAcceptsNegatedS(t *testing.T) {
	priv, k := testP256Key(t, 3)
	digest := sha256.Sum256([]byte("malleable"))
	r, s, _ := ecdsa.Sign(rand.NewChaCha8([32]byte{3}), priv, digest[:])
	sig := rawSig(r, new(big.Int).Sub(p256Order, s))
	if got, want := k.verifyWithTable(digest[:], sig), stdVerify(k, digest[:], sig); got != want || !got {
		t.Fatalf("(r, n-s): table path %v, crypto/ecdsa %v", got, want)
	}
}

// The switch from crypto/ecdsa to the table happens after
// p256TableAfter signatures and must not change any answer.
func TestP256KeySwitchesToTable(t *testing.T) {
	priv, _ := testP256Key(t, 4)
	raw := append(priv.X.FillBytes(make([]byte, 32)), priv.Y.FillBytes(make([]byte, 32))...)
	k, _ := newP256Key(raw)
	digest := sha256.Sum256([]byte("switch"))
	r, s, _ := ecdsa.Sign(rand.NewChaCha8([32]byte{4}), priv, digest[:])
	sig := rawSig(r, s)
	for i := range p256TableAfter + 10 {
		if !k.verify(digest[:], sig) {
			t.Fatalf("verification %d failed", i)
		}
	}
	if k.table == nil {
		t.Fatal("no table after many verifications")
	}
}

func TestNewP256KeyRefusesPointsOffTheCurve(t *testing.T) {
	priv, _ := testP256Key(t, 5)
	raw := append(priv.X.FillBytes(make([]byte, 32)), priv.Y.FillBytes(make([]byte, 32))...)
	raw[63] ^= 1
	if _, ok := newP256Key(raw); ok {
		t.Fatal("accepted a point that is not on P-256")
	}
	if _, ok := newP256Key(raw[:63]); ok {
		t.Fatal("accepted a 63-octet key")
	}
}

func FuzzP256Verify(f *testing.F) {
	priv, k := testP256Key(f, 6)
	digest := sha256.Sum256([]byte("fuzz"))
	r, s, _ := ecdsa.Sign(rand.NewChaCha8([32]byte{6}), priv, digest[:])
	f.Add(digest[:], rawSig(r, s))
	f.Add(digest[:], make([]byte, 64))
	f.Fuzz(func(t *testing.T, digest, sig []byte) {
		if len(digest) != 32 || len(sig) != 64 {
			return
		}
		if got, want := k.verifyWithTable(digest, sig), stdVerify(k, digest, sig); got != want {
			t.Fatalf("table path %v, crypto/ecdsa %v", got, want)
		}
	})
}

func BenchmarkP256Verify(b *testing.B) {
	priv, k := testP256Key(b, 7)
	digest := sha256.Sum256([]byte("bench"))
	r, s, _ := ecdsa.Sign(rand.NewChaCha8([32]byte{7}), priv, digest[:])
	sig := rawSig(r, s)
	b.Run("table", func(b *testing.B) {
		for range b.N {
			k.verifyWithTable(digest[:], sig)
		}
	})
	b.Run("crypto-ecdsa", func(b *testing.B) {
		for range b.N {
			stdVerify(k, digest[:], sig)
		}
	})
}
