package models

import "testing"

// Every valid number here is in the 999 range, which is never issued to a
// patient; their check digits were computed with the modulus 11 rule.
func TestNormalizeNHSNumber(t *testing.T) {
	tests := []struct {
		name, in, want string
		ok             bool
	}{
		{"digits", "9991111115", "9991111115", true},
		{"spaced 3-3-4", "999 876 5439", "9998765439", true},
		{"hyphenated", "999-012-3454", "9990123454", true},
		{"surrounding space", "  999 765 4323 ", "9997654323", true},
		{"check digit 0 (remainder 0)", "9990000972", "9990000972", true},
		{"all nines", "9999999999", "9999999999", true},
		// 999 123 456x: the weighted sum 320 leaves 1, so the check
		// value is 10 and no number starting 999123456 exists.
		{"check value 10", "999 123 4568", "", false},
		{"check value 10, any last digit", "9991234560", "", false},
		{"wrong check digit", "9991111116", "", false},
		{"nine digits", "999111111", "", false},
		{"eleven digits", "99911111150", "", false},
		{"letters", "99911111X5", "", false},
		{"full-width digits", "９９９１１１１１１５", "", false},
		{"empty", "", "", false},
		{"dots are not separators", "999.111.1115", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := NormalizeNHSNumber(tt.in)
			if got != tt.want || ok != tt.ok {
				t.Errorf("NormalizeNHSNumber(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestValidateNHSNumber(t *testing.T) {
	var p Problems
	if got := ValidateNHSNumber("nhsNumber", "", &p); got != "" || len(p) != 0 {
		t.Errorf("empty: got %q, problems %v; want \"\" and none (the number is optional)", got, p)
	}
	if got := ValidateNHSNumber("nhsNumber", "999 111 1115", &p); got != "9991111115" || len(p) != 0 {
		t.Errorf("valid: got %q, problems %v", got, p)
	}
	if got := ValidateNHSNumber("nhsNumber", "999 111 1116", &p); got != "" || len(p) != 1 || p[0].Field != "nhsNumber" {
		t.Errorf("invalid: got %q, problems %v; want one problem on nhsNumber", got, p)
	}
	if !IsCode(p.Err(), CodeInvalid) {
		t.Errorf("problems.Err() code = %v, want invalid", ErrorCode(p.Err()))
	}
}

func TestFormatNHSNumber(t *testing.T) {
	for in, want := range map[string]string{"9991111115": "999 111 1115", "123": "123", "": ""} {
		if got := FormatNHSNumber(in); got != want {
			t.Errorf("FormatNHSNumber(%q) = %q, want %q", in, got, want)
		}
	}
}
