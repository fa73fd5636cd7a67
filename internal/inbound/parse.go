// Package inbound turns mail that arrives at the store's support addresses
// into Messages the support desk can store and thread: an SMTP listener any
// MTA can forward to (Server), an IMAP poller for a mailbox (Poller), a
// tolerant MIME parser (Parse) and the pure threading keys (ThreadIDs,
// ReplyToken, SubjectReference).
//
// Nothing here touches the database and nothing ever drops a message: input
// that cannot be parsed comes back with Unparsed set and the raw bytes kept.
package inbound

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"html"
	"io"
	"net/mail"
	"net/textproto"
	"path"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/inbucket/html2text"
	"github.com/jhillyerd/enmime/v2"
	"github.com/microcosm-cc/bluemonday"
	"golang.org/x/text/encoding/charmap"
)

// ErrEmpty is returned by Parse for nil or empty input, the only input it
// refuses.
var ErrEmpty = errors.New("inbound: empty message")

// SyntheticIDDomain is the right-hand side of Message-IDs made up by Parse for
// messages that arrive without one.
const SyntheticIDDomain = "synthetic.comptoir.invalid"

// Message is one inbound mail, parsed. Header-derived strings are decoded to
// UTF-8 and free of control characters (no CR/LF can leak into a later
// header or log line).
type Message struct {
	// MessageID is the normalized "<…>" Message-ID. When the mail has none,
	// it is "<sha256-prefix@synthetic.comptoir.invalid>", derived from what
	// the author sent, transport headers aside (the same mail always gives
	// the same id, by whatever route it came; authorSum) and SyntheticID is
	// set.
	MessageID   string
	SyntheticID bool
	InReplyTo   string   // first id of In-Reply-To, normalized, or ""
	References  []string // normalized ids, in header order (oldest first), deduplicated

	From    mail.Address
	To, Cc  []mail.Address
	ReplyTo []mail.Address
	Subject string
	Date    time.Time // UTC; zero when absent or unparseable

	// Text is the plain body, or text derived from the sanitized HTML when
	// the mail is HTML only. Text and HTML are valid UTF-8 without NUL.
	Text string
	// HTML is the HTML body sanitized with a bluemonday UGC policy: safe to
	// render in the console (no script, style, iframe, event handlers or
	// javascript: URLs).
	HTML        string
	Attachments []Attachment

	// AutoReply is set for auto-replies, bulk mail and bounces: the desk must
	// never send mail back in response to them.
	AutoReply bool
	// MaybeAutomatic is set for AutoReply and for signs that a machine
	// may have written the mail, too weak to leave it unanswered (a
	// person's mail carries them too: Exchange's X-Auto-Response-Suppress,
	// a subject such as "Automatic reply: …" or "Réponse automatique : …"
	// of an autoresponder that sets no header) but enough that it is not
	// taken for its sender's own word (maybeAutomatic).
	MaybeAutomatic bool
	// Language is the primary tag of the first language the Content-Language
	// field names, lower case ("en" for "en-GB, fr"), or "": what the
	// author's mail program says the mail is written in.
	Language string
	// ReturnedMessageID is, for a report (RFC 6522: a bounce, a read
	// receipt), the normalized Message-ID of the message it reports on,
	// read from the returned message or its header (message/rfc822,
	// text/rfc822-headers) or from the notification's Original-Message-ID;
	// "" otherwise. A bounce says nothing else of the mail that bounced.
	ReturnedMessageID string

	Raw         []byte   // the bytes as received, always set
	Unparsed    bool     // MIME parsing failed; only best-effort headers are set
	ParseErrors []string // problems met while parsing (also non-fatal ones)
}

// Attachment is one attachment or inline part.
type Attachment struct {
	FileName    string // base name only: no path, no control characters; never empty
	ContentType string
	ContentID   string // without angle brackets, for inline parts referenced by cid:
	Inline      bool
	Data        []byte
}

