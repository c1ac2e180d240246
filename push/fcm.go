// Package push is the Firebase Cloud Messaging client: it sends push
// messages to devices through the Firebase Admin SDK, and classifies what
// FCM answered so the scheduler knows whether to mark a notification sent,
// drop a device token, retry later or give up. The notifications
// themselves (the outbox and the inbox) live in package services.
package push

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	firebase "firebase.google.com/go/v4"
	"firebase.google.com/go/v4/messaging"
	"google.golang.org/api/option"
)

// MaxBatch is the most messages one SendEach call takes; Send splits longer
// lists into calls of this size.
const MaxBatch = 500

// DefaultEndpointProject is the Firebase project used with an endpoint
// override when neither FCMConfig.ProjectID nor a credentials file names one.
// Emulators and fcmfake accept any project.
const DefaultEndpointProject = "concord-dev"

// FCMConfig says how to reach FCM. At least one of CredentialsFile and
// Endpoint must be set; with neither, Concord does not push at all.
type FCMConfig struct {
	// CredentialsFile is a Firebase service-account JSON key file. Without
	// Endpoint, requests to FCM are authenticated with it.
	CredentialsFile string
	// ProjectID is the Firebase project. Empty means the credentials file's
	// project_id, or DefaultEndpointProject with Endpoint and no file.
	ProjectID string
	// Endpoint overrides the FCM API base URL (an emulator, a test server).
	// "/v1" is appended unless the path already ends in it. With Endpoint
	// set, requests carry no Google credentials, even if CredentialsFile is
	// set (it then only names the project).
	Endpoint string
	// Now is the clock for APNs expiry times; nil means time.Now.
	Now func() time.Time
}

// Configured reports whether c asks for push delivery at all.
func (c FCMConfig) Configured() bool { return c.CredentialsFile != "" || c.Endpoint != "" }

// FCM sends pushes through the Firebase Admin SDK's messaging client. It is
// safe for concurrent use.
type FCM struct {
	project string
	now     func() time.Time
	// sendEach is client.SendEach; a field so tests can count the calls.
	sendEach func(context.Context, []*messaging.Message) (*messaging.BatchResponse, error)
}

