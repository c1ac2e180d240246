package api

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"unicode"

	"github.com/concord-health/concord/models"
)

// maxKeyDepth is how deep checkKeys follows nesting: encoding/json's own
// limit, beyond which the decoder reports the body.
const maxKeyDepth = 10000

// errMalformed stops checkKeys at malformed JSON, which the decoder then
// reports with its position.
var errMalformed = errors.New("malformed json")

// checkKeys walks the JSON value in body beside the Go type it will be
// decoded into (t), and returns an invalid error naming the field when an
// object, at any depth, holds a key twice or two keys that differ only in
// case, or when an object decoded into a struct has a key that is not
// exactly one of the struct's JSON field names. Malformed JSON is left to
// the decoder, which reports where it is malformed.
func checkKeys(body []byte, t reflect.Type) error {
	w := keyWalker{b: body}
	if err := w.value(t, 0); err != nil {
		if me, ok := err.(*models.Error); ok {
			return me
		}
	}
	return nil
}

// keyWalker scans JSON text; it reads keys and skips everything else.
type keyWalker struct {
	b    []byte
	i    int
	path []pathStep // where the walk is, to name a field in a problem
	keys [][]byte   // the keys of the objects being walked, innermost last
}

// pathStep is an object key or, when key is nil, an array index.
type pathStep struct {
	key   []byte
	index int
}

// field names key at the walk's position: a JSON path such as
// "readings[3].systolic".
func (w *keyWalker) field(key []byte) string {
	var b strings.Builder
	for _, s := range append(w.path, pathStep{key: key}) {
		if s.key == nil {
			b.WriteString("[" + strconv.Itoa(s.index) + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.Write(s.key)
	}
	return b.String()
}

func (w *keyWalker) space() {
	for w.i < len(w.b) {
		switch w.b[w.i] {
		case ' ', '\t', '\n', '\r':
			w.i++
		default:
			return
		}
	}
}

// value checks the next value; t is the type it decodes into, nil when
// any keys may appear (interfaces, custom unmarshalers).
func (w *keyWalker) value(t reflect.Type, depth int) error {
	w.space()
	if w.i >= len(w.b) {
		return errMalformed
	}
	switch w.b[w.i] {
	case '{', '[':
		if depth >= maxKeyDepth {
			return errMalformed
		}
		w.i++
		if w.b[w.i-1] == '{' {
			return w.object(shapeOf(t), depth)
		}
		return w.array(shapeOf(t), depth)
	case '"':
		_, err := w.str()
		return err
	}
	// A number or a literal, up to the next delimiter (the decoder checks
	// its spelling).
	start := w.i
	for w.i < len(w.b) && !isDelimiter(w.b[w.i]) {
		w.i++
	}
	if w.i == start {
		return errMalformed
	}
	return nil
}

func isDelimiter(c byte) bool {
	switch c {
	case ',', ']', '}', ' ', '\t', '\n', '\r':
		return true
	}
	return false
}

// next reads the ',' between two members or elements, or the closing
// delimiter (then done).
func (w *keyWalker) next(closing byte) (done bool, err error) {
	w.space()
	if w.i >= len(w.b) {
		return false, errMalformed
	}
	switch w.b[w.i] {
	case ',':
		w.i++
		return false, nil
	case closing:
		w.i++
		return true, nil
	}
	return false, errMalformed
}

func (w *keyWalker) array(t reflect.Type, depth int) error {
	var elem reflect.Type
	if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
		elem = t.Elem()
	}
	w.space()
	if w.i < len(w.b) && w.b[w.i] == ']' {
		w.i++
		return nil
	}
	for n := 0; ; n++ {
		w.path = append(w.path, pathStep{index: n})
		err := w.value(elem, depth+1)
		w.path = w.path[:len(w.path)-1]
		if err != nil {
			return err
		}
		if done, err := w.next(']'); done || err != nil {
			return err
		}
	}
}

func (w *keyWalker) object(t reflect.Type, depth int) error {
	var (
		fields map[string]reflect.Type
		elem   reflect.Type
	)
	if t != nil {
		switch t.Kind() {
		case reflect.Struct:
			fields = jsonFields(t)
		case reflect.Map:
			elem = t.Elem()
		}
	}
	w.space()
	if w.i < len(w.b) && w.b[w.i] == '}' {
		w.i++
		return nil
	}
	// This object's keys are w.keys[mark:]; a large object also gets a
	// map of its keys, folded.
	mark := len(w.keys)
	defer func() { w.keys = w.keys[:mark] }()
	var folded map[string][]byte
	for {
		w.space()
		if w.i >= len(w.b) || w.b[w.i] != '"' {
			return errMalformed
		}
		key, err := w.str()
		if err != nil {
			return err
		}
		first, dup := w.addKey(key, mark, &folded)
		if dup {
			problem := "is given twice"
			if !bytes.Equal(first, key) {
				problem = fmt.Sprintf("is given twice, as %q and %q: keys may not differ only in case", first, key)
			}
			return &models.Error{Code: models.CodeInvalid, Message: "the body gives a field twice",
				Fields: []models.FieldProblem{{Field: w.field(first), Problem: problem}}}
		}
		child := elem
		if fields != nil {
			ft, ok := fields[string(key)]
			if !ok {
				return &models.Error{Code: models.CodeInvalid, Message: "the body has a field this endpoint does not accept",
					Fields: []models.FieldProblem{{Field: w.field(key), Problem: "is not a known field"}}}
			}
			child = ft
		}
		w.space()
		if w.i >= len(w.b) || w.b[w.i] != ':' {
			return errMalformed
		}
		w.i++
		w.path = append(w.path, pathStep{key: key})
		err = w.value(child, depth+1)
		w.path = w.path[:len(w.path)-1]
		if err != nil {
			return err
		}
		if done, err := w.next('}'); done || err != nil {
			return err
		}
	}
}

// str reads the string that starts at w.i (a '"') and returns its value
// as encoding/json reads it.
func (w *keyWalker) str() ([]byte, error) {
	start := w.i
	w.i++
	plain := true // ASCII without escapes: the bytes are the value
	for w.i < len(w.b) {
		switch c := w.b[w.i]; {
		case c == '"':
			w.i++
			raw := w.b[start:w.i]
			if plain {
				return raw[1 : len(raw)-1], nil
			}
			var s string
			if json.Unmarshal(raw, &s) != nil {
				return nil, errMalformed
			}
			return []byte(s), nil
		case c == '\\':
			plain = false
			w.i += 2
		case c >= 0x80:
			plain = false
			w.i++
		default:
			w.i++
		}
	}
	return nil, errMalformed
}

// addKey adds key to the keys of the object whose keys start at mark,
// or returns the key it would duplicate for encoding/json: one equal under
// Unicode simple case folding ("K", "k" and the Kelvin sign are one
// letter). Objects of more than 32 keys are checked through a map.
func (w *keyWalker) addKey(key []byte, mark int, folded *map[string][]byte) ([]byte, bool) {
	if *folded != nil {
		f := foldKey(key)
		if first, ok := (*folded)[f]; ok {
			return first, true
		}
		(*folded)[f] = key
		return nil, false
	}
	for _, k := range w.keys[mark:] {
		if bytes.EqualFold(k, key) {
			return k, true
		}
	}
	w.keys = append(w.keys, key)
	if n := len(w.keys) - mark; n > 32 {
		*folded = make(map[string][]byte, 2*n)
		for _, k := range w.keys[mark:] {
			(*folded)[foldKey(k)] = k
		}
	}
	return nil, false
}

// foldKey maps every rune to the smallest of its case-folding orbit: two
// keys fold alike exactly when bytes.EqualFold holds between them.
func foldKey(key []byte) string {
	return strings.Map(func(r rune) rune {
		least := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			least = min(least, f)
		}
		return least
	}, string(key))
}

