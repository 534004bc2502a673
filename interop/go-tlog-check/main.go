// Command go-tlog-check independently re-verifies a C2SP tlog-tiles log
// directory using Go's reference implementation, golang.org/x/mod/sumdb/{note,tlog}.
//
//	go-tlog-check -vkey '<origin>+<keyid>+<base64 key>' DIR
//
// DIR holds `checkpoint`, hash tiles `tile/<L>/<N>[.p/<W>]` and entry bundles
// `tile/entries/<N>[.p/<W>]` (each entry prefixed by a big-endian uint16 length).
// The program verifies the checkpoint signature, re-hashes every entry,
// re-derives every hash tile for the checkpoint size and compares it byte for
// byte, checks the root, and builds and checks inclusion and consistency proofs.
//
// Build (no module proxy needed; uses the Debian package golang-golang-x-mod-dev):
//
//	GOPATH=/usr/share/gocode GO111MODULE=off go build
package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// C2SP tlog-tiles always uses tiles of height 8 (256 hashes or entries).
const tileHeight = 8

// Path mapping. Go's tlog names tiles "tile/<H>/<L>/<N>[.p/<W>]" and data
// tiles "tile/<H>/data/<N>[.p/<W>]"; C2SP tlog-tiles omits the height (always 8)
// and calls data tiles "entries":
//
//	Go  tile/8/<L>/<N>[.p/<W>]     <->  C2SP tile/<L>/<N>[.p/<W>]
//	Go  tile/8/data/<N>[.p/<W>]    <->  C2SP tile/entries/<N>[.p/<W>]
//
// The <N> encoding is the same in both (3-digit groups, all but the last
// prefixed by "x", e.g. 1234067 -> x001/x234/067), and so is ".p/<W>" for a
// partial tile of width W < 256. So we let Go format the path and rewrite the
// prefix.
func c2spPath(t tlog.Tile) string {
	p := t.Path() // e.g. "tile/8/0/x001/234.p/5" or "tile/8/data/000"
	if t.L == -1 {
		return "tile/entries/" + strings.TrimPrefix(p, "tile/8/data/")
	}
	return "tile/" + strings.TrimPrefix(p, "tile/8/")
}

var dir string

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "go-tlog-check: "+format+"\n", args...)
	os.Exit(1)
}

func readFile(rel string) []byte {
	data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(rel)))
	if err != nil {
		fail("%v", err)
	}
	return data
}

// fileTiles is a tlog.TileReader over the C2SP hash tiles in DIR.
type fileTiles struct{}

func (fileTiles) Height() int { return tileHeight }
func (fileTiles) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		out[i] = readFile(c2spPath(t))
	}
	return out, nil
}
func (fileTiles) SaveTiles([]tlog.Tile, [][]byte) {}

// memHashes is a tlog.HashReader over hashes we computed ourselves from the entries.
type memHashes []tlog.Hash

func (m memHashes) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		if x < 0 || x >= int64(len(m)) {
			return nil, fmt.Errorf("stored hash %d not computed (have %d)", x, len(m))
		}
		out[i] = m[x]
	}
	return out, nil
}

