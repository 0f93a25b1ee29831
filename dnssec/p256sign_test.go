package dnssec

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"math/big"
	"testing"

	"github.com/miekg/dns"
)

func p256TestKey(t testing.TB) (*Key, *ecdsa.PrivateKey) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &Key{DNSKEY: &dns.DNSKEY{Algorithm: ECDSAP256SHA256}, Signer: priv}, priv
}

// stdlibSignature is what crypto/ecdsa signs with a nil random source
// (RFC 6979), as r and s.
func stdlibSignature(t testing.TB, priv *ecdsa.PrivateKey, digest []byte) []byte {
	t.Helper()
	der, err := priv.Sign(nil, digest, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := derToRaw(der, 32)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// TestP256SignerMatchesStdlib: every signature of a batch is, byte for
// byte, the one crypto/ecdsa makes. RFC 6979 makes one signature per key
// and digest, so a nonce derived in any other way (a different HMAC
// input, a missing step, a k not reduced as the RFC says) gives another r,
// and any slip in s another s.
func TestP256SignerMatchesStdlib(t *testing.T) {
	n := elliptic.P256().Params().N
	edge := [][32]byte{
		{},                                      // e = 0
		[32]byte(n.FillBytes(make([]byte, 32))), // e = n, reduced to 0
		[32]byte(new(big.Int).Sub(n, big.NewInt(1)).FillBytes(make([]byte, 32))), // e = n-1
		[32]byte(bytesOf(0xff, 32)), // e = 2^256-1, reduced
	}
	for _, size := range []int{1, 2, 3, 64, 513} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			k, priv := p256TestKey(t)
			p := newP256Signer(k)
			if p == nil {
				t.Fatal("no batch signer for a P-256 key")
			}
			batch := make([]p256Sig, size)
			for i := range batch {
				if i < len(edge) && size > len(edge) {
					batch[i].digest = edge[i]
				} else {
					batch[i].digest = sha256.Sum256(fmt.Appendf(nil, "rrset %d of %d", i, size))
				}
				batch[i].out = make([]byte, 64)
			}
			if err := p.sign(batch, &p256SignScratch{}); err != nil {
				t.Fatal(err)
			}
			for i, s := range batch {
				if want := stdlibSignature(t, priv, s.digest[:]); string(s.out) != string(want) {
					t.Fatalf("signature %d of %d: %x, crypto/ecdsa makes %x", i, size, s.out, want)
				}
			}
		})
	}
}

// TestP256SignerSlowPath: a signature whose nonce falls outside [1, n-1]
// (about one in 2^32, so never by chance in a test) is made by
// crypto/ecdsa, and the batch's shared inversion leaves it out: the
// others stay right.
func TestP256SignerSlowPath(t *testing.T) {
	k, priv := p256TestKey(t)
	p := newP256Signer(k)
	batch := make([]p256Sig, 9)
	var scratch p256SignScratch
	nonces := scratch.grow(len(batch))
	for i := range batch {
		batch[i] = p256Sig{digest: sha256.Sum256([]byte{byte(i)}), out: make([]byte, 64)}
		p.nonce(&batch[i].digest, &nonces[i], scratch.R)
		if i%4 == 0 {
			nonces[i].slow = true // as nonce leaves a rejected k
		}
	}
	if err := p.finish(batch, nonces, &scratch); err != nil {
		t.Fatal(err)
	}
	for i, s := range batch {
		if want := stdlibSignature(t, priv, s.digest[:]); string(s.out) != string(want) {
			t.Fatalf("signature %d: %x, crypto/ecdsa makes %x", i, s.out, want)
		}
	}
}

func TestP256SignerOnlyForP256Keys(t *testing.T) {
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if newP256Signer(&Key{DNSKEY: &dns.DNSKEY{Algorithm: ECDSAP256SHA256}, Signer: p384}) != nil {
		t.Fatal("a P-384 key got the P-256 batch signer")
	}
	_, priv := p256TestKey(t)
	if newP256Signer(&Key{DNSKEY: &dns.DNSKEY{Algorithm: RSASHA256}, Signer: priv}) != nil {
		t.Fatal("a key of algorithm 8 got the P-256 batch signer")
	}
	if newP256Signer(&Key{DNSKEY: &dns.DNSKEY{Algorithm: ECDSAP256SHA256}, Signer: opaqueSigner{priv}}) != nil {
		t.Fatal("a crypto.Signer that is not an in-memory key got the batch signer")
	}
}

// opaqueSigner hides the key type, as an HSM's signer would.
type opaqueSigner struct{ crypto.Signer }

func bytesOf(b byte, n int) []byte {
	out := make([]byte, n)
	for i := range out {
		out[i] = b
	}
	return out
}

// BenchmarkP256Sign compares crypto/ecdsa's RFC 6979 signing with the
// batch signer, per signature.
func BenchmarkP256Sign(b *testing.B) {
	k, priv := p256TestKey(b)
	digests := make([][32]byte, 512)
	for i := range digests {
		digests[i] = sha256.Sum256([]byte{byte(i), byte(i >> 8)})
	}
	b.Run("stdlib", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			if _, err := priv.Sign(nil, digests[i%len(digests)][:], crypto.SHA256); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("batch512", func(b *testing.B) {
		p := newP256Signer(k)
		batch := make([]p256Sig, len(digests))
		for i := range batch {
			batch[i] = p256Sig{digest: digests[i], out: make([]byte, 64)}
		}
		var scratch p256SignScratch
		for b.Loop() {
			if err := p.sign(batch, &scratch); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(batch)), "ns/sig")
	})
}
