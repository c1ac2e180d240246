package services

// withoutNil returns the observers that are not nil, so that the wiring
// may pass an optional observer as it is.
func withoutNil[T comparable](observers []T) []T {
	var zero T
	out := make([]T, 0, len(observers))
	for _, o := range observers {
		if o != zero {
			out = append(out, o)
		}
	}
	return out
}