func main() {
	vkey := flag.String("vkey", "", "note verifier key <origin>+<keyid>+<base64>")
	flag.Parse()
	if *vkey == "" || flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: go-tlog-check -vkey KEY DIR")
		os.Exit(2)
	}
	dir = flag.Arg(0)

	// 1. Checkpoint: verify the note signature, then parse the body.
	v, err := note.NewVerifier(*vkey)
	if err != nil {
		fail("bad -vkey: %v", err)
	}
	n, err := note.Open(readFile("checkpoint"), note.VerifierList(v))
	if err != nil {
		fail("checkpoint signature: %v", err)
	}
	// tlog.ParseTree wants the go.sum format ("go.sum database tree\nN\nroot\n");
	// a C2SP checkpoint is "<origin>\n<size>\n<base64 root>\n[extension lines]",
	// so parse it here with the same strictness.
	lines := strings.SplitN(n.Text, "\n", 4)
	if len(lines) < 4 {
		fail("checkpoint: want at least 3 lines")
	}
	origin := lines[0]
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || size < 0 || lines[1] != strconv.FormatInt(size, 10) {
		fail("checkpoint: bad size %q", lines[1])
	}
	rootBytes, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(rootBytes) != tlog.HashSize {
		fail("checkpoint: bad root hash %q", lines[2])
	}
	var root tlog.Hash
	copy(root[:], rootBytes)
	if origin != v.Name() {
		fail("checkpoint origin %q != key name %q", origin, v.Name())
	}

	// 2. Entry bundles: hash each entry (RFC 6962 leaf hash) and compute all
	// stored hashes as Go's tlog would when appending it.
	var hashes memHashes
	var leaves []tlog.Hash
	for _, t := range tlog.NewTiles(tileHeight, 0, size) {
		if t.L != 0 || !isFinal(t, size) {
			continue
		}
		t.L = -1 // the entry bundle with the same N and W as this level-0 tile
		bundle := readFile(c2spPath(t))
		for i := 0; i < t.W; i++ {
			if len(bundle) < 2 {
				fail("%s: truncated before entry %d of %d", c2spPath(t), i, t.W)
			}
			l := int(binary.BigEndian.Uint16(bundle))
			if len(bundle) < 2+l {
				fail("%s: entry %d: length %d exceeds bundle", c2spPath(t), i, l)
			}
			h := tlog.RecordHash(bundle[2 : 2+l])
			bundle = bundle[2+l:]
			stored, err := tlog.StoredHashesForRecordHash(int64(len(leaves)), h, hashes)
			if err != nil {
				fail("stored hashes for entry %d: %v", len(leaves), err)
			}
			hashes = append(hashes, stored...)
			leaves = append(leaves, h)
		}
		if len(bundle) != 0 {
			fail("%s: %d trailing bytes after %d entries", c2spPath(t), len(bundle), t.W)
		}
	}
	if int64(len(leaves)) != size {
		fail("read %d entries, checkpoint size is %d", len(leaves), size)
	}

	// 3. Hash tiles: re-derive each tile of the tree at this size (full tiles
	// and the final partial tile of each level) and compare with the file.
	tiles := 0
	for _, t := range tlog.NewTiles(tileHeight, 0, size) {
		if !isFinal(t, size) {
			continue
		}
		want, err := tlog.ReadTileData(t, hashes)
		if err != nil {
			fail("derive %s: %v", c2spPath(t), err)
		}
		got := readFile(c2spPath(t))
		if !bytes.Equal(got, want) {
			fail("%s (%d bytes) differs from the tile re-derived from the entry bundles (%d bytes)%s",
				c2spPath(t), len(got), len(want), firstDiff(got, want))
		}
		tiles++
	}

	// 4. Root hash. Go defines the empty tree's hash as all zeros; RFC 6962
	// (and C2SP) define it as SHA-256 of the empty string.
	th, err := tlog.TreeHash(size, hashes)
	if err != nil {
		fail("tree hash: %v", err)
	}
	if size == 0 {
		th = sha256.Sum256(nil)
	}
	if th != root {
		fail("root from entries %x != checkpoint root %x", th[:], root[:])
	}

	// 5. Proofs, built by Go's TileHashReader straight from the tile files
	// (it authenticates every tile it reads against the checkpoint root) and
	// checked against leaf hashes / older roots computed from the entries.
	if size > 0 {
		tr := tlog.TileHashReader(tlog.Tree{N: size, Hash: root}, fileTiles{})
		for _, i := range pick(size, 0) {
			p, err := tlog.ProveRecord(size, i, tr)
			if err != nil {
				fail("inclusion proof for entry %d: %v", i, err)
			}
			if err := tlog.CheckRecord(p, size, root, i, leaves[i]); err != nil {
				fail("inclusion proof for entry %d: %v", i, err)
			}
		}
		for _, m := range pick(size, 1) {
			old, err := tlog.TreeHash(m, hashes)
			if err != nil {
				fail("tree hash at %d: %v", m, err)
			}
			p, err := tlog.ProveTree(size, m, tr)
			if err != nil {
				fail("consistency proof %d -> %d: %v", m, size, err)
			}
			if err := tlog.CheckTree(p, size, root, m, old); err != nil {
				fail("consistency proof %d -> %d: %v", m, size, err)
			}
		}
	}

	fmt.Printf("ok: %s size %d root %s: %d entries, %d tiles checked\n",
		origin, size, hex.EncodeToString(root[:]), len(leaves), tiles)
}

// isFinal reports whether t is a tile of the tree at size: NewTiles(h, 0, size)
// lists every width 1..W of each level's last partial tile (all the tiles ever
// published while growing to size); only the widest one belongs to this size.
func isFinal(t tlog.Tile, size int64) bool {
	return t.W == 1<<tileHeight || int64(t.W) == (size>>(tileHeight*t.L))-t.N<<tileHeight
}

// pick returns a few interesting indexes/sizes in [min, size): the ends, the
// middle and tile boundaries.
func pick(size, min int64) []int64 {
	var out []int64
	seen := map[int64]bool{}
	for _, x := range []int64{0, 1, 255, 256, 257, size / 2, 65535, 65536, size - 2, size - 1} {
		if x >= min && x < size && !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

func firstDiff(a, b []byte) string {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			return fmt.Sprintf("; first difference at byte %d (hash %d)", i, i/tlog.HashSize)
		}
	}
	return ""
}
