package fhir

import "github.com/concord-health/concord/models"

// Every code and system the package writes or accepts lives in this file,
// with its source. Sources:
//
//   - [R4] HL7 FHIR R4 (4.0.1): Observation vital-signs profiles
//     (https://hl7.org/fhir/R4/observation-vitalsigns.html), terminology
//     code systems (observation-category, flag-category, consentscope,
//     consentaction, v3-ActCode, v3-ParticipationType, v3-ActReason).
//   - [UKCore] HL7 UK Core R4 (NHSDigital/FHIR-R4-UKCORE-STAGING-MAIN,
//     June 2025): the examples UKCore-Observation-VitalSigns-*-Example,
//     UKCore-Patient-RichardSmith-Example, UKCore-MedicationStatement-
//     Amoxicillin-Example, UKCore-Consent-ForInformationAccess-Example,
//     UKCore-Flag-FoodAllergy-Example, and the value sets UKCore-
//     BloodPressure, -BloodPressure-Systolic, -BloodPressure-Diastolic,
//     -HeartRate, -OxygenSaturation, -BodyTemperature,
//     -BodyWeightMeasurements and -BloodGlucose.
//   - [DESIGN] DESIGN.md "Clinical content" (the LOINC code of each
//     reading type, as models.ReadingType.LOINC).
//   - [HealthKit] the LOINC codes device platforms map Apple HealthKit
//     types to (2339-0 glucose by mass, 8331-1 oral temperature, 40443-4
//     resting heart rate, 2708-6 oxygen saturation): accepted on import
//     only.

// Code systems and identifier systems.
const (
	SystemLOINC  = "http://loinc.org"          // [R4]
	SystemSNOMED = "http://snomed.info/sct"    // [R4]
	SystemUCUM   = "http://unitsofmeasure.org" // [R4]
	// SystemNHSNumber identifies a patient by NHS number [UKCore Patient].
	SystemNHSNumber = "https://fhir.nhs.uk/Id/nhs-number"
	// SystemDMD codes medicines in the NHS Dictionary of medicines and
	// devices [UKCore MedicationStatement].
	SystemDMD = "https://dmd.nhs.uk"
	// SystemODS identifies an organisation (a pharmacy) by ODS code
	// [UKCore].
	SystemODS = "https://fhir.nhs.uk/Id/ods-organization-code"
	// SystemUUID is the identifier system of the UUIDs Concord gives its
	// records [UKCore MedicationStatement and Flag examples].
	SystemUUID = "https://tools.ietf.org/html/rfc4122"

	systemObservationCategory = "http://terminology.hl7.org/CodeSystem/observation-category"          // [R4]
	systemFlagCategory        = "http://terminology.hl7.org/CodeSystem/flag-category"                 // [R4]
	systemConsentScope        = "http://terminology.hl7.org/CodeSystem/consentscope"                  // [R4]
	systemConsentAction       = "http://terminology.hl7.org/CodeSystem/consentaction"                 // [R4]
	systemActCode             = "http://terminology.hl7.org/CodeSystem/v3-ActCode"                    // [R4]
	systemParticipationType   = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"          // [R4]
	systemActReason           = "http://terminology.hl7.org/CodeSystem/v3-ActReason"                  // [R4]
	systemMedStatementCat     = "http://terminology.hl7.org/CodeSystem/medication-statement-category" // [R4]
)

// Profiles claimed in meta.profile [R4].
const (
	profileVitalSigns = "http://hl7.org/fhir/StructureDefinition/vitalsigns"
	profileBP         = "http://hl7.org/fhir/StructureDefinition/bp"
	profileHeartRate  = "http://hl7.org/fhir/StructureDefinition/heartrate"
	profileOxygenSat  = "http://hl7.org/fhir/StructureDefinition/oxygensat"
	profileBodyTemp   = "http://hl7.org/fhir/StructureDefinition/bodytemp"
	profileBodyWeight = "http://hl7.org/fhir/StructureDefinition/bodyweight"
)

// Fixed codings of the resources other than Observation.
var (
	// categoryVitalSigns is every exported Observation's category [R4].
	categoryVitalSigns = Coding{systemObservationCategory, "vital-signs", "Vital Signs"}
	// The flag categories [R4 flag-category]: medicines or a reading.
	flagCategoryDrug     = Coding{systemFlagCategory, "drug", "Drug"}
	flagCategoryClinical = Coding{systemFlagCategory, "clinical", "Clinical"}
	// A pharmacy nomination is a privacy consent to information access
	// [UKCore Consent example; R4 consentscope].
	consentScopePrivacy = Coding{systemConsentScope, "patient-privacy", "Privacy Consent"}
	consentCategoryINFA = Coding{systemActCode, "INFA", "information access"}
	// The patient opted in [R4 v3-ActCode; consent-policy examples], for
	// the pharmacy as information recipient [R4 v3-ParticipationType], to
	// access [R4 consentaction] for treatment [R4 v3-ActReason].
	consentPolicyOptIn      = Coding{systemActCode, "OPTIN", "opt-in"}
	consentActorRecipient   = Coding{systemParticipationType, "IRCP", "information recipient"}
	consentActionAccess     = Coding{systemConsentAction, "access", "Access"}
	consentPurposeTreat     = Coding{systemActReason, "TREAT", "treatment"}
	medStatementPatientHeld = Coding{systemMedStatementCat, "patientspecified", "Patient Specified"}
	// A number the patient typed in was never traced on the Personal
	// Demographics Service [UKCore NHSNumberVerificationStatusEngland].
	nhsNumberNotTraced = Coding{"https://fhir.hl7.org.uk/CodeSystem/UKCore-NHSNumberVerificationStatusEngland", "02", "Number present but not traced"}
)