// projectPattern accepts Firebase project ids, including legacy
// domain-scoped ones ("example.com:project"), and nothing that could change
// the shape of a request URL.
var projectPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9.:_-]*$`)

// NewFCM returns an FCM client for cfg. It does not contact FCM, so a key
// FCM refuses shows up later as Failed pushes. It returns an error naming the
// problem, meant to stop start-up, when cfg is unusable: nothing configured,
// an endpoint that is not an absolute http(s) URL, an unreadable or
// non-service-account credentials file, or no valid project id.
func NewFCM(ctx context.Context, cfg FCMConfig) (*FCM, error) {
	if !cfg.Configured() {
		return nil, errors.New("fcm: neither a credentials file nor an endpoint is configured")
	}
	project := cfg.ProjectID
	var opts []option.ClientOption

	var key []byte
	if cfg.CredentialsFile != "" {
		var keyProject string
		var err error
		key, keyProject, err = readServiceAccount(cfg.CredentialsFile)
		if err != nil {
			return nil, err
		}
		if project == "" {
			project = keyProject
		}
	}

	if cfg.Endpoint != "" {
		endpoint, err := apiBase(cfg.Endpoint)
		if err != nil {
			return nil, err
		}
		// The SDK builds "{endpoint}/projects/{p}/messages:send" from the
		// endpoint transport.NewHTTPClient returns for WithEndpoint, so the
		// override needs no custom transport.
		opts = append(opts, option.WithEndpoint(endpoint), option.WithoutAuthentication())
		if project == "" {
			project = DefaultEndpointProject
		}
	} else {
		// The validated bytes, not the path: the file cannot change between
		// the check and its use.
		opts = append(opts, option.WithCredentialsJSON(key))
	}
	if project == "" {
		return nil, fmt.Errorf("fcm: credentials file %s has no project_id and no project id is configured", cfg.CredentialsFile)
	}
	if !projectPattern.MatchString(project) {
		return nil, fmt.Errorf("fcm: project id %q is not a valid Firebase project id", project)
	}

	// A non-nil Config with the project set keeps the SDK from looking at
	// FIREBASE_CONFIG, GOOGLE_CLOUD_PROJECT or default credentials.
	app, err := firebase.NewApp(ctx, &firebase.Config{ProjectID: project}, opts...)
	if err != nil {
		return nil, fmt.Errorf("fcm: create firebase app: %w", err)
	}
	client, err := app.Messaging(ctx)
	if err != nil {
		return nil, fmt.Errorf("fcm: create messaging client: %w", err)
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	return &FCM{project: project, now: now, sendEach: client.SendEach}, nil
}

// ProjectID is the Firebase project messages are sent through.
func (f *FCM) ProjectID() string { return f.project }

// apiBase turns a configured endpoint into the SDK's API base URL.
func apiBase(endpoint string) (string, error) {
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("fcm: endpoint %q is not an absolute http(s) URL", endpoint)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	if !strings.HasSuffix(u.Path, "/v1") {
		u.Path += "/v1"
	}
	return u.String(), nil
}

// readServiceAccount reads a service-account key file and returns its bytes
// and project. Other credential types (user, external account) are refused:
// the file is configuration, not something to trust blindly.
func readServiceAccount(path string) (key []byte, project string, err error) {
	key, err = os.ReadFile(path)
	if err != nil {
		return nil, "", fmt.Errorf("fcm: read credentials file: %w", err)
	}
	var f struct {
		Type       string `json:"type"`
		ProjectID  string `json:"project_id"`
		PrivateKey string `json:"private_key"`
	}
	if err := json.Unmarshal(key, &f); err != nil {
		return nil, "", fmt.Errorf("fcm: credentials file %s is not JSON: %w", path, err)
	}
	if f.Type != "service_account" || f.PrivateKey == "" {
		return nil, "", fmt.Errorf("fcm: credentials file %s is not a service-account key", path)
	}
	return key, f.ProjectID, nil
}

// Message is one notification to one device.
type Message struct {
	// Token is the device's FCM registration token.
	Token string
	// Title and Body are shown to the user. With both empty the push is a
	// data-only (background) message.
	Title, Body string
	// Data is delivered to the app with the push.
	Data map[string]string
	// Urgent marks a time-critical push: Android priority high, APNs
	// priority 10 and interruption level time-sensitive. Otherwise Android
	// priority is normal and APNs priority 5.
	Urgent bool
	// CollapseKey, when set, lets a newer push replace an undelivered older
	// one (Android collapse_key, apns-collapse-id).
	CollapseKey string
	// TTL, when positive, is how long FCM and APNs keep trying to deliver;
	// zero means FCM's default (four weeks).
	TTL time.Duration
	// Category, when set on a push with a title or body, names the actions
	// the app offers on it ("Taken", "Snooze"): APNs aps.category (the
	// UNNotificationCategory the app registered) and Android
	// notification.click_action (the intent the app opens on a tap).
	Category string
	// TitleLocKey, BodyLocKey and BodyLocArgs, when set on a push with a
	// title or body, let an app that holds the same message catalogue
	// show the text in the device's language instead: Android
	// title_loc_key/body_loc_key/body_loc_args, APNs alert
	// title-loc-key/loc-key/loc-args. Title and Body stay the text shown
	// by an app that does not.
	TitleLocKey, BodyLocKey string
	BodyLocArgs             []string
}

// Send sends each push as its own FCM message, at most MaxBatch per SDK
// SendEach call, and returns one Result per push in the same order. A
// failure of one push never fails the others. The error is non-nil only when
// nothing could be attempted (ctx already done); pushes not attempted because
// ctx ended part-way get Outcome Retry.
//
// The SDK sends a batch's messages 50 at a time and itself retries a
// message up to four times, with backoff, on 503 or network errors (unless
// Retry-After exceeds two minutes), so give ctx a deadline.
func (f *FCM) Send(ctx context.Context, pushes []Message) ([]Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	results := make([]Result, len(pushes))
	// Indexes into pushes of the messages to send: the SDK refuses a whole
	// batch when one message is invalid, so bad pushes never reach it.
	idx := make([]int, 0, min(len(pushes), MaxBatch))
	msgs := make([]*messaging.Message, 0, min(len(pushes), MaxBatch))
	now := f.now()

	flush := func() {
		if len(msgs) == 0 {
			return
		}
		defer func() { idx, msgs = idx[:0], msgs[:0] }()
		if err := ctx.Err(); err != nil {
			for _, i := range idx {
				results[i].Outcome, results[i].Err = Retry, err
			}
			return
		}
		br, err := f.sendEach(ctx, msgs)
		if err == nil && (br == nil || len(br.Responses) != len(msgs)) {
			err = errors.New("fcm: SendEach returned a malformed batch response")
		}
		for k, i := range idx {
			if err != nil {
				results[i].Outcome, results[i].Err = Failed, fmt.Errorf("fcm: send batch: %w", err)
				continue
			}
			r := br.Responses[k]
			if r.Success {
				results[i].Outcome, results[i].MessageID = Sent, r.MessageID
				continue
			}
			results[i].Outcome, results[i].RetryAfter = classify(r.Error, f.now())
			results[i].Err = r.Error
		}
	}

	for i, p := range pushes {
		results[i].Token = p.Token
		switch {
		case p.Token == "":
			results[i].Outcome, results[i].Err = Invalid, errors.New("fcm: empty registration token")
			continue
		case p.TTL < 0:
			results[i].Outcome, results[i].Err = Failed, errors.New("fcm: negative ttl")
			continue
		}
		idx = append(idx, i)
		msgs = append(msgs, message(p, now))
		if len(msgs) == MaxBatch {
			flush()
		}
	}
	flush()
	return results, nil
}

// message builds the FCM message for p.
func message(p Message, now time.Time) *messaging.Message {
	m := &messaging.Message{
		Token:   p.Token,
		Data:    p.Data,
		Android: &messaging.AndroidConfig{Priority: "normal", CollapseKey: p.CollapseKey},
		APNS:    &messaging.APNSConfig{Headers: map[string]string{}},
	}
	if p.Urgent {
		m.Android.Priority = "high"
	}
	if p.TTL > 0 {
		ttl := p.TTL
		m.Android.TTL = &ttl
		m.APNS.Headers["apns-expiration"] = strconv.FormatInt(now.Add(p.TTL).Unix(), 10)
	}
	if p.CollapseKey != "" {
		m.APNS.Headers["apns-collapse-id"] = truncate(p.CollapseKey, 64) // APNs' limit
	}
	if p.Title == "" && p.Body == "" {
		// Apple requires priority 5 and content-available for background
		// pushes, whatever their urgency.
		m.APNS.Headers["apns-push-type"] = "background"
		m.APNS.Headers["apns-priority"] = "5"
		m.APNS.Payload = &messaging.APNSPayload{Aps: &messaging.Aps{ContentAvailable: true}}
		return m
	}
	m.Notification = &messaging.Notification{Title: p.Title, Body: p.Body}
	m.APNS.Headers["apns-push-type"] = "alert"
	m.APNS.Headers["apns-priority"] = "5"
	var aps *messaging.Aps
	if p.Urgent {
		m.APNS.Headers["apns-priority"] = "10"
		aps = &messaging.Aps{CustomData: map[string]any{"interruption-level": "time-sensitive"}}
	}
	if p.Category != "" || p.TitleLocKey != "" || p.BodyLocKey != "" {
		if aps == nil {
			aps = &messaging.Aps{}
		}
		m.Android.Notification = &messaging.AndroidNotification{ClickAction: p.Category,
			TitleLocKey: p.TitleLocKey, BodyLocKey: p.BodyLocKey, BodyLocArgs: p.BodyLocArgs}
		aps.Category = p.Category
	}
	if p.TitleLocKey != "" || p.BodyLocKey != "" {
		aps.Alert = &messaging.ApsAlert{Title: p.Title, Body: p.Body, TitleLocKey: p.TitleLocKey, LocKey: p.BodyLocKey, LocArgs: p.BodyLocArgs}
	}
	if aps != nil {
		m.APNS.Payload = &messaging.APNSPayload{Aps: aps}
	}
	return m
}

// truncate shortens s to at most n bytes without splitting a character.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// RedactToken returns a registration token shortened for logs: its first six
// characters and an ellipsis. Tokens are credentials for a device; never log
// them whole.
func RedactToken(token string) string {
	if token == "" {
		return ""
	}
	return truncate(token, 6) + "…"
}
