package main

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestTrustedProxiesConfig(t *testing.T) {
	t.Parallel()
	env := func(v string) func(string) string {
		return func(name string) string {
			if name == "CONCORD_TRUSTED_PROXIES" {
				return v
			}
			return ""
		}
	}
	valid := []struct {
		value string
		want  []string
	}{
		{"", nil},
		{" , ", nil},
		{"10.0.0.0/8", []string{"10.0.0.0/8"}},
		{" 10.0.0.0/8 ,172.16.0.0/12, fd00::/8 ", []string{"10.0.0.0/8", "172.16.0.0/12", "fd00::/8"}},
		{"192.0.2.10,2001:db8::1", []string{"192.0.2.10/32", "2001:db8::1/128"}},
	}
	for _, tc := range valid {
		c, err := loadConfig(env(tc.value))
		if err != nil {
			t.Errorf("%q: %v", tc.value, err)
			continue
		}
		var got []string
		for _, p := range c.TrustedProxies {
			got = append(got, p.String())
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%q (-want +got):\n%s", tc.value, diff)
		}
	}
	for _, bad := range []string{"10.0.0.0/33", "proxy.internal", "10.0.0.0/8;172.16.0.0/12", "10.0.0.1/8", "0.0.0.0/0", "::/0", "10.0.0.0/8,,nope"} {
		_, err := loadConfig(env(bad))
		if err == nil || !strings.HasPrefix(err.Error(), "CONCORD_TRUSTED_PROXIES: ") {
			t.Errorf("%q: error %v, want one naming CONCORD_TRUSTED_PROXIES", bad, err)
		}
	}
}
