// Command go-cosig-check drives a C2SP tlog-witness over HTTP as a log would, with Go's reference
// implementation, golang.org/x/mod/sumdb/{note,tlog}, and checks what it answers: the statuses
// of tlog-witness v1.0.0, the cosignatures (verified with note.Open and a cosignature/v1
// verifier written here from the C2SP text, on crypto/ed25519), and the monitoring endpoint.
//
//	go-cosig-check -print-log-vkey                   the vkey of the log it plays (fixed seed)
//	go-cosig-check -url URL -witness VKEY            run the checks against a witness that knows it
//
// Build (no module proxy needed; uses the Debian package golang-golang-x-mod-dev):
//
//	GOPATH=/usr/share/gocode GO111MODULE=off go build
package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

const origin = "go-cosig-check.example/log"

// keyHash is the signed-note key ID: SHA-256(name || "\n" || type || key)[:4].
func keyHash(name string, typ byte, key []byte) uint32 {
	h := sha256.New()
	h.Write([]byte(name + "\n"))
	h.Write([]byte{typ})
	h.Write(key)
	return binary.BigEndian.Uint32(h.Sum(nil)[:4])
}

// logSigner is the log's Ed25519 note signer, from a fixed seed.
func logSigner() (note.Signer, string) {
	seed := sha256.Sum256([]byte("go-cosig-check log seed"))
	pub := ed25519.NewKeyFromSeed(seed[:]).Public().(ed25519.PublicKey)
	id := keyHash(origin, 1, pub)
	skey := fmt.Sprintf("PRIVATE+KEY+%s+%08x+%s", origin, id, base64.StdEncoding.EncodeToString(append([]byte{1}, seed[:]...)))
	vkey := fmt.Sprintf("%s+%08x+%s", origin, id, base64.StdEncoding.EncodeToString(append([]byte{1}, pub...)))
	s, err := note.NewSigner(skey)
	if err != nil {
		panic(err)
	}
	return s, vkey
}

// cosigV1 verifies C2SP tlog-cosignature/v1 signatures: an 8-byte big-endian timestamp, then an
// Ed25519 signature over "cosignature/v1\ntime <t>\n" followed by the note text.
type cosigV1 struct {
	name string
	hash uint32
	key  ed25519.PublicKey
}

func (v *cosigV1) Name() string    { return v.name }
func (v *cosigV1) KeyHash() uint32 { return v.hash }
func (v *cosigV1) Verify(msg, sig []byte) bool {
	if len(sig) != 8+ed25519.SignatureSize {
		return false
	}
	t := binary.BigEndian.Uint64(sig[:8])
	signed := append([]byte(fmt.Sprintf("cosignature/v1\ntime %d\n", t)), msg...)
	return ed25519.Verify(v.key, signed, sig[8:])
}

func newCosigV1(vkey string) (*cosigV1, error) {
	parts := strings.SplitN(strings.TrimSpace(vkey), "+", 3)
	if len(parts) != 3 {
		return nil, errors.New("malformed witness vkey")
	}
	raw, err := base64.StdEncoding.DecodeString(parts[2])
	if err != nil || len(raw) != 1+ed25519.PublicKeySize || raw[0] != 4 {
		return nil, errors.New("not a cosignature/v1 (type 0x04) key")
	}
	id, err := strconv.ParseUint(parts[1], 16, 32)
	if err != nil || uint32(id) != keyHash(parts[0], 4, raw[1:]) {
		return nil, errors.New("the key ID does not match the key")
	}
	return &cosigV1{name: parts[0], hash: uint32(id), key: ed25519.PublicKey(raw[1:])}, nil
}

// tree is a log's stored hashes (Go's tlog layout), read through HashReader.
type tree []tlog.Hash

func (t tree) ReadHashes(idx []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(idx))
	for i, x := range idx {
		if x >= int64(len(t)) {
			return nil, fmt.Errorf("no hash %d", x)
		}
		out[i] = t[x]
	}
	return out, nil
}

func build(n int, tag func(i int) string) tree {
	var t tree
	for i := 0; i < n; i++ {
		hs, err := tlog.StoredHashes(int64(i), []byte(tag(i)), t)
		if err != nil {
			panic(err)
		}
		t = append(t, hs...)
	}
	return t
}

type log struct {
	signer note.Signer
	tree   tree
}

func (l *log) checkpoint(size int64) []byte {
	root, err := tlog.TreeHash(size, l.tree)
	if err != nil {
		panic(err)
	}
	text := fmt.Sprintf("%s\n%d\n%s\n", l.signer.Name(), size, base64.StdEncoding.EncodeToString(root[:]))
	signed, err := note.Sign(&note.Note{Text: text}, l.signer)
	if err != nil {
		panic(err)
	}
	return signed
}