// extensionNHSNumberVerification carries nhsNumberNotTraced [UKCore].
const extensionNHSNumberVerification = "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NHSNumberVerificationStatus"

// vitalSign is how one reading type is coded: the LOINC code Concord
// exports it with (the same as models [DESIGN]), any other LOINC codes
// its HL7 profile requires beside it, the UK Core SNOMED CT coding (zero
// when UK Core has none), the UCUM unit with its display, the profile,
// and codes also accepted on import.
type vitalSign struct {
	typ        models.ReadingType
	loinc      Coding
	extraLOINC []Coding
	snomed     Coding
	unit       string // UCUM, the type's canonical unit
	unitText   string
	profile    string
	importAlso []Coding
}

// vitalSigns codes each reading type. Peak flow has no UK Core SNOMED CT
// code and neither it nor blood glucose is in HL7's vital-signs set, so
// they claim only the base vital-signs profile.
var vitalSigns = []vitalSign{
	{typ: models.ReadingBloodPressure,
		loinc:  Coding{SystemLOINC, "85354-9", "Blood pressure panel with all children optional"}, // [R4 bp; UKCore]
		snomed: Coding{SystemSNOMED, "75367002", "Blood pressure"},                                // [UKCore example]
		unit:   "mm[Hg]", unitText: "millimeter of mercury", profile: profileBP,
		importAlso: []Coding{
			{SystemLOINC, "55284-4", "Blood pressure systolic and diastolic"},         // the DSTU2 vital-signs panel
			{SystemSNOMED, "163020007", "On examination - blood pressure reading"},    // [UKCore BloodPressure]
			{SystemSNOMED, "335661000000109", "Self measured blood pressure reading"}, // [UKCore BloodPressure]
			{SystemSNOMED, "723237002", "Non-invasive blood pressure"},                // [UKCore BloodPressure]
		}},
	{typ: models.ReadingBloodGlucose,
		loinc:  Coding{SystemLOINC, "15074-8", "Glucose [Moles/volume] in Blood"}, // [DESIGN]
		snomed: Coding{SystemSNOMED, "997671000000106", "Blood glucose level"},    // [UKCore BloodGlucose]
		unit:   "mmol/L", unitText: "millimole per liter", profile: profileVitalSigns,
		importAlso: []Coding{
			{SystemLOINC, "2339-0", "Glucose [Mass/volume] in Blood"},                // [HealthKit]
			{SystemSNOMED, "997681000000108", "Fasting blood glucose level"},         // [UKCore BloodGlucose]
			{SystemSNOMED, "1089381000000101", "Random blood glucose level"},         // [UKCore BloodGlucose]
			{SystemSNOMED, "56991000237104", "Glucose molar concentration in blood"}, // [UKCore BloodGlucose]
		}},
	{typ: models.ReadingWeight,
		loinc:  Coding{SystemLOINC, "29463-7", "Body weight"},   // [R4 bodyweight; UKCore]
		snomed: Coding{SystemSNOMED, "27113001", "Body weight"}, // [UKCore example]
		unit:   "kg", unitText: "kilogram", profile: profileBodyWeight},
	{typ: models.ReadingHeartRate,
		loinc:  Coding{SystemLOINC, "8867-4", "Heart rate"},     // [R4 heartrate; UKCore]
		snomed: Coding{SystemSNOMED, "364075005", "Heart rate"}, // [UKCore HeartRate]
		unit:   "/min", unitText: "beats/minute", profile: profileHeartRate,
		importAlso: []Coding{
			{SystemLOINC, "40443-4", "Heart rate --resting"},  // [HealthKit]
			{SystemSNOMED, "444981005", "Resting heart rate"}, // [UKCore example]
		}},
	{typ: models.ReadingSpO2,
		loinc: Coding{SystemLOINC, "59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry"}, // [DESIGN]
		// The R4 oxygensat profile requires 2708-6 beside it.
		extraLOINC: []Coding{{SystemLOINC, "2708-6", "Oxygen saturation in Arterial blood"}},
		snomed:     Coding{SystemSNOMED, "431314004", "Peripheral oxygen saturation"}, // [UKCore example]
		unit:       "%", unitText: "percent", profile: profileOxygenSat,
		importAlso: []Coding{
			{SystemLOINC, "2708-6", "Oxygen saturation in Arterial blood"},   // [R4 oxygensat; HealthKit]
			{SystemSNOMED, "103228002", "Hemoglobin saturation with oxygen"}, // [UKCore example]
		}},
	{typ: models.ReadingPeakFlow,
		loinc: Coding{SystemLOINC, "19935-6", "Maximum expiratory gas flow Respiratory system airway by Peak flow meter"}, // [DESIGN]
		unit:  "L/min", unitText: "liter per minute", profile: profileVitalSigns},
	{typ: models.ReadingTemperature,
		loinc:  Coding{SystemLOINC, "8310-5", "Body temperature"},     // [R4 bodytemp; UKCore]
		snomed: Coding{SystemSNOMED, "386725007", "Body temperature"}, // [UKCore BodyTemperature]
		unit:   "Cel", unitText: "degree Celsius", profile: profileBodyTemp,
		importAlso: []Coding{
			{SystemLOINC, "8331-1", "Oral temperature"},          // [HealthKit]
			{SystemSNOMED, "276885007", "Core body temperature"}, // [UKCore example]
		}},
}