var (
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// shapeOf returns the type whose keys checkKeys can know: t without
// pointers, or nil for interfaces and types that decode themselves.
func shapeOf(t reflect.Type) reflect.Type {
	for t != nil {
		if t.Implements(jsonUnmarshaler) || reflect.PointerTo(t).Implements(jsonUnmarshaler) ||
			t.Implements(textUnmarshaler) || reflect.PointerTo(t).Implements(textUnmarshaler) {
			return nil
		}
		switch t.Kind() {
		case reflect.Pointer:
			t = t.Elem()
		case reflect.Interface:
			return nil
		default:
			return t
		}
	}
	return nil
}

var fieldCache sync.Map // reflect.Type → map[string]reflect.Type

// jsonFields returns the JSON names encoding/json decodes into struct t
// (promoted fields of embedded structs included) and each one's type.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	if f, ok := fieldCache.Load(t); ok {
		return f.(map[string]reflect.Type)
	}
	fields := map[string]reflect.Type{}
	depths := map[string]int{}
	collectFields(t, 0, fields, depths, map[reflect.Type]bool{})
	fieldCache.Store(t, fields)
	return fields
}

func collectFields(t reflect.Type, depth int, fields map[string]reflect.Type, depths map[string]int, visiting map[reflect.Type]bool) {
	if visiting[t] {
		return
	}
	visiting[t] = true
	defer delete(visiting, t)
	for i := range t.NumField() {
		sf := t.Field(i)
		tag := sf.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if sf.Anonymous && name == "" {
			ft := sf.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				collectFields(ft, depth+1, fields, depths, visiting)
				continue
			}
		}
		if !sf.IsExported() {
			continue
		}
		if name == "" {
			name = sf.Name
		}
		if d, ok := depths[name]; ok && d <= depth {
			continue
		}
		fields[name], depths[name] = sf.Type, depth
	}
}