func (l *log) request(old, size int64, breakProof bool) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "old %d\n", old)
	if old > 0 && old < size {
		proof, err := tlog.ProveTree(size, old, l.tree)
		if err != nil {
			panic(err)
		}
		for i, h := range proof {
			if breakProof && i == 0 {
				h[0] ^= 1
			}
			fmt.Fprintln(&b, base64.StdEncoding.EncodeToString(h[:]))
		}
	}
	b.WriteString("\n")
	b.Write(l.checkpoint(size))
	return b.Bytes()
}

type answer struct {
	status      int
	contentType string
	body        []byte
}

func post(url string, body []byte) answer {
	r, err := http.Post(url+"/add-checkpoint", "", bytes.NewReader(body))
	if err != nil {
		fail("POST: %v", err)
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	return answer{r.StatusCode, r.Header.Get("Content-Type"), b}
}

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "go-cosig-check: FAILED: "+format+"\n", args...)
	os.Exit(1)
}

func expect(what string, a answer, status int) {
	if a.status != status {
		fail("%s: status %d, want %d (%s)", what, a.status, status, a.body)
	}
}

// cosigned checks a 200: its body, appended to the checkpoint, opens with the log's key and the
// witness's, both signatures verified.
func cosigned(what string, a answer, l *log, size int64, logV note.Verifier, w *cosigV1) {
	expect(what, a, 200)
	if !bytes.HasPrefix(a.body, []byte("\u2014 "+w.name+" ")) || !bytes.HasSuffix(a.body, []byte("\n")) {
		fail("%s: not a cosignature line: %q", what, a.body)
	}
	n, err := note.Open(append(l.checkpoint(size), a.body...), note.VerifierList(logV, w))
	if err != nil {
		fail("%s: note.Open: %v", what, err)
	}
	if len(n.Sigs) != 2 {
		fail("%s: %d signatures verified, want the log's and the witness's", what, len(n.Sigs))
	}
}

func main() {
	printVkey := flag.Bool("print-log-vkey", false, "print the vkey of the log this program plays, and exit")
	url := flag.String("url", "", "the witness's submission prefix (also its monitoring prefix)")
	witnessVkey := flag.String("witness", "", "the witness's cosignature/v1 vkey")
	flag.Parse()
	signer, vkey := logSigner()
	if *printVkey {
		fmt.Println(vkey)
		return
	}
	w, err := newCosigV1(*witnessVkey)
	if err != nil {
		fail("-witness: %v", err)
	}
	logV, err := note.NewVerifier(vkey)
	if err != nil {
		fail("%v", err)
	}
	trunk := &log{signer, build(40, func(i int) string { return fmt.Sprintf("leaf %d", i) })}
	fork := &log{signer, build(40, func(i int) string {
		if i < 15 {
			return fmt.Sprintf("leaf %d", i)
		}
		return fmt.Sprintf("fork %d", i)
	})}
	u := strings.TrimSuffix(*url, "/")

	cosigned("first checkpoint (old 0)", post(u, trunk.request(0, 10, false)), trunk, 10, logV, w)
	a := post(u, trunk.request(0, 20, false))
	expect("old 0 after 10", a, 409)
	if a.contentType != "text/x.tlog.size" || string(a.body) != "10\n" {
		fail("409: content type %q body %q, want text/x.tlog.size and \"10\\n\"", a.contentType, a.body)
	}
	expect("a broken Go proof", post(u, trunk.request(10, 20, true)), 422)
	expect("old larger than the checkpoint", post(u, trunk.request(25, 20, false)), 400)
	cosigned("a Go consistency proof 10 -> 20", post(u, trunk.request(10, 20, false)), trunk, 20, logV, w)
	cosigned("the same checkpoint again", post(u, trunk.request(20, 20, false)), trunk, 20, logV, w)
	a = post(u, fork.request(20, 20, false))
	expect("a fork at the cosigned size", a, 409)
	if a.contentType == "text/x.tlog.size" {
		fail("a root mismatch answered as a stale size")
	}
	expect("the fork grown", post(u, fork.request(20, 30, false)), 422)
	cosigned("a Go consistency proof 20 -> 37", post(u, trunk.request(20, 37, false)), trunk, 37, logV, w)

	// The monitoring endpoint: the latest cosigned checkpoint, log- and witness-signed.
	sum := sha256.Sum256([]byte(origin))
	r, err := http.Get(u + "/" + hex.EncodeToString(sum[:]) + "/checkpoint")
	if err != nil {
		fail("GET checkpoint: %v", err)
	}
	body, _ := io.ReadAll(r.Body)
	r.Body.Close()
	if r.StatusCode != 200 {
		fail("GET checkpoint: status %d", r.StatusCode)
	}
	n, err := note.Open(body, note.VerifierList(logV, w))
	if err != nil || len(n.Sigs) != 2 {
		fail("the served checkpoint: %v (%d signatures)", err, len(n.Sigs))
	}
	if !strings.HasPrefix(n.Text, origin+"\n37\n") {
		fail("the served checkpoint is not the latest cosigned: %q", n.Text)
	}
	fmt.Printf("ok: %s cosigned and answered as tlog-witness v1.0.0 says, checked with Go's sumdb/note and tlog\n", w.name)
}
