package inflate

import "math/bits"

// pairMinShare is the share of literals among a block's symbols (in
// 1/32768ths, as literalShare gives it) from which filling its table with
// literal pairs pays. Pairing costs a pass over the 4096-entry root table
// per block and saves a lookup per second literal: on base64 text (nearly
// all literals) it is 15-20% faster, on match-heavy dumps (pgbench's,
// which compress 40x) building the pairs took a quarter of the time. At
// 70%, best of six runs: base64 373 MB/s (always pairing 361, never 309),
// pgbench 2375 MB/s (always 1688, never 2225).
const pairMinShare = 70 * (1 << maxCodeLen) / 100

// literalShare is the share, in 1/32768ths, of literals among the symbols
// a code expects: a codeword of l bits stands for a symbol seen about once
// in 2^l.
func literalShare(lengths []uint8) int {
	share := 0
	for _, l := range lengths[:min(len(lengths), 256)] {
		if l != 0 {
			share += 1 << (maxCodeLen - uint(l))
		}
	}
	return share
}

// A table entry packs everything the decode loop needs into one word, so a
// single load tells it what to emit and how many bits to drop:
//
//	bits 0-5   bits the symbol takes, extra bits included
//	bits 6-7   literals in a literal entry: 1, or 2 for a pair
//	bits 8-11  bits of the codeword alone (where the extra bits start), or
//	           for a subtable pointer, the width of the subtable index
//	bits 12-15 kind
//	bits 16-31 literal byte (two for a pair, the first in 16-23), base
//	           length, base distance, code length symbol, or subtable
//	           offset
//
// An invalid entry's codeword width is the number of bits the reference
// decoder must hold before it reports the symbol as invalid, so that input
// which is both cut short and damaged is classified the same way.
const (
	entryLiteral  = 1 << 12 // literal byte, or a code length code symbol
	entryLength   = 1 << 13 // length (lit/len table) or distance (distance table)
	entryEnd      = 1 << 14 // end of block
	entrySubtable = 1 << 15 // an invalid symbol has no kind bit set

	// entryTotalMask selects bits 0-5: masking a shift count with it lets
	// the compiler drop its check for shifts of 64 or more.
	entryTotalMask = 63

	entryCountShift = 6
)

func entryCodeLen(e uint32) uint { return uint(e>>8) & 15 }

// Root table widths. 12 bits for literals and lengths let one lookup
// yield two 6-bit literals, which is what base64 text has; distance codes
// are few and rarely long.
const (
	litRootBits  = 12
	distRootBits = 8
	clenRootBits = 7 // code length codes are at most 7 bits: no subtables

	maxCodeLen = 15
	numLitLen  = 288 // 286 and 287 exist only in the fixed code, as errors
	numDist    = 32  // 30 and 31 likewise
	numClen    = 19
)

// RFC 1951 section 3.2.5.
var lengthBase = [29]uint16{3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31,
	35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258}
var lengthExtra = [29]uint8{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2,
	3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}
var distBase = [30]uint16{1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193,
	257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577}
var distExtra = [30]uint8{0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6,
	7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13}

// Entry templates per symbol: the kind, value and extra bits, to which
// build adds the codeword length. A template of 0 is an invalid symbol.
var litTemplates [numLitLen]uint32
var distTemplates [numDist]uint32
var clenTemplates [numClen]uint32

func init() {
	initTemplates()
	initFixedTables()
}

func initTemplates() {
	for sym := range litTemplates {
		switch {
		case sym < 256:
			litTemplates[sym] = uint32(sym)<<16 | entryLiteral | 1<<entryCountShift
		case sym == 256:
			litTemplates[sym] = entryEnd
		case sym < 286:
			litTemplates[sym] = uint32(lengthBase[sym-257])<<16 | entryLength | uint32(lengthExtra[sym-257])
		}
	}
	for sym := range distTemplates {
		if sym < 30 {
			distTemplates[sym] = uint32(distBase[sym])<<16 | entryLength | uint32(distExtra[sym])
		}
	}
	for sym := range clenTemplates {
		clenTemplates[sym] = uint32(sym)<<16 | entryLiteral
	}
}

func invalidEntry(detectBits uint) uint32 { return uint32(detectBits)<<8 | uint32(detectBits) }

