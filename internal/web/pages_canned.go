package web

import (
	"context"
	"database/sql"
	"errors"
	"net/http"

	"comptoir/internal/desk"
	"comptoir/internal/id"
)

type cannedData struct {
	Replies []desk.CannedReply
	// Edit is the reply being edited; nil on the list with its "new" form.
	Edit *desk.CannedReply
}

// cannedView is the admin page of canned replies: the list and a form,
// empty to add one or filled to edit the one in the path.
func (s *Server) cannedView(r *http.Request) (*view, error) {
	ctx := r.Context()
	replies, err := s.Desk.CannedReplies(ctx)
	if err != nil {
		return nil, err
	}
	d := &cannedData{Replies: replies}
	v := s.newView(r, "admin.canned.title", d)
	if cid := r.PathValue("id"); cid != "" {
		c, err := s.Desk.CannedReply(ctx, cid)
		if err != nil {
			return nil, err
		}
		d.Edit = &c
		v.Form.Set("title_fr", c.TitleFR)
		v.Form.Set("title_en", c.TitleEN)
		v.Form.Set("body_fr", c.BodyFR)
		v.Form.Set("body_en", c.BodyEN)
		v.Form.Set("read", c.Digest())
	} else {
		// The new-reply form's key: sent twice (a double click, a reload
		// of the answer), it adds one reply.
		v.Form.Set("canned_key", id.New("cnk"))
	}
	return v, nil
}

func (s *Server) showCanned(w http.ResponseWriter, r *http.Request, status int, prepare func(*view)) {
	v, err := s.cannedView(r)
	if s.deskFailed(w, r, err) {
		return
	}
	if prepare != nil {
		prepare(v)
	}
	s.render(w, r, status, "admin_canned", v)
}

// adminCanned lists the canned replies, with the one in the path (if any)
// open in the form.
func (s *Server) adminCanned(w http.ResponseWriter, r *http.Request) {
	s.showCanned(w, r, http.StatusOK, nil)
}

// adminCannedSave creates a canned reply (POST /admin/canned) or rewrites
// the one in the path.
func (s *Server) adminCannedSave(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.badForm(w, r, err)
		return
	}
	f := r.PostForm
	in := desk.CannedInput{TitleFR: f.Get("title_fr"), TitleEN: f.Get("title_en"), BodyFR: f.Get("body_fr"), BodyEN: f.Get("body_en"),
		Read: f.Get("read")}
	actor := state(r).user.Actor()
	var err error
	if cid := r.PathValue("id"); cid != "" {
		_, err = s.Desk.UpdateCanned(r.Context(), actor, cid, in)
	} else {
		keyed, replay := s.formKeyed(r, actor.ID, "page:canned-create", "canned_key")
		if replay != nil {
			s.cannedSaved(w, r)
			return
		}
		in.After = func(ctx context.Context, tx *sql.Tx, c desk.CannedReply) error {
			return keyed.saveTx(ctx, tx, http.StatusSeeOther, map[string]string{"id": c.ID})
		}
		_, err = s.Desk.CreateCanned(r.Context(), actor, in)
		if out, rerr := keyed.recover(r.Context(), err); rerr == nil && out.Replay {
			s.cannedSaved(w, r)
			return
		}
	}
	if errors.Is(err, desk.ErrCannedChanged) {
		// The admin's words stay in the form, which now edits the reply
		// as it is: saving again, having compared, replaces it.
		s.showCanned(w, r, http.StatusConflict, func(v *view) {
			read := v.Form.Get("read")
			v.Form = f
			v.Form.Set("read", read)
			v.Errors = map[string]string{"form": s.Messages.T(v.Lang, "admin.canned.error.changed")}
		})
		return
	}
	var verr *desk.ValidationError
	if errors.As(err, &verr) {
		s.showCanned(w, r, http.StatusUnprocessableEntity, func(v *view) {
			key := v.Form.Get("canned_key")
			v.Form = f
			if key != "" && f.Get("canned_key") == "" {
				v.Form.Set("canned_key", key)
			}
			v.Errors = map[string]string{}
			for field, code := range verr.Fields {
				v.Errors[field] = s.Messages.T(v.Lang, "admin.canned.error."+code)
			}
		})
		return
	}
	if s.deskFailed(w, r, err) {
		return
	}
	s.cannedSaved(w, r)
}

func (s *Server) cannedSaved(w http.ResponseWriter, r *http.Request) {
	s.flash(w, "admin.canned.saved")
	http.Redirect(w, r, "/admin/canned", http.StatusSeeOther)
}

func (s *Server) adminCannedDelete(w http.ResponseWriter, r *http.Request) {
	err := s.Desk.DeleteCanned(r.Context(), state(r).user.Actor(), r.PathValue("id"))
	if s.deskFailed(w, r, err) {
		return
	}
	s.flash(w, "admin.canned.deleted")
	http.Redirect(w, r, "/admin/canned", http.StatusSeeOther)
}
