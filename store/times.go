package store

import (
	"reflect"
	"time"
)

// Millis is t as every backend keeps it: in UTC, truncated to the
// millisecond (what a BSON date holds).
func Millis(t time.Time) time.Time { return t.UTC().Truncate(time.Millisecond) }

// MillisCeil is t in UTC rounded up to the millisecond; the zero time stays
// zero. Of times kept to the millisecond, "at or after MillisCeil(t)" and
// "before MillisCeil(t)" select exactly what "at or after t" and "before
// t" select of the exact times: the bounds of a range keep their meaning.
func MillisCeil(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	c := Millis(t)
	if c.Before(t) {
		c = c.Add(time.Millisecond)
	}
	return c
}

// AsStored returns a copy of v with every time in it, however deeply
// nested (fields, pointers, slices, maps), as Millis keeps it: v as it
// reads back from any backend. v is not changed. Unexported fields are
// copied as they are.
func AsStored[T any](v T) T {
	out, _ := asStored(reflect.ValueOf(&v).Elem()).Interface().(T) // a nil interface stays nil
	return out
}

var timeType = reflect.TypeFor[time.Time]()

// asStored is AsStored of the value v, as a new value of v's type.
func asStored(v reflect.Value) reflect.Value {
	if v.Type() == timeType {
		return reflect.ValueOf(Millis(v.Interface().(time.Time)))
	}
	out := reflect.New(v.Type()).Elem()
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return v
		}
		p := reflect.New(v.Type().Elem())
		p.Elem().Set(asStored(v.Elem()))
		out.Set(p)
	case reflect.Slice:
		if v.IsNil() {
			return v
		}
		out.Set(reflect.MakeSlice(v.Type(), v.Len(), v.Len()))
		for i := range v.Len() {
			out.Index(i).Set(asStored(v.Index(i)))
		}
	case reflect.Array:
		for i := range v.Len() {
			out.Index(i).Set(asStored(v.Index(i)))
		}
	case reflect.Map:
		if v.IsNil() {
			return v
		}
		out.Set(reflect.MakeMapWithSize(v.Type(), v.Len()))
		for it := v.MapRange(); it.Next(); {
			out.SetMapIndex(it.Key(), asStored(it.Value()))
		}
	case reflect.Interface:
		if v.IsNil() {
			return v
		}
		out.Set(asStored(v.Elem()))
	case reflect.Struct:
		out.Set(v)
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				out.Field(i).Set(asStored(v.Field(i)))
			}
		}
	default:
		return v
	}
	return out
}
