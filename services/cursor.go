package services

import (
	"encoding/base64"
	"strconv"
	"strings"
	"time"
)

// encodeTimeCursor makes an opaque cursor for a page that ends at (at, id):
// "<version>.<unix ms>.<id>", base64url-encoded so clients treat it as opaque.
func encodeTimeCursor(version string, at time.Time, id string) string {
	raw := version + "." + strconv.FormatInt(at.UnixMilli(), 10) + "." + id
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

// decodeTimeCursor reads a cursor made by encodeTimeCursor with the same
// version. The id may contain dots: it is everything after the second one.
func decodeTimeCursor(version, c string) (time.Time, string, bool) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return time.Time{}, "", false
	}
	parts := strings.SplitN(string(b), ".", 3)
	if len(parts) != 3 || parts[0] != version || parts[2] == "" {
		return time.Time{}, "", false
	}
	ms, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil {
		return time.Time{}, "", false
	}
	return time.UnixMilli(ms).UTC(), parts[2], true
}