var (
	htmlPolicy = func() *bluemonday.Policy {
		p := bluemonday.UGCPolicy()
		// Inline images point at their part: the console rewrites cid: URLs
		// to the stored attachment.
		p.AllowURLSchemes("mailto", "http", "https", "cid")
		return p
	}()
	// Text is derived from the sanitized HTML by Parse itself.
	mimeParser = enmime.NewParser(enmime.DisableTextConversion(true))
)

// Parse parses a raw RFC 5322 message. Only nil or empty input is an error;
// anything else returns a Message with Raw set, with Unparsed and
// ParseErrors set when the MIME structure could not be read.
func Parse(raw []byte) (m Message, err error) {
	if len(raw) == 0 {
		return Message{}, ErrEmpty
	}
	m.Raw = raw
	defer func() {
		// enmime is a large parser fed with hostile input: a panic in it
		// must not lose the message.
		if r := recover(); r != nil {
			m = unparsed(raw, fmt.Sprintf("parser panic: %v", r))
			err = nil
		}
	}()

	if reason := tooComplex(raw); reason != "" {
		return unparsed(raw, reason), nil
	}
	env, perr := mimeParser.ReadEnvelope(bytes.NewReader(raw))
	if perr != nil {
		return unparsed(raw, perr.Error()), nil
	}
	for _, e := range env.Errors {
		m.ParseErrors = append(m.ParseErrors, cleanLine(e.Error()))
	}

	hdr := env.GetHeader
	m.setIDs(hdr("Message-ID"), hdr("In-Reply-To"), hdr("References"))
	m.Subject = cleanLine(hdr("Subject"))
	if d, derr := env.Date(); derr == nil {
		m.Date = d.UTC()
	} else if !errors.Is(derr, mail.ErrHeaderNotPresent) {
		m.ParseErrors = append(m.ParseErrors, "date: "+cleanLine(derr.Error()))
	}
	addrs := func(key string) []mail.Address {
		list, aerr := env.AddressList(key)
		if aerr != nil && !errors.Is(aerr, mail.ErrHeaderNotPresent) {
			m.ParseErrors = append(m.ParseErrors, strings.ToLower(key)+": "+cleanLine(aerr.Error()))
			return salvageAddrs(env.Root.Header.Get(key))
		}
		return cleanAddrs(list)
	}
	if from := addrs("From"); len(from) > 0 {
		m.From = from[0]
	}
	m.To, m.Cc, m.ReplyTo = addrs("To"), addrs("Cc"), addrs("Reply-To")
	m.AutoReply = isAutoReply(hdr)
	m.MaybeAutomatic = m.AutoReply || maybeAutomatic(hdr, m.Subject)
	m.Language = primaryLanguage(hdr("Content-Language"))

	if env.HTML != "" {
		m.HTML = cleanBody(htmlPolicy.Sanitize(fixC1(env.HTML)))
	}
	m.Text = cleanBody(fixC1(env.Text))
	if strings.TrimSpace(m.Text) == "" && m.HTML != "" {
		// enmime derives text from the unsanitized HTML, which keeps the
		// bodies of <script> and <style>: derive it from what we show.
		m.Text = htmlText(m.HTML)
	}

	isReport := headerToken(hdr("Content-Type")) == "multipart/report"
	for _, group := range [][]*enmime.Part{env.Attachments, env.Inlines, env.OtherParts} {
		for _, p := range group {
			if isReport && m.ReturnedMessageID == "" {
				m.ReturnedMessageID = returnedMessageID(p)
			}
			m.Attachments = append(m.Attachments, Attachment{
				FileName:    SafeFileName(p.FileName),
				ContentType: cleanLine(p.ContentType),
				ContentID:   cleanLine(strings.Trim(p.ContentID, "<> ")),
				Inline:      p.Disposition == "inline",
				Data:        p.Content,
			})
		}
	}
	return m, nil
}

