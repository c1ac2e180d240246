package main

import (
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"strings"
	"time"
)

// config is everything read from the environment (README lists each variable).
type config struct {
	Addr              string
	DataDir           string
	MongoURI          string
	DBName            string
	JWTKeyFile        string
	AdminEmail        string
	AdminPassword     string
	SchedulerInterval time.Duration
	FCMCredentials    string
	FCMProjectID      string
	FCMEndpoint       string
	LogLevel          slog.Level
	// TrustedProxies are the reverse proxies whose X-Forwarded-For names
	// the client (CONCORD_TRUSTED_PROXIES); none by default.
	TrustedProxies []netip.Prefix
}

// loadConfig reads and checks the configuration; the error names the
// variable at fault.
func loadConfig(getenv func(string) string) (config, error) {
	get := func(name, def string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		return def
	}
	c := config{
		Addr:           get("CONCORD_ADDR", ":8080"),
		DataDir:        get("CONCORD_DATA_DIR", "./data"),
		MongoURI:       get("MONGODB_URI", ""),
		DBName:         get("CONCORD_DB_NAME", "concord"),
		JWTKeyFile:     get("CONCORD_JWT_KEY_FILE", ""),
		AdminEmail:     get("CONCORD_ADMIN_EMAIL", ""),
		AdminPassword:  getenv("CONCORD_ADMIN_PASSWORD"),
		FCMCredentials: get("CONCORD_FCM_CREDENTIALS_FILE", ""),
		FCMProjectID:   get("CONCORD_FCM_PROJECT_ID", ""),
		FCMEndpoint:    get("CONCORD_FCM_ENDPOINT", ""),
	}
	var err error
	if c.SchedulerInterval, err = time.ParseDuration(get("CONCORD_SCHEDULER_INTERVAL", "15s")); err != nil || c.SchedulerInterval < 100*time.Millisecond {
		return c, fmt.Errorf("CONCORD_SCHEDULER_INTERVAL: %q is not a duration of at least 100ms (e.g. 15s)", getenv("CONCORD_SCHEDULER_INTERVAL"))
	}
	if err := c.LogLevel.UnmarshalText([]byte(get("CONCORD_LOG_LEVEL", "info"))); err != nil {
		return c, fmt.Errorf("CONCORD_LOG_LEVEL: %q is not one of debug, info, warn, error", getenv("CONCORD_LOG_LEVEL"))
	}
	if (c.AdminEmail == "") != (c.AdminPassword == "") {
		return c, fmt.Errorf("CONCORD_ADMIN_EMAIL and CONCORD_ADMIN_PASSWORD must be set together")
	}
	for name, path := range map[string]string{"CONCORD_JWT_KEY_FILE": c.JWTKeyFile, "CONCORD_FCM_CREDENTIALS_FILE": c.FCMCredentials} {
		if path == "" {
			continue
		}
		f, err := os.Open(path)
		if err != nil {
			return c, fmt.Errorf("%s: cannot read %s: %v", name, path, err)
		}
		f.Close()
	}
	if c.DBName != "" && strings.ContainsAny(c.DBName, "/\\. \"$") {
		return c, fmt.Errorf("CONCORD_DB_NAME: %q is not a valid database name", c.DBName)
	}
	if c.TrustedProxies, err = parseTrustedProxies(getenv("CONCORD_TRUSTED_PROXIES")); err != nil {
		return c, fmt.Errorf("CONCORD_TRUSTED_PROXIES: %w", err)
	}
	return c, nil
}

// parseTrustedProxies reads a comma-separated list of CIDR prefixes
// ("10.0.0.0/8, fd00::/8"); a bare address stands for itself alone. An
// empty list trusts no proxy.
func parseTrustedProxies(v string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, item := range strings.Split(v, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if a, err := netip.ParseAddr(item); err == nil && a.Zone() == "" {
			out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(item)
		if err != nil {
			return nil, fmt.Errorf("%q is not a CIDR prefix such as 10.0.0.0/8 or fd00::/8 (the list is comma-separated)", item)
		}
		if p != p.Masked() {
			return nil, fmt.Errorf("%q has address bits set beyond its /%d prefix (the network is %s)", item, p.Bits(), p.Masked())
		}
		if p.Bits() == 0 {
			return nil, fmt.Errorf("%q trusts every address, so any client could choose the address it is counted as; name the proxies' networks", item)
		}
		out = append(out, p)
	}
	return out, nil
}
