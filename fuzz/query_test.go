package fuzz_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// maxQueryValue bounds an escaped query value the targets send: Fiber
// reads a request line and headers into a 4 KiB buffer (its
// ReadBufferSize) and refuses longer ones before any handler runs, which
// app.Test reports as an error rather than a status.
const maxQueryValue = 1500

// listEndpoint is a paginated list FuzzCursor pages through.
type listEndpoint struct {
	name string
	// path is the list with limit=1 and every other parameter fixed; the
	// cursor is appended.
	path  string
	token string
}

// queryStack is the stack with data behind every list: readings, a
// medication with doses, a pharmacist of the pharmacy the patient
// nominated (so a flag from a severe reading, and access-log entries from
// the pharmacist's reads).
type queryStack struct {
	*stack
	pharmacist string
	lists      []listEndpoint
}

func newQueryStack(tb testing.TB) *queryStack {
	tb.Helper()
	s := &queryStack{stack: newStack(tb)}
	if _, err := s.auth.EnsureAdmin(tb.Context(), "admin@fuzz.example", fuzzPassword); err != nil {
		tb.Fatalf("ensure admin: %v", err)
	}
	admin := s.login(tb, "admin@fuzz.example")
	r := s.must(tb, http.StatusCreated, http.MethodPost, "/v1/admin/pharmacies", admin, `{"odsCode":"FZ123","name":"Fuzz Pharmacy","postcode":"SW1A 1AA"}`)
	var pharmacy struct{ ID string }
	_ = json.Unmarshal(r.body, &pharmacy)
	s.must(tb, http.StatusCreated, http.MethodPost, "/v1/admin/users", admin,
		`{"email":"pharmacist@fuzz.example","password":"`+fuzzPassword+`","name":"Fuzz Pharmacist","role":"pharmacist","pharmacyId":"`+pharmacy.ID+`"}`)
	s.pharmacist = s.login(tb, "pharmacist@fuzz.example")
	s.must(tb, http.StatusOK, http.MethodPut, "/v1/patients/me/pharmacy", s.patient, `{"pharmacyId":"`+pharmacy.ID+`","consent":true}`)
	for _, b := range []string{
		`{"type":"spo2","takenAt":"2026-11-24T08:00:00Z","unit":"%","value":85}`,
		`{"type":"blood_pressure","takenAt":"2026-11-24T09:00:00Z","unit":"mmHg","systolic":190,"diastolic":125}`,
		`{"type":"weight","takenAt":"2026-11-24T10:00:00Z","unit":"kg","value":70}`,
	} {
		s.must(tb, http.StatusCreated, http.MethodPost, "/v1/patients/me/readings", s.patient, b)
	}
	s.must(tb, http.StatusCreated, http.MethodPost, "/v1/patients/me/medications", s.patient, medicationBodies[0])
	var me struct{ ID string }
	_ = json.Unmarshal(s.must(tb, http.StatusOK, http.MethodGet, "/v1/me", s.patient, "").body, &me)
	for range 3 { // access-log entries
		s.must(tb, http.StatusOK, http.MethodGet, "/v1/patients/"+me.ID+"/readings", s.pharmacist, "")
	}
	s.lists = []listEndpoint{
		{"readings", "/v1/patients/me/readings?limit=1&cursor=", s.patient},
		{"notifications", "/v1/me/notifications?limit=1&cursor=", s.patient},
		{"access-log", "/v1/patients/me/access-log?limit=1&cursor=", s.patient},
		{"flags", "/v1/pharmacy/flags?limit=1&status=open,claimed,resolved,closed&cursor=", s.pharmacist},
	}
	return s
}

// must sends a request (body "" for none) and fails unless the status is
// want.
func (s *stack) must(tb testing.TB, want int, method, target, token, body string) response {
	tb.Helper()
	var b []byte
	if body != "" {
		b = []byte(body)
	}
	r := s.do(tb, method, target, token, b)
	if r.status != want {
		tb.Fatalf("set-up: want %d: %s", want, r)
	}
	return r
}

// page is a list response.
type page struct {
	Items      []pageItem `json:"items"`
	NextCursor string     `json:"nextCursor"`
}

// pageItem is an item of a page, by its id.
type pageItem struct {
	ID string `json:"id"`
}