// primaryLanguage is the primary subtag of the first language tag of a
// Content-Language value (RFC 3282), lower case, or "" when it has none
// that is 2 or 3 letters.
func primaryLanguage(v string) string {
	first, _, _ := strings.Cut(v, ",")
	tag, _, _ := strings.Cut(strings.TrimSpace(first), "-")
	tag = strings.ToLower(tag)
	if len(tag) < 2 || len(tag) > 3 || strings.ContainsFunc(tag, func(r rune) bool { return r < 'a' || r > 'z' }) {
		return ""
	}
	return tag
}

// returnedMessageID reads the Message-ID a part of a report names: the
// returned message's own (message/rfc822 and its header-only and
// internationalized forms) or a notification's Original-Message-ID.
func returnedMessageID(p *enmime.Part) string {
	field := "Message-ID"
	switch strings.ToLower(p.ContentType) {
	case "message/rfc822", "text/rfc822-headers", "message/global", "message/global-headers":
	case "message/disposition-notification", "message/global-disposition-notification":
		field = "Original-Message-ID"
	default:
		return ""
	}
	content := p.Content
	if len(content) > 1<<20 {
		content = content[:1<<20] // a header is far shorter
	}
	h, _ := textproto.NewReader(bufio.NewReader(bytes.NewReader(content))).ReadMIMEHeader()
	if ids := ParseMessageIDs(h.Get(field)); len(ids) > 0 {
		return ids[0]
	}
	return ""
}

// Limits on a message's MIME structure. The MIME parser's time grows with
// the square of the nesting depth and fast with the number of parts: a
// few hundred kilobytes of nested multiparts took a minute. No real mail
// comes near these; one that does is kept unparsed (headers and raw text)
// for a person to look at.
const (
	maxMultiparts    = 100
	maxBoundaryLines = 2000
)

// tooComplex counts, in one pass over the bytes, the multipart headers and
// the lines that could be boundaries, and says why the message is refused
// to the MIME parser, or "".
func tooComplex(raw []byte) string {
	multiparts, boundaries := 0, 0
	for rest := raw; len(rest) > 0; {
		line := rest
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			line, rest = rest[:i], rest[i+1:]
		} else {
			rest = nil
		}
		if bytes.HasPrefix(line, []byte("--")) {
			boundaries++
		}
		if i := bytes.Index(bytes.ToLower(line), []byte("multipart/")); i >= 0 {
			multiparts++
		}
	}
	switch {
	case multiparts > maxMultiparts:
		return fmt.Sprintf("MIME structure too complex: over %d multipart sections", maxMultiparts)
	case boundaries > maxBoundaryLines:
		return fmt.Sprintf("MIME structure too complex: over %d parts", maxBoundaryLines)
	}
	return ""
}

// unparsed builds the Message for input enmime could not read: raw bytes
// kept, headers recovered as far as net/mail can, the body kept as text.
func unparsed(raw []byte, reason string) Message {
	m := Message{Raw: raw, Unparsed: true, ParseErrors: []string{cleanLine(reason)}}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		m.setIDs("", "", "")
		m.Text = cleanBody(string(raw))
		return m
	}
	h := msg.Header
	m.setIDs(h.Get("Message-ID"), h.Get("In-Reply-To"), h.Get("References"))
	m.Subject = cleanLine(enmime.DecodeRFC2047(h.Get("Subject")))
	if d, err := h.Date(); err == nil {
		m.Date = d.UTC()
	}
	addrs := func(key string) []mail.Address {
		list, err := enmime.ParseAddressList(h.Get(key))
		if err != nil {
			return salvageAddrs(h.Get(key))
		}
		return cleanAddrs(list)
	}
	if from := addrs("From"); len(from) > 0 {
		m.From = from[0]
	}
	m.To, m.Cc, m.ReplyTo = addrs("To"), addrs("Cc"), addrs("Reply-To")
	m.AutoReply = isAutoReply(h.Get)
	m.MaybeAutomatic = m.AutoReply || maybeAutomatic(h.Get, m.Subject)
	var body bytes.Buffer
	_, _ = body.ReadFrom(msg.Body)
	m.Text = cleanBody(body.String())
	return m
}

