package main

import (
	"fmt"
	"log/slog"
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
	return c, nil
}
