package orders

import (
	"reflect"
	"testing"

	"comptoir/internal/mail"
)

// sameConfirmation decides whether the confirmation drawn before a
// checkout's transaction is the one to send: a field it did not compare
// would send a confirmation that says something else than the order.
// Every field of the data, of its lines and of the message is changed in
// turn here, and each change must be seen.
func TestSameConfirmationSeesEveryField(t *testing.T) {
	d := confirmationData{Lines: []confirmationLine{{Name: "Posts", Quantity: 2, Amount: "50,00 €"}}}
	m := mail.Message{Kind: "order_confirmation", Attachments: []mail.Attachment{{Filename: "inv.pdf", ContentType: "application/pdf", Source: "invoice:inv"}}}
	if !sameConfirmation(d, d, m, m) {
		t.Fatal("a confirmation differs from itself")
	}
	changed := func(v reflect.Value) {
		switch v.Kind() {
		case reflect.String:
			v.SetString(v.String() + "x")
		case reflect.Bool:
			v.SetBool(!v.Bool())
		case reflect.Int:
			v.SetInt(v.Int() + 1)
		case reflect.Slice:
			v.Set(reflect.Append(v, reflect.Zero(v.Type().Elem())))
		default:
			t.Fatalf("no change made to a %s", v.Kind())
		}
	}
	for i := range reflect.TypeFor[confirmationData]().NumField() {
		d2 := confirmationData{Lines: []confirmationLine{d.Lines[0]}}
		changed(reflect.ValueOf(&d2).Elem().Field(i))
		if sameConfirmation(d, d2, m, m) {
			t.Errorf("confirmationData.%s changed, seen as the same", reflect.TypeFor[confirmationData]().Field(i).Name)
		}
	}
	for i := range reflect.TypeFor[confirmationLine]().NumField() {
		d2 := confirmationData{Lines: []confirmationLine{d.Lines[0]}}
		changed(reflect.ValueOf(&d2.Lines[0]).Elem().Field(i))
		if sameConfirmation(d, d2, m, m) {
			t.Errorf("confirmationLine.%s changed, seen as the same", reflect.TypeFor[confirmationLine]().Field(i).Name)
		}
	}
	for i := range reflect.TypeFor[mail.Message]().NumField() {
		m2 := m
		m2.Attachments = []mail.Attachment{m.Attachments[0]}
		changed(reflect.ValueOf(&m2).Elem().Field(i))
		if sameConfirmation(d, d, m, m2) {
			t.Errorf("mail.Message.%s changed, seen as the same", reflect.TypeFor[mail.Message]().Field(i).Name)
		}
	}
	for i := range reflect.TypeFor[mail.Attachment]().NumField() {
		m2 := m
		m2.Attachments = []mail.Attachment{m.Attachments[0]}
		changed(reflect.ValueOf(&m2.Attachments[0]).Elem().Field(i))
		if sameConfirmation(d, d, m, m2) {
			t.Errorf("mail.Attachment.%s changed, seen as the same", reflect.TypeFor[mail.Attachment]().Field(i).Name)
		}
	}
}
