// Package fhircheck has no code of its own: its tests check the FHIR R4
// that package fhir writes with a real FHIR implementation,
// github.com/google/fhir/go (its jsonformat R4 unmarshaller, which parses
// and validates every element: required elements, cardinality, codes of
// required bindings, primitive formats, reference types, unknown
// elements). That module is imported by this package's _test.go files
// only, so it is never linked into the server; keeping it to one small
// package keeps its long cold build out of every other package's tests.
package fhircheck
