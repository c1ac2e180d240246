package api

// WithZeroCopy builds the app with fiber.Config.Immutable off (strings
// read from a request alias Fiber's buffers), for BenchmarkImmutable.
func WithZeroCopy(c *Config) { c.zeroCopy = true }