// tableBuilder keeps the scratch space of table construction, so that a
// dynamic block costs no allocation. gzip --rsyncable starts a block every
// few KiB, so building must cost little next to decoding one.
type tableBuilder struct {
	sorted [numLitLen]uint16 // symbols in canonical order
	codes  [numLitLen]uint16 // bit-reversed root codewords
	// pairAdd holds the list for room r at [1<<r, 2<<r); r < litRootBits.
	pairAdd [1 << litRootBits]uint32
}

// build fills *table with the decoding table of a canonical Huffman code,
// growing it if needed. It refuses over-subscribed and incomplete codes,
// except, as zlib and Go do, a code with a single one-bit codeword (its other
// codeword decodes as invalid). A code with no codewords at all is accepted
// and decodes every input as invalid. minLen is the shortest codeword (0 if
// none): the reference decoder's look-ahead.
func (tb *tableBuilder) build(table *[]uint32, rootBits uint, lengths []uint8, templates []uint32, pairs bool) (minLen uint, ok bool) {
	var count [maxCodeLen + 1]int
	for _, l := range lengths {
		count[l&maxCodeLen]++
	}
	count[0] = 0
	maxLen := uint(0)
	for l := uint(1); l <= maxCodeLen; l++ {
		if count[l] != 0 {
			maxLen = l
			if minLen == 0 {
				minLen = l
			}
		}
	}
	rootSize := 1 << rootBits
	if maxLen == 0 {
		t := grow(table, rootSize)
		for i := range t {
			t[i] = invalidEntry(0)
		}
		return 0, true
	}
	// Kraft sum scaled to 2^maxLen: equal means complete.
	kraft := 0
	for l := uint(1); l <= maxLen; l++ {
		kraft = kraft<<1 + count[l]
	}
	if kraft == 1 && maxLen == 1 {
		t := grow(table, rootSize)
		for sym, l := range lengths {
			if l != 0 {
				for i := range t {
					t[i] = invalidEntry(1)
					if i&1 == 0 {
						t[i] = templates[sym] + 1<<8 + 1
					}
				}
			}
		}
		return 1, true
	}
	if kraft != 1<<maxLen {
		return 0, false
	}

	var offset [maxCodeLen + 2]int
	for l := 1; l <= maxCodeLen; l++ {
		offset[l+1] = offset[l] + count[l]
	}
	for sym, l := range lengths {
		if l != 0 {
			tb.sorted[offset[l]] = uint16(sym)
			offset[l]++
		}
	}
	sorted := tb.sorted[:offset[maxCodeLen]]

	// Size the subtables first: the codes sharing a root prefix are
	// consecutive in canonical order and fill their subtree exactly, so
	// the last of them gives the subtable's width.
	size := rootSize
	firstLong := offset[min(maxLen, rootBits)]
	if maxLen <= rootBits {
		firstLong = len(sorted)
	}
	for k := firstLong; k < len(sorted); {
		end, sub := subtableRun(lengths, sorted, k, rootBits, maxLen)
		size += 1 << sub
		k = end
	}
	t := grow(table, size)

	// Fill the root table a length at a time, doubling it in between, so
	// that shorter codewords repeat into every slot they cover. Slots left
	// over for longer codewords get subtable pointers below.
	code, k, filled := 0, 0, 1
	for l := uint(1); l <= rootBits; l++ {
		copy(t[filled:2*filled], t[:filled])
		filled *= 2
		for n := count[l]; n > 0; n-- {
			sym := sorted[k]
			k++
			rev := bits.Reverse16(uint16(code)) >> (16 - l)
			tb.codes[sym] = rev
			t[rev] = templates[sym] + uint32(l)<<8 + uint32(l)
			code++
		}
		code <<= 1
	}

	off := rootSize
	l := rootBits + 1 // code is the next codeword of this length
	for k < len(sorted) {
		end, sub := subtableRun(lengths, sorted, k, rootBits, maxLen)
		subTable := t[off : off+1<<sub]
		var prefix uint16
		for ; k < end; k++ {
			sym := sorted[k]
			for l < uint(lengths[sym]) {
				code <<= 1
				l++
			}
			rev := bits.Reverse16(uint16(code)) >> (16 - l)
			code++
			prefix = rev & uint16(rootSize-1)
			e := templates[sym] + uint32(l)<<8 + uint32(l)
			for i := int(rev >> rootBits); i < len(subTable); i += 1 << (l - rootBits) {
				subTable[i] = e
			}
		}
		t[prefix] = uint32(off)<<16 | entrySubtable | uint32(sub)<<8
		off += 1 << sub
	}
	if pairs && literalShare(lengths) >= pairMinShare {
		tb.pairLiterals(t, lengths, sorted)
	}
	return minLen, true
}