func (m *Message) setIDs(messageID, inReplyTo, references string) {
	if ids := ParseMessageIDs(messageID); len(ids) > 0 {
		m.MessageID = ids[0]
	} else {
		sum := authorSum(m.Raw)
		m.MessageID = "<" + hex.EncodeToString(sum[:16]) + "@" + SyntheticIDDomain + ">"
		m.SyntheticID = true
	}
	if ids := ParseMessageIDs(inReplyTo); len(ids) > 0 {
		m.InReplyTo = ids[0]
	}
	m.References = ParseMessageIDs(references)
}

// authorHeaders are the header fields a mail's author (their mail client)
// writes and transport leaves alone. Transport adds others in front of
// them (Received, Return-Path, Delivered-To, X-Original-To…), which differ
// between the same mail taken from the listener and from the mailbox.
var authorHeaders = []string{"From", "Sender", "Reply-To", "To", "Cc", "Date", "Subject",
	"In-Reply-To", "References", "MIME-Version", "Content-Type", "Content-Transfer-Encoding"}

// authorSum hashes what a mail's author sent: the author's header fields
// (unfolded, spaces collapsed) and the body as sent (line ends and trailing
// blank lines aside), so the same mail received by two routes gets the same
// made-up Message-ID and is stored once. Bytes that are not a mail at all
// are hashed whole.
func authorSum(raw []byte) [sha256.Size]byte {
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return sha256.Sum256(raw)
	}
	h := sha256.New()
	for _, k := range authorHeaders {
		for _, v := range msg.Header[textproto.CanonicalMIMEHeaderKey(k)] {
			fmt.Fprintf(h, "%s: %s\n", k, strings.Join(strings.Fields(v), " "))
		}
	}
	h.Write([]byte("\n"))
	body, _ := io.ReadAll(msg.Body)
	body = bytes.ReplaceAll(body, []byte("\r\n"), []byte("\n"))
	h.Write(bytes.TrimRight(body, " \t\r\n"))
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return sum
}

