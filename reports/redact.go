package reports

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"unicode"
)

// Redactor replaces account ids by keyed hashes, so a report can leave the compliance team: the
// same id always becomes the same pseudonym under the same key (tables and figures stay
// consistent, and two reports made with one key can be compared), while without the key the
// pseudonym cannot be traced back, even by hashing candidate ids.
//
// A pseudonym is "acct-" followed by the first 16 hex digits (64 bits) of HMAC-SHA256(key, id).
type Redactor struct {
	key   []byte
	known map[string]string
}

// RedactorKeyMin is the shortest key accepted: a short key could be guessed and the pseudonyms
// reversed by trying candidate ids under every guess.
const RedactorKeyMin = 16

// NewRedactor returns a redactor with a secret key of at least RedactorKeyMin bytes.
func NewRedactor(key []byte) (*Redactor, error) {
	if len(key) == 0 {
		return nil, errors.New("redaction key is empty")
	}
	if len(key) < RedactorKeyMin {
		return nil, errors.New("redaction key is shorter than 16 bytes")
	}
	return &Redactor{key: append([]byte(nil), key...), known: map[string]string{}}, nil
}

// Account returns the pseudonym of an account id ("" stays ""), and remembers the id so that
// Text can find it in free text.
func (r *Redactor) Account(id string) string {
	if id == "" {
		return ""
	}
	if p, ok := r.known[id]; ok {
		return p
	}
	m := hmac.New(sha256.New, r.key)
	m.Write([]byte(id))
	p := "acct-" + hex.EncodeToString(m.Sum(nil))[:16]
	r.known[id] = p
	return p
}

// Accounts returns the pseudonyms of a list of ids, in the same order.
func (r *Redactor) Accounts(ids []string) []string {
	if ids == nil {
		return nil
	}
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = r.Account(id)
	}
	return out
}

// Learn registers ids that may appear in free text (a detector's note, an incident id) without
// otherwise being listed in the report.
func (r *Redactor) Learn(ids ...string) {
	for _, id := range ids {
		r.Account(id)
	}
}

// Text replaces every known account id appearing in s as a whole word by its pseudonym: an id
// matches where it is not preceded or followed by a letter, digit or underscore, so "u1" is
// found in "u1," and "(u1)" but not inside "u12" or "menu1". Ids must have been seen by Account
// or Learn first.
func (r *Redactor) Text(s string) string {
	if len(r.known) == 0 || s == "" {
		return s
	}
	var b strings.Builder
	rs := []rune(s)
	for i := 0; i < len(rs); {
		if !isIDRune(rs[i]) || (i > 0 && isWordRune(rs[i-1])) {
			b.WriteRune(rs[i])
			i++
			continue
		}
		// The longest known id starting here and ending at a word boundary.
		end := i
		for end < len(rs) && isIDRune(rs[end]) {
			end++
		}
		matched := 0
		for e := end; e > i; e-- {
			if e < len(rs) && isWordRune(rs[e]) {
				continue
			}
			if p, ok := r.known[string(rs[i:e])]; ok {
				b.WriteString(p)
				matched = e - i
				break
			}
		}
		if matched > 0 {
			i += matched
			continue
		}
		// No id starts here: copy the word, so that no id is found inside it.
		j := i + 1
		for j < len(rs) && isWordRune(rs[j]) {
			j++
		}
		b.WriteString(string(rs[i:j]))
		i = j
	}
	return b.String()
}

// isIDRune says c may be part of an account id: letters, digits and _ - . @ :.
func isIDRune(c rune) bool {
	return isWordRune(c) || strings.ContainsRune("-.@:", c)
}

// isWordRune says c continues a word: an id must not be glued to one.
func isWordRune(c rune) bool { return unicode.IsLetter(c) || unicode.IsDigit(c) || c == '_' }
