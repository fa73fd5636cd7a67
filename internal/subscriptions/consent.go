package subscriptions

import (
	"comptoir/internal/account"
	"comptoir/internal/eu"
)

// ConsentWordingVersion names the wording below. The exact words a customer
// ticked are stored with the subscription; changing them is a new version.
const ConsentWordingVersion = "subscription-consent@1"

// ConsentText is the wording of the two separate boxes a consumer ticks
// before a subscription starts.
type ConsentText struct {
	Immediate string // the express request for immediate performance
	Waiver    string // the acknowledgement about the right of withdrawal
}

// consentWording follows Directive 2011/83/EU art. 16(a) and 16(m) (Code de
// la consommation L221-25, L221-28) for a service contract: a plan is a
// service performed over time, and it starts at once even during a free
// trial, so the boxes are asked for either way.
var consentWording = map[string]ConsentText{
	"en": {
		Immediate: "I ask for my subscription to start now, before the end of the 14-day withdrawal period.",
		Waiver:    "I understand that if I withdraw within 14 days I pay for the service already provided, and that I lose my right of withdrawal once the service has been fully performed.",
	},
	"fr": {
		Immediate: "Je demande que mon abonnement commence dès maintenant, avant la fin du délai de rétractation de 14 jours.",
		Waiver:    "Je reconnais que si je me rétracte dans les 14 jours, je paie le service déjà fourni, et que je perds mon droit de rétractation une fois le service pleinement exécuté.",
	},
}

// ConsentWording is the text of the two boxes in lang ("fr", else English),
// for the subscribe page.
func ConsentWording(lang string) ConsentText {
	if lang != "fr" {
		lang = "en"
	}
	return consentWording[lang]
}

// ConsentRequired reports whether the law asks this customer for the two
// boxes: a consumer where the EU's consumer law applies
// (eu.ConsumerLawApplies; business customers are not consumers).
func ConsentRequired(u account.User) bool {
	return u.CustomerType != account.CustomerBusiness && eu.ConsumerLawApplies(u.Country)
}
