package sqlite

// The fixtures of the package's own tests, for its external tests
// (package sqlite_test) too: one home for what a fixture reading is.
var (
	LiteEpoch     = liteEpoch
	LiteReading   = liteReading
	LiteReadingID = liteReadingID
)

// LiteRawDB and LiteUserVersion open a database file beside any store and
// read its schema version, for the external tests.
var (
	LiteRawDB       = liteRawDB
	LiteUserVersion = liteUserVersion
)
