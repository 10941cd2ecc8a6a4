// Generates tests/vectors/compact-ranges/compact_ranges.json with transparency-dev/merkle's
// compact package (compact/range.go and compact/nodes.go copied verbatim into ./compact).
package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"sort"

	"vecgen/compact"
)

func nodeHash(l, r []byte) []byte {
	h := sha256.New()
	h.Write([]byte{1})
	h.Write(l)
	h.Write(r)
	return h.Sum(nil)
}

func leafHash(i int) []byte {
	h := sha256.New()
	h.Write([]byte{0})
	h.Write([]byte(fmt.Sprintf("leaf:%d", i)))
	return h.Sum(nil)
}

func hexes(hs [][]byte) []string {
	out := make([]string, 0, len(hs))
	for _, h := range hs {
		out = append(out, "0x"+hex.EncodeToString(h))
	}
	return out
}

type sizeVec struct {
	Size  int                 `json:"size"`
	Root  string              `json:"root"`
	Left  map[string][]string `json:"left"`
	Right map[string][]string `json:"right"`
	Pairs [][2]int            `json:"pairs"`
}

var rf = &compact.RangeFactory{Hash: nodeHash}

func must(err error) {
	if err != nil {
		panic(err)
	}
}

func build(leaves [][]byte, begin, end int) *compact.Range {
	r := rf.NewEmptyRange(uint64(begin))
	for i := begin; i < end; i++ {
		must(r.Append(leaves[i], nil))
	}
	return r
}

func main() {
	full := map[int]bool{1: true, 2: true, 3: true, 4: true, 5: true, 7: true, 8: true, 9: true, 13: true, 16: true, 17: true, 32: true, 33: true}
	var out []sizeVec
	for n := 1; n <= 70; n++ {
		leaves := make([][]byte, n)
		for i := range leaves {
			leaves[i] = leafHash(i)
		}
		root, err := build(leaves, 0, n).GetRootHash(nil)
		must(err)
		var pairs [][2]int
		if full[n] {
			for b := 0; b < n; b++ {
				for e := b + 1; e <= n; e++ {
					pairs = append(pairs, [2]int{b, e})
				}
			}
		} else {
			seen := map[[2]int]bool{}
			for _, b := range []int{0, 1, 2, n / 2, n - 1} {
				for _, e := range []int{b + 1, b + 2, n/2 + 1, n - 1, n} {
					if b >= 0 && b < e && e <= n && !seen[[2]int{b, e}] {
						seen[[2]int{b, e}] = true
						pairs = append(pairs, [2]int{b, e})
					}
				}
			}
			sort.Slice(pairs, func(i, j int) bool {
				if pairs[i][0] != pairs[j][0] {
					return pairs[i][0] < pairs[j][0]
				}
				return pairs[i][1] < pairs[j][1]
			})
		}
		v := sizeVec{Size: n, Root: "0x" + hex.EncodeToString(root), Left: map[string][]string{}, Right: map[string][]string{}, Pairs: pairs}
		for _, p := range pairs {
			b, e := p[0], p[1]
			left := build(leaves, 0, b)
			right := build(leaves, e, n)
			v.Left[fmt.Sprint(b)] = hexes(left.Hashes())
			v.Right[fmt.Sprint(e)] = hexes(right.Hashes())
			// Check with the Go code that left + the range's leaves + right merge to the root.
			lr, err := rf.NewRange(0, uint64(b), left.Hashes())
			must(err)
			must(lr.AppendRange(build(leaves, b, e), nil))
			rr, err := rf.NewRange(uint64(e), uint64(n), right.Hashes())
			must(err)
			must(lr.AppendRange(rr, nil))
			got, err := lr.GetRootHash(nil)
			must(err)
			if !bytes.Equal(got, root) {
				panic(fmt.Sprintf("size %d [%d,%d): merged root differs", n, b, e))
			}
		}
		out = append(out, v)
	}
	doc := map[string]interface{}{
		"source": "github.com/transparency-dev/merkle compact (range.go, nodes.go) at commit " + os.Args[1],
		"leaf":   "leaf i is SHA-256(0x00 || ASCII \"leaf:\" + decimal i); node is SHA-256(0x01 || left || right)",
		"left":   "left[b]: compact range hashes of [0, b), left to right",
		"right":  "right[e]: compact range hashes of [e, size), left to right",
		"root":   "RFC 9162 root of the tree of size (Range.GetRootHash); every pair was checked in Go: left + leaves [b, e) + right merge (Range.AppendRange) to root",
		"sizes":  out,
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", " ")
	must(enc.Encode(doc))
}
