package models

import "strings"

// NHSNumberLength is the number of digits in an NHS number: nine
// identifying digits and a check digit.
const NHSNumberLength = 10

// nhsNumberWeights are the weights of the first nine digits in the
// modulus 11 check (NHS Data Dictionary, "NHS Number": the first digit is
// multiplied by 10, the second by 9, … the ninth by 2).
var nhsNumberWeights = [NHSNumberLength - 1]int{10, 9, 8, 7, 6, 5, 4, 3, 2}

// NormalizeNHSNumber returns an NHS number as its ten digits and whether it
// is valid. Spaces and hyphens are ignored, so "943 476 5919" and
// "943-476-5919" normalise to "9434765919".
//
// The check digit follows the NHS Data Dictionary modulus 11 algorithm:
// multiply the first nine digits by 10 down to 2 and add the products;
// the check digit is 11 minus the remainder of the sum divided by 11, 0
// when that is 11. When it is 10 the number is invalid: none is ever
// issued with it.
func NormalizeNHSNumber(s string) (string, bool) {
	digits := strings.NewReplacer(" ", "", "-", "").Replace(strings.TrimSpace(s))
	if len(digits) != NHSNumberLength {
		return "", false
	}
	sum := 0
	for i := 0; i < NHSNumberLength; i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return "", false
		}
		if i < len(nhsNumberWeights) {
			sum += int(digits[i]-'0') * nhsNumberWeights[i]
		}
	}
	check := 11 - sum%11
	switch check {
	case 11:
		check = 0
	case 10:
		return "", false
	}
	if int(digits[NHSNumberLength-1]-'0') != check {
		return "", false
	}
	return digits, true
}

// ValidateNHSNumber checks an optional NHS number under field and returns it
// normalised (NormalizeNHSNumber); "" stays "" (unknown). A bad number is
// recorded in p and "" returned.
func ValidateNHSNumber(field, s string, p *Problems) string {
	if strings.TrimSpace(s) == "" {
		return ""
	}
	n, ok := NormalizeNHSNumber(s)
	if !ok {
		p.Add(field, "must be a 10-digit NHS number with a valid check digit, such as 943 476 5919")
		return ""
	}
	return n
}

// FormatNHSNumber writes a normalised NHS number in the 3-3-4 grouping
// people read it in ("943 476 5919"); anything else is returned unchanged.
func FormatNHSNumber(n string) string {
	if len(n) != NHSNumberLength {
		return n
	}
	return n[:3] + " " + n[3:6] + " " + n[6:]
}