// ParseMessageIDs extracts message ids from a Message-ID, In-Reply-To or
// References value, tolerating what real clients send: folding, ids
// without angle brackets, comments and phrases ("your message of …"),
// commas and duplicates. Ids come back as "<left@right>", in order, once.
func ParseMessageIDs(s string) []string {
	var out []string
	seen := map[string]bool{}
	add := func(id string) {
		id = strings.Map(func(r rune) rune {
			if unicode.IsSpace(r) || unicode.IsControl(r) || r == '<' || r == '>' {
				return -1
			}
			return r
		}, id)
		at := strings.LastIndexByte(id, '@')
		if at <= 0 || at == len(id)-1 || len(id) > 998 {
			return
		}
		id = "<" + id + ">"
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	for i := 0; i < len(s); {
		switch c := s[i]; {
		case c == '<':
			end := strings.IndexByte(s[i+1:], '>')
			if end < 0 {
				add(s[i+1:])
				return out
			}
			add(s[i+1 : i+1+end])
			i += end + 2
		case c == '(':
			// Skip a comment (not nested: good enough for real mail).
			end := strings.IndexByte(s[i:], ')')
			if end < 0 {
				return out
			}
			i += end + 1
		case c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ',':
			i++
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(" \t\r\n,<(", rune(s[j])) {
				j++
			}
			add(s[i:j])
			i = j
		}
	}
	return out
}

// isAutoReply reports whether headers mark an automatic message: any mail
// the desk must not answer automatically.
func isAutoReply(get func(string) string) bool {
	if v := headerToken(get("Auto-Submitted")); v != "" && v != "no" {
		return true
	}
	switch headerToken(get("Precedence")) {
	case "bulk", "junk", "list", "auto_reply":
		return true
	}
	if v := headerToken(get("X-Autoreply")); v != "" && v != "no" && v != "false" {
		return true
	}
	if v := headerToken(get("X-Autorespond")); v != "" && v != "no" && v != "false" {
		return true
	}
	// Mail from a list or a mailing service (newsletters, notifications):
	// RFC 3834 asks that no automatic answer go to any message with a
	// List-* field (RFC 2369, 2919), as for Precedence: list.
	for _, k := range listHeaders {
		if strings.TrimSpace(get(k)) != "" {
			return true
		}
	}
	if strings.TrimSpace(get("Return-Path")) == "<>" {
		return true // a bounce: null reverse-path
	}
	// A report (RFC 6522) is machine-made whatever it reports: a bounce
	// (delivery-status), a read receipt sent by the customer's mail program
	// (disposition-notification), an abuse report (feedback-report).
	return headerToken(get("Content-Type")) == "multipart/report"
}

// maybeAutomatic reports signs, short of isAutoReply's, that an
// autoresponder wrote the mail: one that marks its answers with none of
// the fields isAutoReply reads, nor sends them from the null
// reverse-path, yet answers In-Reply-To the mail it got, as a person's
// reply does. These signs also come on mail people write (Exchange and
// mailing tools add X-Auto-Response-Suppress to mail that is not an
// answer at all; a person may name a subject so), so they only keep a
// mail from counting as its sender's own word.
func maybeAutomatic(get func(string) string, subject string) bool {
	// Exchange writes X-Auto-Response-Suppress on its absence notices
	// (asking not to be answered in turn); "None" asks nothing.
	if v := headerToken(get("X-Auto-Response-Suppress")); v != "" && v != "none" {
		return true
	}
	switch headerToken(get("X-Precedence")) { // cPanel, BoxTrapper
	case "bulk", "junk", "list", "auto_reply":
		return true
	}
	// Communigate (X-Autogenerated: Reply), Domain Technologie Control
	// (X-AutoReply-From, X-Mail-Autoreply), FirstClass.
	for _, k := range []string{"X-Autogenerated", "X-AutoReply-From", "X-Mail-Autoreply"} {
		if strings.TrimSpace(get(k)) != "" {
			return true
		}
	}
	if headerToken(get("X-FC-MachineGenerated")) == "true" {
		return true
	}
	return automaticSubject(subject)
}

// automaticSubjects begin the subjects autoresponders give their answers,
// lower case: Exchange and Outlook's ("Automatic reply: …", formerly "Out
// of Office AutoReply: …") in each language they write them in, Sieve's
// vacation ("Auto: …") and the usual absence notices. Each is a whole
// word, or words: "Out of officers' training" is no answer (see
// automaticSubject). Unaccented spellings stand beside accented ones, as
// mail clients without the accents write them.
var automaticSubjects = []string{
	// English.
	"automatic reply", "automatic response", "auto reply", "auto-reply", "autoreply", "auto response", "auto-response",
	"autoresponse", "auto:", "out of office", "out of the office",
	// French.
	"réponse automatique", "reponse automatique", "réponse auto :", "absence du bureau", "absent du bureau",
	"absente du bureau", "absent(e) du bureau", "message d'absence", "notification d'absence",
	// German.
	"automatische antwort", "abwesenheitsnotiz", "automatische abwesenheitsnotiz", "abwesenheitsmeldung",
	"abwesenheitsnachricht", "nicht im büro", "nicht im buero", "außer haus:", "ausser haus:",
	// Spanish.
	"respuesta automática", "respuesta automatica", "fuera de la oficina", "fuera de oficina", "mensaje de ausencia",
	"ausente de la oficina",
	// Italian.
	"risposta automatica", "fuori sede", "fuori ufficio", "fuori dall'ufficio", "messaggio di assenza",
	// Dutch.
	"automatisch antwoord", "afwezigheidsbericht", "afwezigheidsmelding", "afwezig:", "niet op kantoor", "buiten kantoor",
	// Portuguese.
	"resposta automática", "resposta automatica", "fora do escritório", "fora do escritorio", "ausente do escritório",
	"ausente do escritorio", "mensagem de ausência", "mensagem de ausencia",
}

// automaticSuffixes end the subjects of Lotus Notes' absence notices
// ("Jane Doe is out of the office"), in the same languages.
var automaticSuffixes = []string{
	" is out of the office", " est absent du bureau", " est absente du bureau", " ist außer haus", " ist ausser haus",
	" ist nicht im büro", " está fuera de la oficina", " esta fuera de la oficina", " è fuori ufficio", " è fuori sede",
	" is afwezig", " está fora do escritório", " esta fora do escritorio",
}

// automaticSubject reports whether subject is an autoresponder's: it
// begins as automaticSubjects do, or ends as automaticSuffixes do, at a
// word's boundary.
func automaticSubject(subject string) bool {
	s := strings.Join(strings.Fields(strings.ToLower(strings.ReplaceAll(subject, "’", "'"))), " ")
	for _, p := range automaticSubjects {
		if strings.HasPrefix(s, p) && wordEnds(p, s[len(p):]) {
			return true
		}
	}
	s = strings.TrimRight(s, ".")
	for _, p := range automaticSuffixes {
		if strings.HasSuffix(s, p) {
			return true
		}
	}
	return false
}

// wordEnds reports whether a subject beginning with p followed by rest
// has p as its own word, or words: p ends with punctuation (":"), or rest
// does not go on with a letter or a digit ("fuori sede" is not "fuori
// sedere").
func wordEnds(p, rest string) bool {
	last, _ := utf8.DecodeLastRuneInString(p)
	next, _ := utf8.DecodeRuneInString(rest)
	return rest == "" || !isWordRune(last) || !isWordRune(next)
}

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// listHeaders are the header fields of list mail (RFC 2369, RFC 2919).
var listHeaders = []string{"List-Id", "List-Unsubscribe", "List-Post", "List-Help", "List-Subscribe", "List-Owner", "List-Archive"}

// headerToken returns a header value lowercased, trimmed, without parameters.
func headerToken(v string) string {
	if i := strings.IndexByte(v, ';'); i >= 0 {
		v = v[:i]
	}
	return strings.ToLower(strings.TrimSpace(v))
}

// SafeFileName reduces an attachment name to a base name fit to store and
// to offer for download: no directories (either separator, drive letters),
// no control or bidi-formatting characters, at most 200 bytes. It never
// returns "", "." or "..": those become "attachment".
func SafeFileName(name string) string {
	name = strings.ToValidUTF8(name, "")
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return -1
		}
		return r
	}, name)
	name = strings.ReplaceAll(name, `\`, "/")
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		name = name[i+1:]
	}
	if len(name) >= 2 && name[1] == ':' && isASCIILetter(name[0]) {
		name = name[2:] // "C:facture.pdf"
	}
	name = strings.TrimSpace(name)
	name = strings.TrimLeft(name, ".") // no hidden files, no "..": ".htaccess" → "htaccess"
	if len(name) > 200 {
		ext := path.Ext(name)
		if len(ext) > 20 {
			ext = ""
		}
		cut := 200 - len(ext)
		for cut > 0 && !utf8.RuneStart(name[cut]) {
			cut--
		}
		name = name[:cut] + ext
	}
	if name == "" {
		return "attachment"
	}
	return name
}

func isASCIILetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// cleanLine makes a decoded header value safe for one line: control
// characters (CR, LF, TAB, NUL, …) become spaces, runs of ASCII space
// collapse, other spaces (the French no-break space before ":") stay, and
// invalid UTF-8 is dropped.
func cleanLine(s string) string {
	s = fixC1(strings.ToValidUTF8(s, ""))
	var b strings.Builder
	space := false
	for _, r := range s {
		if unicode.IsControl(r) || r == ' ' {
			space = true
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r)
	}
	return b.String()
}

// maxAddressLen is the longest address mail can be sent to: RFC 5321
// allows a path of 256 octets, angle brackets included.
const maxAddressLen = 254

// cleanAddrs keeps the addresses of a header that can be stored and
// shown: no control characters or spaces, valid UTF-8, no longer than
// maxAddressLen (a longer one keeps its name alone).
func cleanAddrs(list []*mail.Address) []mail.Address {
	var out []mail.Address
	for _, a := range list {
		if a == nil {
			continue
		}
		addr := strings.Map(func(r rune) rune {
			if unicode.IsControl(r) || unicode.IsSpace(r) {
				return -1
			}
			return r
		}, strings.ToValidUTF8(a.Address, ""))
		if len(addr) > maxAddressLen {
			// No mailbox can be reached at it: keep the name alone rather
			// than an address the database may not be able to index.
			addr = ""
		}
		if addr == "" && a.Name == "" {
			continue
		}
		out = append(out, mail.Address{Name: cleanLine(a.Name), Address: addr})
	}
	return out
}

// cleanBody makes a body storable as text on both engines: invalid UTF-8
// (a part whose bytes are not the charset it claims) becomes U+FFFD and NUL
// bytes go, since PostgreSQL refuses both in a text column and a refused
// message would be retried until its sender gives up. Raw keeps the bytes.
func cleanBody(s string) string {
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
}

// htmlText derives plain text from already sanitized HTML, so that the
// contents of scripts and styles never reach the text either.
func htmlText(safe string) string {
	if t, err := html2text.FromString(safe); err == nil {
		return t
	}
	return strings.TrimSpace(html.UnescapeString(bluemonday.StrictPolicy().Sanitize(safe)))
}

// fixC1 maps C1 control characters (U+0080–U+009F) to what windows-1252
// puts at those bytes. French mail labelled ISO-8859-1 is very often really
// windows-1252 (’ œ — € …), as browsers assume; decoded as true Latin-1 those
// characters would come out as invisible controls.
func fixC1(s string) string {
	if !strings.ContainsFunc(s, isC1) {
		return s
	}
	return strings.Map(func(r rune) rune {
		if isC1(r) {
			if d := charmap.Windows1252.DecodeByte(byte(r)); d != utf8.RuneError {
				return d
			}
		}
		return r
	}, s)
}

func isC1(r rune) bool { return r >= 0x80 && r <= 0x9f }

// salvageAddrs recovers addresses from a header value net/mail rejects
// (for instance a display name hiding an encoded CR LF): every <addr-spec>,
// or failing that every bare word containing "@". The display name kept is
// the decoded text before the first address, cleaned to one line.
func salvageAddrs(v string) []mail.Address {
	var out []mail.Address
	for _, loc := range angleAddrRE.FindAllStringSubmatchIndex(v, -1) {
		a := mail.Address{Address: v[loc[2]:loc[3]]}
		if len(out) == 0 {
			a.Name = strings.Trim(cleanLine(enmime.DecodeRFC2047(v[:loc[0]])), `" `)
		}
		out = append(out, a)
	}
	if len(out) == 0 {
		for _, w := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || unicode.IsSpace(r) }) {
			if strings.Count(w, "@") == 1 {
				out = append(out, mail.Address{Address: strings.Trim(w, `"'<>;`)})
			}
		}
	}
	return cleanAddrs(toPtrs(out))
}

var angleAddrRE = regexp.MustCompile(`<([^<>\s@]+@[^<>\s@]+)>`)

func toPtrs(list []mail.Address) []*mail.Address {
	out := make([]*mail.Address, len(list))
	for i := range list {
		out[i] = &list[i]
	}
	return out
}
