package catalog

import (
	"fmt"
	"time"

	"comptoir/internal/money"
)

// DemoProducts is the small catalog `serve --demo` starts with: two services,
// a file, a licence key and a monthly plan with a free trial, each described
// in French and English. Every processing time is shorter than the default
// policy's 7-day non-delivery window, so the demo shows no warning.
//
// The file product names the blob "demo/guide-boutique-en-ligne.pdf", which
// the demo seeding must put in the upload store; the licence-key product
// needs keys (DemoLicenceKeys) to be sold. The French texts put a no-break
// space (\u00a0) before a colon, as French typography wants, so the colon
// never starts a line.
func DemoProducts() []ProductInput {
	eur := func(minor int64) money.Amount { return money.MustNew(minor, "EUR") }
	return []ProductInput{
		{
			Slug:   "publications-reseaux-sociaux",
			Kind:   KindService,
			NameFR: "Gestion de réseaux sociaux — publications programmées",
			NameEN: "Social media management — scheduled posts",
			DescriptionFR: "Nous rédigeons, illustrons et programmons des publications pour vos comptes " +
				"Instagram, Facebook ou LinkedIn, dans le ton de votre marque.\n\n" +
				"Choisissez le nombre de publications (de 10 à 1 000). Elles vous sont livrées au fur et à " +
				"mesure, toutes prêtes et programmées sous 3 jours, puis mises en ligne au rythme convenu ensemble.",
			DescriptionEN: "We write, illustrate and schedule posts for your Instagram, Facebook or LinkedIn " +
				"accounts, in your brand's voice.\n\n" +
				"Choose how many posts you need (10 to 1,000). They are delivered as they are ready, all " +
				"written and scheduled within 3 days, then published at the pace we agree on together.",
			UnitPrice:      eur(450),
			MinQuantity:    10,
			MaxQuantity:    1000,
			ProcessingTime: 3 * 24 * time.Hour,
		},
		{
			Slug:   "traduction-francais-anglais",
			Kind:   KindService,
			NameFR: "Traduction français ↔ anglais — par tranche de 100 mots",
			NameEN: "French ↔ English translation — per 100 words",
			DescriptionFR: "Traduction professionnelle de vos textes (site, fiches produits, courriels), " +
				"relue par une seconde personne.\n\n" +
				"Commandez autant de tranches de 100 mots que compte votre document. Les textes traduits vous " +
				"sont remis au fur et à mesure, l’ensemble sous 4 jours.",
			DescriptionEN: "Professional translation of your texts (website, product pages, emails), " +
				"proofread by a second person.\n\n" +
				"Order as many 100-word blocks as your document holds. Translated texts are delivered as " +
				"they are done, the whole within 4 days.",
			UnitPrice:      eur(900),
			MinQuantity:    1,
			MaxQuantity:    200,
			ProcessingTime: 4 * 24 * time.Hour,
		},
		{
			Slug:   "guide-lancer-sa-boutique-en-ligne",
			Kind:   KindDigital,
			NameFR: "Guide PDF — Lancer sa boutique en ligne",
			NameEN: "PDF guide — Launching your online shop",
			DescriptionFR: "Un guide pratique de 60 pages pour passer de l’idée à la première vente\u00a0: offre, " +
				"prix, paiement, obligations légales et service client.\n\n" +
				"Le lien de téléchargement vous est donné dès le paiement et reste valable 48 heures.",
			DescriptionEN: "A practical 60-page guide from the idea to the first sale: offer, pricing, " +
				"payment, legal duties and customer service.\n\n" +
				"The download link is yours as soon as you pay and stays valid for 48 hours.",
			UnitPrice:       eur(1200),
			DigitalDelivery: DeliveryFile,
			FileKey:         "demo/guide-boutique-en-ligne.pdf",
			DownloadTTL:     48 * time.Hour,
		},
		{
			Slug:   "licence-carnet-pro",
			Kind:   KindDigital,
			NameFR: "Licence Carnet Pro — 1 poste",
			NameEN: "Carnet Pro licence — 1 seat",
			DescriptionFR: "Une clé de licence perpétuelle pour Carnet Pro, le logiciel de prise de notes " +
				"qui fonctionne hors ligne, sur un ordinateur.\n\n" +
				"La clé s’affiche dès le paiement et vous est aussi envoyée par courriel.",
			DescriptionEN: "A perpetual licence key for Carnet Pro, the note-taking app that works " +
				"offline, for one computer.\n\n" +
				"The key is shown as soon as you pay and is also sent to you by email.",
			UnitPrice:       eur(2900),
			DigitalDelivery: DeliveryLicenceKey,
		},
		{
			Slug:   "abonnement-veille-conseils",
			Kind:   KindSubscription,
			NameFR: "Veille & conseils — abonnement mensuel",
			NameEN: "Insights & advice — monthly plan",
			DescriptionFR: "Chaque semaine, une lettre de veille sur le commerce en ligne et une séance de " +
				"questions-réponses en direct avec nos experts.\n\n" +
				"7 jours d’essai gratuit, puis un paiement par mois, sans engagement\u00a0: vous résiliez quand " +
				"vous voulez depuis votre compte.",
			DescriptionEN: "Every week, a newsletter on e-commerce trends and a live Q&A session with our " +
				"experts.\n\n" +
				"7-day free trial, then billed monthly, with no commitment: cancel at any time from your account.",
			UnitPrice:    eur(990),
			PlanInterval: IntervalMonth,
			TrialDays:    7,
		},
	}
}

// DemoLicenceKeys are keys for the demo's licence-key product: fixed, so a
// demo walkthrough can name them, and obviously not real.
func DemoLicenceKeys() []string {
	keys := make([]string, 10)
	for i := range keys {
		keys[i] = fmt.Sprintf("CARNET-DEMO-%04d-%04X", i+1, (i+1)*0x2F1B)
	}
	return keys
}