// pairLiterals turns each root entry whose bits hold two whole literal
// codewords into an entry for both, halving the dependent lookups on
// literal runs. gzip --rsyncable ends a block every few KiB, so this must
// cost little per slot: it goes by first literal, adding to the first's
// entry what the second adds, from a list made once per room left.
func (tb *tableBuilder) pairLiterals(t []uint32, lengths []uint8, sorted []uint16) {
	const single = entryLiteral | 1<<entryCountShift
	const kindMask = entryLiteral | entryLength | entryEnd | entrySubtable | 3<<entryCountShift
	root := (*[1 << litRootBits]uint32)(t)
	minLit := uint(maxCodeLen + 1)
	for _, l := range lengths[:min(len(lengths), 256)] {
		if l != 0 {
			minLit = min(minLit, uint(l))
		}
	}
	if 2*minLit > litRootBits {
		return
	}
	// The second codeword starts at bit firstLen: its entry is the one
	// of the low room bits, valid if it fits in them. Entries of the low
	// slots are overwritten below, so the lists are made first.
	var made [litRootBits + 1]bool
	for _, sym := range sorted {
		firstLen := uint(lengths[sym])
		if firstLen+minLit > litRootBits {
			break // sorted by length: no later symbol leaves room
		}
		room := litRootBits - firstLen
		if sym > 255 || made[room] {
			continue
		}
		made[room] = true
		add := tb.pairAdd[1<<room : 2<<room]
		for j := range add {
			second := root[j]
			add[j] = 0
			if second&kindMask == single && uint(second&entryTotalMask) <= room {
				add[j] = second>>16<<24 + second&entryTotalMask + 1<<entryCountShift
			}
		}
	}
	for _, sym := range sorted {
		firstLen := uint(lengths[sym])
		if firstLen+minLit > litRootBits {
			break
		}
		if sym > 255 {
			continue
		}
		room := litRootBits - firstLen
		rev := uint(tb.codes[sym])
		first := root[rev]
		step := uint(1) << firstLen
		// An addend of 0 stores the single entry that is there.
		for _, a := range tb.pairAdd[1<<room : 2<<room] {
			root[rev&(1<<litRootBits-1)] = first + a
			rev += step
		}
	}
}

// subtableRun returns the end of the run of codewords, starting at sorted[k],
// that share a root prefix, and the index width of their subtable.
func subtableRun(lengths []uint8, sorted []uint16, k int, rootBits, maxLen uint) (end int, subBits uint) {
	need, sum := 1<<(maxLen-rootBits), 0
	for end = k; sum < need && end < len(sorted); end++ {
		sum += 1 << (maxLen - uint(lengths[sorted[end]]))
	}
	return end, uint(lengths[sorted[end-1]]) - rootBits
}

func grow(table *[]uint32, n int) []uint32 {
	if cap(*table) < n {
		*table = make([]uint32, n, max(n, 2*cap(*table)))
	}
	*table = (*table)[:n]
	return *table
}

// The fixed code of RFC 1951 section 3.2.6, including the two length and
// two distance symbols that may not occur, so that they decode as errors.
var fixedLit, fixedDist []uint32

func initFixedTables() {
	var tb tableBuilder
	var lengths [numLitLen]uint8
	for i := range lengths {
		switch {
		case i < 144:
			lengths[i] = 8
		case i < 256:
			lengths[i] = 9
		case i < 280:
			lengths[i] = 7
		default:
			lengths[i] = 8
		}
	}
	tb.build(&fixedLit, litRootBits, lengths[:], litTemplates[:], true)
	var dl [numDist]uint8
	for i := range dl {
		dl[i] = 5
	}
	tb.build(&fixedDist, distRootBits, dl[:], distTemplates[:], false)
}