// bpComponent is how one value of a blood pressure panel is coded.
type bpComponent struct {
	field      string // "systolic", "diastolic" or "pulse"
	loinc      Coding
	snomed     Coding
	unit       string
	unitText   string
	importAlso []Coding
}

// bpComponents are the components of the 85354-9 panel [R4 bp; UKCore
// BloodPressure example]. The cuff's pulse rides in the panel as a heart
// rate component, which the bp profile's open slicing allows.
var bpComponents = []bpComponent{
	{field: "systolic",
		loinc:  Coding{SystemLOINC, "8480-6", "Systolic blood pressure"},
		snomed: Coding{SystemSNOMED, "72313002", "Systolic arterial pressure"},
		unit:   "mm[Hg]", unitText: "millimeter of mercury",
		importAlso: []Coding{ // [UKCore BloodPressure-Systolic]
			{SystemSNOMED, "271649006", "Systolic blood pressure"},
			{SystemSNOMED, "1162737008", "Self reported systolic blood pressure"},
			{SystemSNOMED, "407554009", "Sitting systolic blood pressure"},
			{SystemSNOMED, "407556006", "Lying systolic blood pressure"},
			{SystemSNOMED, "400974009", "Standing systolic blood pressure"},
		}},
	{field: "diastolic",
		loinc:  Coding{SystemLOINC, "8462-4", "Diastolic blood pressure"},
		snomed: Coding{SystemSNOMED, "1091811000000102", "Diastolic arterial pressure"},
		unit:   "mm[Hg]", unitText: "millimeter of mercury",
		importAlso: []Coding{ // [UKCore BloodPressure-Diastolic]
			{SystemSNOMED, "271650006", "Diastolic blood pressure"},
			{SystemSNOMED, "1162735000", "Self reported diastolic blood pressure"},
			{SystemSNOMED, "407555005", "Sitting diastolic blood pressure"},
			{SystemSNOMED, "407557002", "Lying diastolic blood pressure"},
			{SystemSNOMED, "400975005", "Standing diastolic blood pressure"},
		}},
	{field: "pulse",
		loinc:  Coding{SystemLOINC, "8867-4", "Heart rate"},
		snomed: Coding{SystemSNOMED, "364075005", "Heart rate"},
		unit:   "/min", unitText: "beats/minute"},
}

// vitalSignOf returns the coding row of a reading type.
func vitalSignOf(t models.ReadingType) (vitalSign, bool) {
	for _, vs := range vitalSigns {
		if vs.typ == t {
			return vs, true
		}
	}
	return vitalSign{}, false
}

// concept returns the CodeableConcept a row exports: LOINC first, then
// any profile-required LOINC, then the UK Core SNOMED CT coding.
func (vs vitalSign) concept() CodeableConcept {
	c := CodeableConcept{Coding: append([]Coding{vs.loinc}, vs.extraLOINC...)}
	if vs.snomed.Code != "" {
		c.Coding = append(c.Coding, vs.snomed)
	}
	c.Text = vs.loinc.Display
	return c
}

// matches reports whether c carries any code of the row.
func (vs vitalSign) matches(c CodeableConcept) bool {
	return matchesAny(c, append([]Coding{vs.loinc, vs.snomed}, vs.importAlso...))
}

// concept returns the CodeableConcept a panel component exports.
func (bc bpComponent) concept() CodeableConcept {
	return CodeableConcept{Coding: []Coding{bc.loinc, bc.snomed}, Text: bc.loinc.Display}
}

// matches reports whether c carries any code of the component.
func (bc bpComponent) matches(c CodeableConcept) bool {
	return matchesAny(c, append([]Coding{bc.loinc, bc.snomed}, bc.importAlso...))
}

func matchesAny(c CodeableConcept, codes []Coding) bool {
	for _, cd := range codes {
		if cd.Code != "" && c.has(cd.System, cd.Code) {
			return true
		}
	}
	return false
}