// FuzzCursor sends fuzzed cursors to the four paginated lists (readings,
// the inbox, the access log, the pharmacist's flag queue), escaped as a
// client's URL library would. Invariants: never a 5xx; a 4xx is a 400
// problem naming "cursor"; a 200 is a page of at most the limit, and its
// next cursor, if any, gives a 200 page that repeats none of its items.
// Seeds: each list's real first cursor, and tampered ones (other
// versions, huge and negative times, ids too long, invalid UTF-8, NUL,
// padding, standard base64, raw text). Known issue: invalid UTF-8.
func FuzzCursor(f *testing.F) {
	s := newQueryStack(f)
	b64 := base64.RawURLEncoding.EncodeToString
	for _, l := range s.lists {
		r := s.must(f, http.StatusOK, http.MethodGet, l.path, l.token, "")
		var p page
		_ = json.Unmarshal(r.body, &p)
		if p.NextCursor != "" {
			f.Add(p.NextCursor)
			raw, _ := base64.RawURLEncoding.DecodeString(p.NextCursor)
			f.Add(base64.StdEncoding.EncodeToString(raw))
			f.Add(b64(append(raw, 0)))
			f.Add(strings.ToUpper(p.NextCursor))
		}
	}
	for _, c := range []string{
		"", "x", "=", "====", "%", "%zz", "+/", "a b", "\xff\xfe", "é", "\x00", strings.Repeat("A", 1000),
		"v1.0.x", b64([]byte("v1.0.x")), b64([]byte("n1.0.x")), b64([]byte("v2.0.x")), b64([]byte("v1..")), b64([]byte("v1.0.")),
		b64([]byte("v1.9223372036854775807.0198f0e4-7a4c-7cde-8f00-5b5c6d7e8f90")),
		b64([]byte("v1.-9223372036854775808.0198f0e4-7a4c-7cde-8f00-5b5c6d7e8f90")),
		b64([]byte("n1.9223372036854775807.x")), b64([]byte("n1.-1.x")), b64([]byte("v1.1e3.x")), b64([]byte("v1.+1.x")),
		b64([]byte("v1.0." + strings.Repeat("a", 65))), b64([]byte("v1.0.\xff\xfe\xfd")), b64([]byte("v1.0.\x00")),
		b64([]byte("v1.0.a.b.c")), b64([]byte("0:0:x")), b64([]byte("-1:-1:\xff")), b64([]byte("99999999999999999999:0:x")),
		b64([]byte("4:1764061200000:" + strings.Repeat("z", 600))), b64([]byte(strings.Repeat("a", 100))),
		b64([]byte(strings.Repeat("a", 101))), b64([]byte("\xff\xfe\xfd\xfc")), b64([]byte("' OR 1=1 --")), b64([]byte(`{"$gt":""}`)),
	} {
		f.Add(c)
	}
	f.Fuzz(func(t *testing.T, cursor string) {
		skipKnownInput(t, "FuzzCursor", cursor)
		if len(url.QueryEscape(cursor)) > maxQueryValue {
			return
		}
		for _, l := range s.lists {
			r := s.do(t, http.MethodGet, l.path+url.QueryEscape(cursor), l.token, nil)
			if r.status >= 500 && !cursorIsUTF8(cursor) {
				t.Fatalf("%s with a cursor of invalid UTF-8 (%q): %d\n%s", l.name, cursor, r.status, r)
			}
			checkServed(t, r)
			if r.status >= 400 {
				if r.status != http.StatusBadRequest || !slices.Contains(problemFields(r), "cursor") {
					t.Fatalf("%s: a bad cursor must be a 400 naming cursor: %s", l.name, r)
				}
				continue
			}
			first := checkPage(t, l.name, r)
			if first.NextCursor == "" {
				continue
			}
			next := s.do(t, http.MethodGet, l.path+url.QueryEscape(first.NextCursor), l.token, nil)
			checkServed(t, next)
			if next.status != http.StatusOK {
				t.Fatalf("%s: the next cursor the server gave (%q) is refused: %s", l.name, first.NextCursor, next)
			}
			second := checkPage(t, l.name, next)
			for _, it := range second.Items {
				if slices.Contains(first.Items, it) {
					t.Fatalf("%s: item %s on two consecutive pages", l.name, it.ID)
				}
			}
		}
	})
}

// cursorIsUTF8 reports whether the cursor, and the bytes it holds if it is
// base64url, are valid UTF-8.
func cursorIsUTF8(c string) bool {
	raw, err := base64.RawURLEncoding.DecodeString(c)
	return utf8.ValidString(c) && (err != nil || utf8.Valid(raw))
}

// checkPage: a 200 list is JSON with an items array of at most 1 (the
// limit) and a string nextCursor if any.
func checkPage(t *testing.T, name string, r response) page {
	t.Helper()
	jsonObject(t, r)
	var p page
	if err := json.Unmarshal(r.body, &p); err != nil || p.Items == nil || len(p.Items) > 1 {
		t.Fatalf("%s: not a page of at most 1 item (%v): %s", name, err, r)
	}
	return p
}

// timeList is an endpoint FuzzTimeQuery queries with from and to.
type timeList struct {
	name, path string
	// parse is how the handler reads the value (readings turn the first
	// space back into the "+" an unencoded offset becomes).
	parse func(string) (time.Time, error)
	// maxSpan is the longest from..to the endpoint serves.
	maxSpan time.Duration
}

