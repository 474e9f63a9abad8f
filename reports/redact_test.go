package reports

import (
	"strings"
	"testing"
)

const testKey = "0123456789abcdef-test-key"

// TestRedactorPseudonyms checks pseudonyms against HMAC-SHA256 computed independently with
// Python: hmac.new(b"0123456789abcdef-test-key", b"u1", hashlib.sha256).hexdigest()[:16].
func TestRedactorPseudonyms(t *testing.T) {
	r, err := NewRedactor([]byte(testKey))
	if err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]string{"u1": "acct-c61049980952a305", "acct_spoof_a": "acct-c4a901540860ff74", "": ""} {
		if got := r.Account(id); got != want {
			t.Errorf("Account(%q) = %q, want %q", id, got, want)
		}
	}
	if got := r.Accounts([]string{"u1", "u1"}); got[0] != got[1] {
		t.Errorf("one id, two pseudonyms: %v", got)
	}
	other, _ := NewRedactor([]byte(testKey + "!"))
	if other.Account("u1") == r.Account("u1") {
		t.Error("another key gives the same pseudonym")
	}
	if r.Accounts(nil) != nil {
		t.Error("nil list redacted to non-nil")
	}
}

func TestRedactorRejectsWeakKeys(t *testing.T) {
	for _, key := range []string{"", "short"} {
		if _, err := NewRedactor([]byte(key)); err == nil {
			t.Errorf("key %q accepted", key)
		}
	}
}

// TestRedactorText: known ids are replaced where they stand as whole words, never inside longer
// words; unknown ids stay.
func TestRedactorText(t *testing.T) {
	r, _ := NewRedactor([]byte(testKey))
	r.Learn("u1", "u12", "bob@x.io")
	u1, u12, bob := r.Account("u1"), r.Account("u12"), r.Account("bob@x.io")
	cases := map[string]string{
		"u1":                            u1,
		"accounts u1, u12 and u13.":     "accounts " + u1 + ", " + u12 + " and u13.",
		"(u1) u1: x=u12;":               "(" + u1 + ") " + u1 + ": x=" + u12 + ";",
		"menu1 u1x xu1 u1_2":            "menu1 u1x xu1 u1_2",
		"mail bob@x.io.":                "mail " + bob + ".",
		"u1-u12":                        u1 + "-" + u12,
		"no ids here, just ünïcode u1é": "no ids here, just ünïcode u1é",
	}
	for in, want := range cases {
		if got := r.Text(in); got != want {
			t.Errorf("Text(%q) = %q, want %q", in, got, want)
		}
	}
	var empty Redactor
	if got := empty.Text("u1"); got != "u1" {
		t.Errorf("redactor without ids changed text: %q", got)
	}
	if strings.Contains(r.Text("u12"), "u1") {
		t.Error("pseudonym contains the raw id")
	}
}
