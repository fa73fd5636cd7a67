package web_test

import (
	"net/url"
	"regexp"
	"testing"

	"comptoir/internal/apptest"
	"comptoir/internal/config"
)

// A store that sets a business calendar counts its deadlines in business
// hours and says so on its pages. The test clock starts on a Sunday at
// 10:00 UTC: with Monday to Friday 09:00-18:00 in Paris (UTC+1 in March),
// counting starts on Monday at 08:00 UTC, 24 business hours end on
// Wednesday at 14:00 UTC and 48 on the next Monday at 11:00 UTC.
func TestBusinessCalendarCountsBusinessHoursAndSaysSo(t *testing.T) {
	h := apptest.StartWith(t, func(c *config.Config) {
		c.SLAHours, c.SLAZone, c.SLAHolidays = "mon-fri 09:00-18:00", "Europe/Paris", "2026-04-06"
	})
	c := h.NewClient(t)
	c.Lang = "en"
	mustContain(t, c.Get("/contact"), "48 business hours", "mon-fri 09:00-18:00 (Europe/Paris)")
	sent := followSeeOther(t, c, c.PostForm("/contact", url.Values{"name": {"Ana"}, "email": {"ana@example.fr"}, "topic": {"question"}, "message": {"Hello"}}))
	mustContain(t, sent, "11 March 2026 at 14:00 UTC", "16 March 2026 at 11:00 UTC", `id="contact-business-hours"`)

	_, agent := h.User(t, "agent", "agent@shop.test")
	agent.PostForm("/lang", url.Values{"lang": {"en"}})
	id := regexp.MustCompile(`/console/tickets/(tkt_[0-9A-Z]+)`).FindStringSubmatch(agent.Get("/console/tickets").Body)[1]
	mustContain(t, agent.Get("/console/tickets/"+id), "11 March 2026 at 14:00 UTC", "16 March 2026 at 11:00 UTC",
		`id="ticket-business-hours"`, "mon-fri 09:00-18:00 (Europe/Paris)")
}

// Without a calendar the pages speak of plain hours.
func TestWallClockPagesDoNotSpeakOfBusinessHours(t *testing.T) {
	h := apptest.Start(t)
	c := h.NewClient(t)
	c.Lang = "en"
	page := c.Get("/contact")
	mustContain(t, page, "within 48 hours")
	if regexp.MustCompile(`business hours`).MatchString(page.Body) {
		t.Fatal("the contact page speaks of business hours without a calendar")
	}
}
