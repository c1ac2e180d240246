package web

import (
	"embed"
	"mime"
	"path"

	"github.com/gofiber/fiber/v2"
)

// contentSecurityPolicy allows nothing but the workspace's own stylesheet,
// script and requests: no inline script or style (charts are inline SVG
// styled by classes), no frames of it anywhere, forms posted only to it.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// securityHeaders sets, on every workspace response, the policy above and
// the headers that keep pages out of frames, keep URLs out of Referer
// headers, and keep pages with patients' data out of caches.
func securityHeaders(c *fiber.Ctx) error {
	h := &c.Response().Header
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
	h.Set("Cache-Control", "no-store")
	return c.Next()
}

//go:embed static
var static embed.FS

// serveStatic serves the embedded stylesheet, script and icon. They hold
// no data, so browsers may cache them for a while.
func serveStatic(c *fiber.Ctx) error {
	name := path.Base(c.Params("name"))
	b, err := static.ReadFile("static/" + name)
	if err != nil {
		c.Status(fiber.StatusNotFound)
		return c.SendString("not found")
	}
	c.Set("Content-Type", mime.TypeByExtension(path.Ext(name)))
	c.Set("Cache-Control", "public, max-age=300")
	return c.Send(b)
}
