// Package httpguts stands in for golang.org/x/net/http/httpguts, which Go modules would fetch:
// the original uses only its two header checks, written here from RFC 9110 (a header name is
// a token; a value holds no control characters but horizontal tab). Not part of the original.
package httpguts

// ValidHeaderFieldName reports whether v is a valid header field name (a token).
func ValidHeaderFieldName(v string) bool {
	if v == "" {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c < 0x80 && c != 0 && containsByte("!#$%&'*+-.^_`|~", c):
		default:
			return false
		}
	}
	return true
}

// ValidHeaderFieldValue reports whether v is a valid header field value.
func ValidHeaderFieldValue(v string) bool {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

func containsByte(s string, c byte) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return true
		}
	}
	return false
}
