package tokenizer

import (
	"fmt"
	"unicode/utf8"
)

// byteChar maps each byte to the printable character GPT-2's
// bytes_to_unicode gives it: printable Latin-1 bytes ('!'..'~', '¡'..'¬',
// '®'..'ÿ') stand for themselves and the other 68 bytes, in increasing
// order, take U+0100 onwards (so ' ' is 'Ġ' and '\n' is 'Ċ'). Vocabulary
// and merge strings in tokenizer.json are written in these characters.
var byteChar [256]rune

// charByte inverts byteChar.
var charByte = map[rune]byte{}

func init() {
	n := rune(0)
	for b := 0; b < 256; b++ {
		if (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF) {
			byteChar[b] = rune(b)
		} else {
			byteChar[b] = 256 + n
			n++
		}
		charByte[byteChar[b]] = byte(b)
	}
}

// byteLevel writes raw bytes in the byte-level alphabet.
func byteLevel(raw []byte) string {
	buf := make([]byte, 0, 2*len(raw))
	for _, b := range raw {
		buf = utf8.AppendRune(buf, byteChar[b])
	}
	return string(buf)
}

// fromByteLevel turns a byte-level string back into raw bytes; it fails
// on a character outside the 256 of the alphabet.
func fromByteLevel(s string) ([]byte, error) {
	out := make([]byte, 0, len(s))
	for _, r := range s {
		b, ok := charByte[r]
		if !ok {
			return nil, fmt.Errorf("%q is not a byte-level string (character %U)", s, r)
		}
		out = append(out, b)
	}
	return out, nil
}