var timeLists = []timeList{
	{"readings", "/v1/patients/me/readings", func(v string) (time.Time, error) {
		return time.Parse(time.RFC3339Nano, strings.Replace(v, " ", "+", 1))
	}, 1 << 62},
	{"doses", "/v1/patients/me/doses", func(v string) (time.Time, error) { return time.Parse(time.RFC3339Nano, v) }, 92 * 24 * time.Hour},
}

// FuzzTimeQuery sends fuzzed from and to query parameters to GET
// .../readings and GET .../doses: escaped as a client library would
// (raw false), or put in the query as they are, only bytes that would
// break the request line escaped (raw true, so "+", "%", "&" and "="
// reach Fiber's query parser). Invariants: never a 5xx; a 4xx is a 400
// problem; with escaping, a value the handler cannot parse as RFC 3339 is
// a 400 naming it (or the other one, if that is bad too), and a
// well-formed, ordered window within the years 2000-2100 (and within 92
// days for doses) is a 200 list. Known issue: invalid UTF-8.
func FuzzTimeQuery(f *testing.F) {
	for _, c := range []struct {
		from, to string
		raw      bool
	}{
		{"2026-11-24T00:00:00Z", "2026-11-25T00:00:00Z", false},
		{"2026-11-24T00:00:00+01:00", "2026-11-25T00:00:00.999999999-05:00", false},
		{"2026-11-24T00:00:00+01:00", "2026-11-25T00:00:00+01:00", true},
		{"2026-11-24T00:00:00 01:00", "", false},
		{"2026-11-01T00:00:00Z", "2027-02-01T00:00:00Z", false},
		{"2026-11-25T00:00:00Z", "2026-11-25T00:00:00Z", false},
		{"2026-11-26T00:00:00Z", "2026-11-25T00:00:00Z", false},
		{"", "2026-11-24T00:00:00Z", false},
		{"0001-01-01T00:00:00Z", "9999-12-31T23:59:59.999999999Z", false},
		{"0000-01-01T00:00:00Z", "0000-01-01T00:00:01Z", false},
		{"-0001-01-01T00:00:00Z", "+10000-01-01T00:00:00Z", false},
		{"2026-11-24T00:00:00+24:00", "2026-11-24T00:00:00-23:59", false},
		{"2026-02-30T00:00:00Z", "2026-11-24T25:00:00Z", false},
		{"2026-11-24T00:00:60Z", "2026-11-24t00:00:00z", false},
		{"2026-11-24", "1764028800", false},
		{"2026-11-24T00:00:00.Z", "2026-11-24T00:00:00.0000000000Z", false},
		{"NaN", "Infinity", false},
		{"2026-11-24T00:00:00Z\x00", "\xff\xfe", false},
		{"%", "%zz", true},
		{"2026-11-24T00:00:00Z&from=x", "a=b&to=", true},
		{"2026-11-24T00:00:00%2B01:00", "2026-11-24T00:00:00%252B01:00", true},
		{"\u0662\u0660\u0662\u0666-11-24T00:00:00Z", strings.Repeat("9", 1000), false},
		{"   2026-11-24T00:00:00Z", "2026-11-24T00:00:00Z   ", false},
	} {
		f.Add(c.from, c.to, c.raw)
	}
	s := newQueryStack(f)
	f.Fuzz(func(t *testing.T, from, to string, raw bool) {
		skipKnownInput(t, "FuzzTimeQuery", from, to, raw)
		esc := url.QueryEscape
		if raw {
			esc = escapeRequestLine
		}
		q := "?from=" + esc(from) + "&to=" + esc(to)
		if len(q) > 2*maxQueryValue {
			return
		}
		for _, l := range timeLists {
			r := s.do(t, http.MethodGet, l.path+q, s.patient, nil)
			if r.status >= 500 && (!utf8.ValidString(from) || !utf8.ValidString(to)) {
				t.Fatalf("%s with from %q, to %q: %d\n%s", l.name, from, to, r.status, r)
			}
			checkServed(t, r)
			if r.status >= 400 && r.status != http.StatusBadRequest {
				t.Fatalf("%s: want 200 or 400: %s", l.name, r)
			}
			if r.status == http.StatusOK {
				checkItems(t, l.name, r)
			}
			if raw {
				continue
			}
			fromT, fromErr := parseOptional(l.parse, from)
			toT, toErr := parseOptional(l.parse, to)
			var bad []string
			if fromErr != nil {
				bad = append(bad, "from")
			}
			if toErr != nil {
				bad = append(bad, "to")
			}
			if len(bad) > 0 && (r.status != http.StatusBadRequest || !slices.ContainsFunc(problemFields(r), func(f string) bool { return slices.Contains(bad, f) })) {
				t.Fatalf("%s: %v do not parse (%v, %v), want a 400 naming one of them: %s", l.name, bad, fromErr, toErr, r)
			}
			if fromErr != nil || toErr != nil || from == "" || to == "" {
				continue
			}
			if saneYear(fromT) && saneYear(toT) && fromT.Before(toT) && toT.Sub(fromT) <= l.maxSpan && r.status != http.StatusOK {
				t.Fatalf("%s: a well-formed window %v..%v is refused: %s", l.name, fromT, toT, r)
			}
		}
	})
}

