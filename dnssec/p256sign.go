package dnssec

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"math/big"

	"filippo.io/bigmod"
	"filippo.io/nistec"
)

// p256Signer makes ECDSA P-256 signatures (algorithm 13) with one private
// key, many at a time, exactly as crypto/ecdsa makes them with a nil
// random source: deterministic nonces per RFC 6979 §3.2 (HMAC-SHA-256),
// r and s as RFC 6605 §4 lays them out.
//
// A full signing of .pt makes over 300,000 signatures with one ZSK, and
// crypto/ecdsa spends a quarter of each on inverting the nonce mod n and
// another on instantiating its HMAC-DRBG through generic interfaces. Here
// a batch of signatures shares one inversion (Montgomery's trick: three
// multiplications each instead of an exponentiation each), and the HMACs
// are computed over stack buffers. The nonce times G is nistec's
// constant-time fixed-base multiplication, and the scalar arithmetic is
// bigmod's constant-time arithmetic: both are Go's own P-256 and modular
// code, published as modules. No signature leaves a batch that is not
// the one crypto/ecdsa would have made (TestP256SignerMatchesStdlib), and
// every batch checks one of its signatures against the public key.
type p256Signer struct {
	key  string // the key's name, for errors
	priv *ecdsa.PrivateKey
	d    *bigmod.Nat
	x    [32]byte // int2octets(x), RFC 6979 §2.3.3
}

// p256Sig is one signature to make: the SHA-256 digest of the data, and
// where its r and s go (64 octets).
type p256Sig struct {
	digest [32]byte
	out    []byte
}

var (
	p256N         = mustModulus(elliptic.P256().Params().N)
	p256NMinusTwo = new(big.Int).Sub(elliptic.P256().Params().N, big.NewInt(2)).Bytes()
)

func mustModulus(n *big.Int) *bigmod.Modulus {
	m, err := bigmod.NewModulus(n.Bytes())
	if err != nil {
		panic(err)
	}
	return m
}

// newP256Signer returns the batch signer of a key, or nil when the key is
// not an in-memory ECDSA P-256 key (an HSM's, say, which signs one at a
// time through crypto.Signer).
func newP256Signer(k *Key) *p256Signer {
	priv, ok := k.Signer.(*ecdsa.PrivateKey)
	if !ok || k.Algorithm() != ECDSAP256SHA256 || priv.Curve != elliptic.P256() {
		return nil
	}
	raw, err := priv.Bytes()
	if err != nil || len(raw) != 32 {
		return nil
	}
	d, err := bigmod.NewNat().SetBytes(raw, p256N)
	if err != nil || d.IsZero() == 1 {
		return nil
	}
	s := &p256Signer{key: k.String(), priv: priv, d: d}
	copy(s.x[:], raw)
	return s
}

// p256Nonce is one signature's state between the nonce and s.
type p256Nonce struct {
	e, k, r *bigmod.Nat
	prefix  *bigmod.Nat // the product of the batch's nonces before this one
	slow    bool        // k or r out of range: crypto/ecdsa makes this one
}

// p256SignScratch is a batch's arithmetic state, kept by a signing worker from
// one batch to the next: every bigmod number is an allocation of 256
// octets, and a full signing of .pt would otherwise make two million of
// them (half the garbage of the whole build).
type p256SignScratch struct {
	nonces              []p256Nonce
	acc, inv, kInv, sig *bigmod.Nat
	R                   *nistec.P256Point
}

// grow returns the scratch's first n nonces, each with its numbers.
func (s *p256SignScratch) grow(n int) []p256Nonce {
	if s.acc == nil {
		s.acc, s.inv, s.kInv, s.sig = bigmod.NewNat(), bigmod.NewNat(), bigmod.NewNat(), bigmod.NewNat()
		s.R = nistec.NewP256Point()
	}
	for len(s.nonces) < n {
		s.nonces = append(s.nonces, p256Nonce{e: bigmod.NewNat(), k: bigmod.NewNat(), r: bigmod.NewNat(), prefix: bigmod.NewNat()})
	}
	return s.nonces[:n]
}

// sign makes the batch's signatures, with s's numbers.
func (p *p256Signer) sign(batch []p256Sig, s *p256SignScratch) error {
	if len(batch) == 0 {
		return nil
	}
	nonces := s.grow(len(batch))
	for i := range batch {
		p.nonce(&batch[i].digest, &nonces[i], s.R)
	}
	if err := p.finish(batch, nonces, s); err != nil {
		return err
	}
	// One signature of the batch checked against the public key: a fault
	// in the arithmetic would otherwise go out in every signature.
	c := &batch[len(batch)/2]
	r, sv := new(big.Int).SetBytes(c.out[:32]), new(big.Int).SetBytes(c.out[32:])
	if !ecdsa.Verify(&p.priv.PublicKey, c.digest[:], r, sv) {
		return fmt.Errorf("signing with key %s: a signature of the batch does not verify against its public key", p.key)
	}
	return nil
}

