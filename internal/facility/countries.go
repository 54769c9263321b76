package facility

import "strings"

// iso3166 is every officially assigned ISO 3166-1 alpha-2 code (249).
const iso3166 = `
AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ
BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ
CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ
DE DJ DK DM DO DZ
EC EE EG EH ER ES ET
FI FJ FK FM FO FR
GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY
HK HM HN HR HT HU
ID IE IL IM IN IO IQ IR IS IT
JE JM JO JP
KE KG KH KI KM KN KP KR KW KY KZ
LA LB LC LI LK LR LS LT LU LV LY
MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ
NA NC NE NF NG NI NL NO NP NR NU NZ
OM
PA PE PF PG PH PK PL PM PN PR PS PT PW PY
QA
RE RO RS RU RW
SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ
TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ
UA UG UM US UY UZ
VA VC VE VG VI VN VU
WF WS
YE YT
ZA ZM ZW
`

// euMembers are the 27 member states of the European Union.
const euMembers = "AT BE BG CY CZ DE DK EE ES FI FR GR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK"

var (
	countries = set(strings.Fields(iso3166))
	eu        = set(strings.Fields(euMembers))
)

// commonMistakes maps codes people write for the ones ISO assigns.
var commonMistakes = map[string]string{"UK": "GB", "EL": "GR", "EN": "GB"}

func set(xs []string) map[string]bool {
	m := make(map[string]bool, len(xs))
	for _, x := range xs {
		m[x] = true
	}
	return m
}

// defaultJurisdictions is what a site carries when its file says nothing:
// its country, plus EU for member states.
func defaultJurisdictions(country string) []string {
	return DefaultJurisdictions(country)
}

// DefaultJurisdictions are the tags a site in country carries when its
// file says nothing: the country, plus EU for member states.
func DefaultJurisdictions(country string) []string {
	if eu[country] {
		return []string{"EU", country}
	}
	return []string{country}
}