func parseOptional(parse func(string) (time.Time, error), v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	return parse(v)
}

func saneYear(t time.Time) bool { return t.Year() >= 2000 && t.Year() <= 2100 }

// checkItems: a 200 list is a JSON object with an items array.
func checkItems(t *testing.T, name string, r response) {
	t.Helper()
	jsonObject(t, r)
	var p struct {
		Items []json.RawMessage `json:"items"`
	}
	if err := json.Unmarshal(r.body, &p); err != nil || p.Items == nil {
		t.Fatalf("%s: a 200 without an items array (%v): %s", name, err, r)
	}
}

// escapeRequestLine percent-encodes only the bytes that cannot stand in a
// request line (controls, space, non-ASCII, '#'), leaving the rest for
// the server's query parser to make sense of.
func escapeRequestLine(v string) string {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c <= ' ' || c >= 0x7f || c == '#' {
			b.WriteString("%" + strings.ToUpper(hex2(c)))
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// FuzzPharmacySearch sends fuzzed free text to GET /v1/pharmacies?q=
// (escaped, or raw as in FuzzTimeQuery), as a signed-in patient, with one
// pharmacy registered ("Fuzz Pharmacy", FZ123, SW1A 1AA). Invariants:
// never a 5xx; a 4xx is a 400 problem (naming "q", with escaping); a 200
// is an items list
// of pharmacies; with escaping, an ASCII text of at most 100 characters
// that the name contains (any case), or that starts the ODS code or the
// postcode (spaces and case ignored), finds that pharmacy. Known issue:
// invalid UTF-8.
func FuzzPharmacySearch(f *testing.F) {
	for _, q := range []string{
		"", "fuzz", "FUZZ PHARM", "pharmacy", "FZ1", "fz123", "SW1A", "sw1a 1a", " Fuzz ", "zz ph",
		"%", "_", "\\", "%_\\", ".*", "(a+)+$", "[", "^", "$where", `{"$ne":null}`, "' OR '1'='1", "\x00",
		"\xff", "a\xffb\xc3", "\xed\xa0\x80", "é", "ſ", "\u212a", "\u202e", strings.Repeat("a", 100), strings.Repeat("é", 101),
	} {
		f.Add(q, false)
	}
	f.Add("a+b&q=c", true)
	f.Add("%zz%", true)
	f.Add("&\xc4", true)
	s := newQueryStack(f)
	f.Fuzz(func(t *testing.T, q string, raw bool) {
		skipKnownInput(t, "FuzzPharmacySearch", q, raw)
		esc := url.QueryEscape
		if raw {
			esc = escapeRequestLine
		}
		if len(esc(q)) > maxQueryValue {
			return
		}
		r := s.do(t, http.MethodGet, "/v1/pharmacies?q="+esc(q), s.patient, nil)
		if r.status >= 500 && !utf8.ValidString(q) {
			t.Fatalf("search text %q: %d\n%s", q, r.status, r)
		}
		checkServed(t, r)
		if r.status >= 400 {
			// Raw, the text may add parameters of its own ("&\xc4"), which
			// the 400 may name instead.
			if r.status != http.StatusBadRequest || (!raw && !slices.Contains(problemFields(r), "q")) {
				t.Fatalf("a refused search must be a 400 naming q: %s", r)
			}
			return
		}
		jsonObject(t, r)
		var found struct {
			Items []pharmacyItem `json:"items"`
		}
		if err := json.Unmarshal(r.body, &found); err != nil || found.Items == nil {
			t.Fatalf("a 200 without an items array (%v): %s", err, r)
		}
		text := strings.TrimSpace(q)
		key := strings.ToUpper(strings.ReplaceAll(text, " ", ""))
		matches := strings.Contains("fuzz pharmacy", strings.ToLower(text)) || strings.HasPrefix("FZ123", key) || strings.HasPrefix("SW1A1AA", key)
		if !raw && isASCII(text) && len(text) <= 100 && matches && !slices.Contains(found.Items, pharmacyItem{ODSCode: "FZ123"}) {
			t.Fatalf("search %q does not find Fuzz Pharmacy (FZ123, SW1A 1AA): %s", q, r)
		}
	})
}

// pharmacyItem is a pharmacy of a search, by its ODS code.
type pharmacyItem struct {
	ODSCode string `json:"odsCode"`
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