// nonce derives k from the digest as RFC 6979 §3.2 says (qlen = hlen =
// 256, so bits2int is the identity on 32 octets), and r from k·G, into n;
// R is scratch for k·G.
func (p *p256Signer) nonce(digest *[32]byte, n *p256Nonce, R *nistec.P256Point) {
	n.slow = false
	// e = bits2int(h) mod n, whose octets are bits2octets(h) (§2.3.4).
	e, _ := n.e.SetOverflowingBytes(digest[:], p256N)
	h1 := e.Bytes(p256N)

	var v, key [32]byte
	for i := range v {
		v[i] = 0x01
	}
	// K = HMAC_K(V || 0x00 || int2octets(x) || bits2octets(h1)) with K all
	// zero, V = HMAC_K(V), then the same with 0x01, and V = HMAC_K(V) once
	// more: T, which is k if it lies in [1, n-1].
	key = hmacSHA256(&key, v[:], []byte{0x00}, p.x[:], h1)
	v = hmacSHA256(&key, v[:])
	key = hmacSHA256(&key, v[:], []byte{0x01}, p.x[:], h1)
	v = hmacSHA256(&key, v[:])
	v = hmacSHA256(&key, v[:])

	k, err := n.k.SetBytes(v[:], p256N)
	if err != nil || k.IsZero() == 1 {
		// Step h.3 would draw again; with n this close to 2^256 that
		// happens about once in 2^32 signatures, and crypto/ecdsa does it.
		n.slow = true
		return
	}
	R, err = R.ScalarBaseMult(v[:])
	if err != nil {
		n.slow = true
		return
	}
	x, err := R.BytesX()
	if err != nil {
		n.slow = true
		return
	}
	r, _ := n.r.SetOverflowingBytes(x, p256N)
	if r.IsZero() == 1 {
		n.slow = true
	}
}

// finish computes s = k⁻¹·(e + r·d) mod n for every signature, inverting
// all the nonces with one exponentiation.
func (p *p256Signer) finish(batch []p256Sig, nonces []p256Nonce, scratch *p256SignScratch) error {
	// prefix is the product of the nonces before i that are not slow.
	acc := scratch.acc.SetUint(1).ExpandFor(p256N)
	for i := range nonces {
		natSet(nonces[i].prefix, acc)
		if !nonces[i].slow {
			acc.Mul(nonces[i].k, p256N)
		}
	}
	inv := scratch.inv.Exp(acc, p256NMinusTwo, p256N) // the inverse of every k's product
	for i := len(nonces) - 1; i >= 0; i-- {
		n := &nonces[i]
		if n.slow {
			if err := p.signSlow(&batch[i]); err != nil {
				return err
			}
			continue
		}
		kInv := natSet(scratch.kInv, inv).Mul(n.prefix, p256N)
		inv.Mul(n.k, p256N)
		s := natSet(scratch.sig, p.d).Mul(n.r, p256N)
		s.Add(n.e, p256N)
		s.Mul(kInv, p256N)
		if s.IsZero() == 1 {
			if err := p.signSlow(&batch[i]); err != nil {
				return err
			}
			continue
		}
		copy(batch[i].out[:32], n.r.Bytes(p256N))
		copy(batch[i].out[32:], s.Bytes(p256N))
	}
	return nil
}

// signSlow makes one signature through crypto/ecdsa.
func (p *p256Signer) signSlow(sig *p256Sig) error {
	der, err := p.priv.Sign(nil, sig.digest[:], crypto.SHA256)
	if err != nil {
		return fmt.Errorf("signing with key %s: %w", p.key, err)
	}
	raw, err := derToRaw(der, 32)
	if err != nil {
		return fmt.Errorf("signing with key %s: %w", p.key, err)
	}
	copy(sig.out, raw)
	return nil
}

// natSet sets dst to x (below n) and returns dst.
func natSet(dst, x *bigmod.Nat) *bigmod.Nat {
	return dst.SetUint(0).ExpandFor(p256N).Add(x, p256N) // 0 + x
}

// hmacSHA256 returns HMAC-SHA-256 (RFC 2104) under a 32-octet key of the
// concatenated parts, at most 97 octets (V || 0x00 || x || h1).
func hmacSHA256(key *[32]byte, parts ...[]byte) [32]byte {
	var in [64 + 97]byte
	for i := range 64 {
		in[i] = 0x36
	}
	subtle.XORBytes(in[:32], in[:32], key[:])
	n := 64
	for _, p := range parts {
		if n+len(p) > len(in) {
			panic(fmt.Sprintf("dnssec: HMAC input of more than %d octets", len(in)-64))
		}
		n += copy(in[n:], p)
	}
	inner := sha256.Sum256(in[:n])
	var out [64 + 32]byte
	for i := range 64 {
		out[i] = 0x5c
	}
	subtle.XORBytes(out[:32], out[:32], key[:])
	copy(out[64:], inner[:])
	return sha256.Sum256(out[:])
}

// sigQueue holds the signatures a signing worker has queued for batch
// signers since it last flushed.
type sigQueue struct {
	order   []*p256Signer
	pending map[*p256Signer][]p256Sig
	scratch p256SignScratch
}

func newSigQueue() *sigQueue { return &sigQueue{pending: map[*p256Signer][]p256Sig{}} }

// to returns where signRRset queues a signature by p: nowhere (it signs
// at once) when there is no batch signer (p is nil) or no queue (q is
// nil). A value, not a closure: it is made for every signature.
func (q *sigQueue) to(p *p256Signer) queued { return queued{q, p} }

// queued is a queue and the batch signer whose signatures go in it.
type queued struct {
	q *sigQueue
	p *p256Signer
}

func (b queued) active() bool { return b.q != nil && b.p != nil }

func (b queued) add(digest [32]byte, out []byte) {
	if _, ok := b.q.pending[b.p]; !ok {
		b.q.order = append(b.q.order, b.p)
	}
	b.q.pending[b.p] = append(b.q.pending[b.p], p256Sig{digest: digest, out: out})
}

// flush makes every queued signature.
func (q *sigQueue) flush() error {
	for _, p := range q.order {
		if err := p.sign(q.pending[p], &q.scratch); err != nil {
			return err
		}
		q.pending[p] = q.pending[p][:0]
	}
	return nil
}
