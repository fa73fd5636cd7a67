package web

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"comptoir/internal/catalog"
	"comptoir/internal/proof"
)

type adminProofData struct {
	Settings proof.Settings
	Products []catalog.Product
	Shown    []proof.Shown
	EmbedTag string
	// On is whether the saved settings show the notices: while they are
	// off, Shown is what visitors would see, and the page says so.
	On bool
	// Read is the Digest of the saved settings the form replaces.
	Read string
	// After is where the page's products start in the catalog ("" for
	// the first page), Next where the following page does ("" on the
	// last).
	After, Next string
}

// Chosen reports whether a product is ticked in the form.
func (d adminProofData) Chosen(productID string) bool {
	return slices.Contains(d.Settings.Products, productID)
}

// DelayMinutes is the delay as the form shows it.
func (d adminProofData) DelayMinutes() int { return int(d.Settings.Delay / time.Minute) }

// OriginsText is the allow-list as the form shows it.
func (d adminProofData) OriginsText() string { return strings.Join(d.Settings.Origins, "\n") }

// adminProofView draws the settings form with st in it and one page of the
// catalog's products, the one after the cursor after.
func (s *Server) adminProofView(r *http.Request, st proof.Settings, after string) (*view, error) {
	ctx := r.Context()
	v := s.newView(r, "admin.proof.title", nil)
	page, next, err := s.Catalog.List(ctx, catalog.ListFilter{After: after, Limit: catalog.MaxListLimit})
	if err != nil {
		return nil, err
	}
	d := adminProofData{Settings: st, EmbedTag: `<script src="` + s.BaseURL + `/embed/proof.js" defer></script>`, After: after, Next: next}
	for _, p := range page {
		if p.Kind != catalog.KindSubscription {
			d.Products = append(d.Products, p)
		}
	}
	if d.Shown, err = s.Proof.Current(ctx, v.Lang); err != nil {
		return nil, err
	}
	saved, err := s.Proof.SettingsToEdit(ctx)
	if err != nil {
		return nil, err
	}
	d.On, d.Read = saved.Enabled, saved.Digest()
	// The form's ticks replace the saved list: a chosen product the page
	// does not show (archived, or on another page of the catalog) would
	// be dropped by the next save. Every chosen one is listed, the saved
	// ones and those of a refused form, so that it stays ticked or can be
	// unticked; the catalog's other pages only add products to tick.
	for _, id := range slices.Concat(saved.Products, st.Products) {
		if slices.ContainsFunc(d.Products, func(p catalog.Product) bool { return p.ID == id }) {
			continue
		}
		p, err := s.Catalog.Get(ctx, id)
		if errors.Is(err, catalog.ErrNotFound) {
			continue // only a crafted form names one; SaveSettings refuses it
		}
		if err != nil {
			return nil, err
		}
		d.Products = append(d.Products, p)
	}
	v.Data = d
	return v, nil
}

func (s *Server) adminProof(w http.ResponseWriter, r *http.Request) {
	st, err := s.Proof.SettingsToEdit(r.Context())
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	v, err := s.adminProofView(r, st, r.URL.Query().Get("after"))
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "admin_proof", v)
}

func (s *Server) adminProofSave(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.badForm(w, r, err)
		return
	}
	st := state(r)
	f := r.PostForm
	in := proof.Settings{
		Enabled: f.Get("enabled") == "yes", DefaultOptOut: f.Get("default_opt_out") == "yes",
		AllProducts: f.Get("products") != "some", Products: f["product"], Origins: strings.Fields(f.Get("origins")),
	}
	errs := map[string]string{}
	var err error
	if in.K, err = strconv.Atoi(strings.TrimSpace(f.Get("k"))); err != nil {
		errs["k"] = s.Messages.T(st.lang, "admin.proof.error.k")
	}
	minutes, err := strconv.Atoi(strings.TrimSpace(f.Get("delay_minutes")))
	if err != nil {
		errs["delay"] = s.Messages.T(st.lang, "admin.proof.error.delay")
	}
	// Kept between 0 and just past the largest delay before it becomes a
	// Duration, so that SaveSettings refuses it: a huge number of minutes
	// wrapped around into the allowed range (600479950316077 were 10m52s).
	in.Delay = time.Duration(min(max(minutes, 0), int(proof.MaxDelay/time.Minute)+1)) * time.Minute
	status := http.StatusUnprocessableEntity
	if len(errs) == 0 {
		err = s.Proof.SaveSettingsOver(r.Context(), in, f.Get("read"), st.user.Actor())
		var verr *proof.ValidationError
		switch {
		case errors.Is(err, proof.ErrSettingsChanged):
			// The admin's choices stay in the form, which now replaces
			// the settings as saved: saving again, having compared,
			// replaces them.
			status = http.StatusConflict
			errs["form"] = s.Messages.T(st.lang, "admin.proof.error.changed")
		case errors.As(err, &verr):
			for field := range verr.Fields {
				errs[field] = s.Messages.T(st.lang, "admin.proof.error."+field)
			}
			if verr.Fields["products"] == "unknown" {
				// Only a crafted form names a product that does not exist.
				errs["products"] = s.Messages.T(st.lang, "admin.proof.error.products_unknown")
			}
			if verr.Fields["origins"] == "too_many" {
				// Every line may be a good origin: say what is wrong.
				errs["origins"] = s.Messages.T(st.lang, "admin.proof.error.origins_too_many", map[string]any{"Max": proof.MaxOrigins})
			}
		case err != nil:
			s.serverError(w, r, err)
			return
		default:
			s.flash(w, "admin.proof.saved")
			http.Redirect(w, r, "/admin/proof", http.StatusSeeOther)
			return
		}
	}
	v, err := s.adminProofView(r, in, f.Get("after"))
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	v.Form, v.Errors = f, errs
	s.render(w, r, status, "admin_proof", v)
}

// adminProofWithdraw takes one order's notice down for good.
func (s *Server) adminProofWithdraw(w http.ResponseWriter, r *http.Request) {
	st := state(r)
	err := s.Proof.Withdraw(r.Context(), r.PathValue("order"), proof.ReasonAdmin, st.user.Actor())
	if errors.Is(err, proof.ErrNotFound) {
		s.notFound(w, r)
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	s.flash(w, "admin.proof.withdrawn")
	http.Redirect(w, r, "/admin/proof", http.StatusSeeOther)
}
