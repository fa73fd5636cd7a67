package orders

import (
	"comptoir/internal/account"
	"comptoir/internal/catalog"
	"comptoir/internal/eu"
)

// ConsentWordingVersion names the wording below. The exact words a buyer
// ticked are stored with the order; a change of wording is a new version, so
// an old order can always say which text it was.
// consent@2: the English request for digital content reads as POLICY.md
// words it ("the content", not "the digital content").
const ConsentWordingVersion = "consent@2"

// ConsentText is the wording of the two separate boxes a consumer ticks
// before paying for something that starts at once.
type ConsentText struct {
	Immediate string // the express request for immediate performance or supply
	Waiver    string // the acknowledgement of losing the right of withdrawal
}

// consentWording follows Directive 2011/83/EU art. 16(a) and 16(m) (French
// Code de la consommation L221-28): one pair of sentences for services, one
// for digital content.
var consentWording = map[string]map[string]ConsentText{
	catalog.KindService: {
		"en": {
			Immediate: "I ask for the service to start now, before the end of the 14-day withdrawal period.",
			Waiver:    "I understand that I lose my right of withdrawal once the service has been fully performed, and that if I withdraw earlier I pay for what was already delivered.",
		},
		"fr": {
			Immediate: "Je demande que l’exécution du service commence dès maintenant, avant la fin du délai de rétractation de 14 jours.",
			Waiver:    "Je reconnais perdre mon droit de rétractation une fois le service pleinement exécuté, et que si je me rétracte avant, je paie ce qui a déjà été fourni.",
		},
	},
	catalog.KindDigital: {
		"en": {
			Immediate: "I ask for the content to be supplied now.",
			Waiver:    "I understand that I lose my right of withdrawal once supply has begun.",
		},
		"fr": {
			Immediate: "Je demande la fourniture immédiate du contenu numérique.",
			Waiver:    "Je reconnais perdre mon droit de rétractation dès le début de la fourniture.",
		},
	},
}

// ConsentWording is the text of the two boxes for a cart holding the given
// kinds of product, in lang. A cart with both services and digital content
// shows both sentences in each box, so one tick covers exactly what was read.
func ConsentWording(kinds []string, lang string) ConsentText {
	if lang != "fr" {
		lang = "en"
	}
	var out ConsentText
	seen := map[string]bool{}
	for _, k := range []string{catalog.KindService, catalog.KindDigital} {
		for _, have := range kinds {
			if have == k && !seen[k] {
				seen[k] = true
				w := consentWording[k][lang]
				out.Immediate = join(out.Immediate, w.Immediate)
				out.Waiver = join(out.Waiver, w.Waiver)
			}
		}
	}
	return out
}

func join(a, b string) string {
	if a == "" {
		return b
	}
	return a + " " + b
}

// ConsentRequired reports whether the law asks this buyer for the two boxes:
// a consumer where the EU's consumer law applies (eu.ConsumerLawApplies,
// which includes the outermost regions) buying something that starts at
// once (every service and digital product does). Business buyers are not
// consumers.
func ConsentRequired(u account.User, kinds []string) bool {
	if u.CustomerType == account.CustomerBusiness || !eu.ConsumerLawApplies(u.Country) {
		return false
	}
	return len(kinds) > 0
}
