package restore

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
)

// StripDatabaseStatements copies a plain pg_dump script from r to w without
// the statements that name the database the dump was taken from, so that a
// `pg_dump -C` dump restores into a database of any name and never reaches
// back into the original:
//
//   - CREATE DATABASE, ALTER DATABASE, DROP DATABASE
//   - COMMENT ON DATABASE, SECURITY LABEL [FOR provider] ON DATABASE
//   - GRANT and REVOKE ... ON DATABASE (the database's ACL)
//   - ALTER ROLE ... IN DATABASE (per-database role settings)
//   - UPDATE pg_catalog.pg_database (pg_dump -C --clean un-marks templates with it)
//   - psql's \connect (and \c) meta-commands
//
// It follows the script the way psql reads it: statements end at a `;` outside
// quotes, strings, quoted identifiers, dollar-quoted bodies and comments, so a
// statement may span several lines, and `CREATE DATABASE` inside a string or a
// function body is left alone. After `COPY ... FROM stdin;` the data lines up
// to the line `\.` are copied untouched. A removed statement leaves its lines
// empty rather than gone, so the line numbers in psql's error messages still
// point into the original dump. Everything else, including the `\restrict`
// and `\unrestrict` lines newer pg_dump emits, is copied byte for byte.
func StripDatabaseStatements(w io.Writer, r io.Reader) error {
	_, err := MoveDatabaseStatements(w, r, "")
	return err
}

// MoveDatabaseStatements is StripDatabaseStatements that keeps what the
// script says about the database itself, under the name into: the
// statements naming the database the dump's CREATE DATABASE created
// (ALTER DATABASE ... OWNER TO and SET, COMMENT ON DATABASE, GRANT and
// REVOKE ON DATABASE, SECURITY LABEL ON DATABASE, ALTER ROLE ... IN
// DATABASE) are rewritten to name into and appended at the end of the
// script, so psql --single-transaction applies them with the rest or not
// at all. CREATE and DROP DATABASE, \connect and the template flag
// (UPDATE pg_database, ALTER DATABASE ... IS_TEMPLATE) are not moved: the
// caller made into, and a restored copy is no template. The moved
// statements are returned, as applied, for the caller to report. With
// into "" nothing is moved.
func MoveDatabaseStatements(w io.Writer, r io.Reader, into string) ([]string, error) {
	s := &stripper{
		r:    bufio.NewReaderSize(r, 64<<10),
		w:    bufio.NewWriterSize(w, 64<<10),
		into: into,
	}
	if err := s.run(); err != nil {
		return nil, err
	}
	if len(s.moved) > 0 {
		if err := s.write([]byte("\n-- pgarchive: the dump's database-level statements, moved to the database restored into\n")); err != nil {
			return nil, err
		}
		for _, m := range s.moved {
			if err := s.write([]byte(m + ";\n")); err != nil {
				return nil, err
			}
		}
	}
	if err := s.w.Flush(); err != nil {
		return nil, fmt.Errorf("write script: %w", err)
	}
	return s.moved, nil
}

// lexState is where the lexer is between two bytes of SQL.
type lexState int

const (
	lexNormal  lexState = iota
	lexString           // '...' with '' as the only escape
	lexEString          // E'...' with backslash escapes
	lexIdent            // "..." with "" as the escape
	lexDollar           // $tag$ ... $tag$
	lexComment          // /* ... */, nested
)

// verdict is what becomes of the statement being read.
type verdict int

const (
	undecided verdict = iota // held back until its first words tell
	keep
	drop
)

type stripper struct {
	r *bufio.Reader
	w *bufio.Writer

	state     lexState
	dollarTag []byte // the tag of the open $tag$, both dollars included
	depth     int    // nesting of /* */ comments

	inStmt       bool     // a statement has begun and its ; is not yet seen
	verdict      verdict  // of the current statement
	words        []string // its tokens while they matter, words upper-cased
	isCopy       bool     // it begins with COPY
	copyStdin    bool     // it is COPY ... FROM STDIN
	fromLineHead bool     // it began at the first non-blank of a line
	held         []byte   // its bytes while undecided

	line []byte // the current line, accumulated in SQL mode

	into    string   // the database restored into; "" moves nothing
	capture []byte   // the dropped statement's bytes, when into is set
	dumped  string   // the name the dump's CREATE DATABASE gives
	moved   []string // statements rewritten to name into
}

func (s *stripper) run() error {
	for {
		line, err := s.readLine()
		if len(line) > 0 {
			if werr := s.sqlLine(line); werr != nil {
				return werr
			}
			if s.copyStdin && !s.inStmt {
				s.copyStdin = false
				if cerr := s.copyData(); cerr != nil {
					if errors.Is(cerr, io.EOF) {
						break
					}
					return cerr
				}
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("read script: %w", err)
		}
	}
	// A script cut off inside a statement: psql would still run what it got,
	// so give it back rather than lose it silently.
	if s.inStmt && s.verdict == undecided {
		return s.write(s.held)
	}
	return nil
}

// readLine returns the next whole line, newline included (none at the end of
// the input).
func (s *stripper) readLine() ([]byte, error) {
	s.line = s.line[:0]
	for {
		frag, err := s.r.ReadSlice('\n')
		s.line = append(s.line, frag...)
		if !errors.Is(err, bufio.ErrBufferFull) {
			return s.line, err
		}
	}
}

// copyData passes COPY data through unparsed up to and including the line
// `\.`, streaming long lines without holding them. It returns io.EOF when the
// input ends first.
func (s *stripper) copyData() error {
	atLineStart := true
	for {
		frag, err := s.r.ReadSlice('\n')
		if len(frag) > 0 {
			if werr := s.write(frag); werr != nil {
				return werr
			}
		}
		whole := atLineStart && !errors.Is(err, bufio.ErrBufferFull)
		if whole && isEndOfCopy(frag) {
			return nil
		}
		if errors.Is(err, io.EOF) {
			return io.EOF
		}
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return fmt.Errorf("read script: %w", err)
		}
		atLineStart = err == nil
	}
}

func isEndOfCopy(line []byte) bool {
	line = bytes.TrimSuffix(line, []byte("\n"))
	line = bytes.TrimSuffix(line, []byte("\r"))
	return string(line) == `\.`
}

func (s *stripper) write(b []byte) error {
	if _, err := s.w.Write(b); err != nil {
		return fmt.Errorf("write script: %w", err)
	}
	return nil
}

// emit routes b, part of the current line, by the current statement's verdict:
// out when between statements or kept, held while undecided, nowhere when
// dropped.
func (s *stripper) emit(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	if !s.inStmt {
		return s.write(b)
	}
	switch s.verdict {
	case undecided:
		s.held = append(s.held, b...)
	case keep:
		return s.write(b)
	case drop:
		s.keepDropped(b)
		return s.blankOut(b)
	}
	return nil
}

// keepDropped remembers a dropped statement's bytes for moveStatement.
func (s *stripper) keepDropped(b []byte) {
	if s.into != "" {
		s.capture = append(s.capture, b...)
	}
}

// blankOut writes only the line ends of b: a removed statement leaves its
// lines empty, so line numbers in psql's messages still match the dump.
func (s *stripper) blankOut(b []byte) error {
	for n := bytes.Count(b, []byte("\n")); n > 0; n-- {
		if err := s.w.WriteByte('\n'); err != nil {
			return fmt.Errorf("write script: %w", err)
		}
	}
	return nil
}

// sqlLine lexes one line of SQL, carrying quote and comment state across
// lines, and routes its bytes.
func (s *stripper) sqlLine(line []byte) error {
	from := 0         // first byte of line not yet routed
	blankHead := true // only blanks so far on this line, outside statements
	tokStart := -1    // start of a word or number being read
	for i := 0; i < len(line); i++ {
		c := line[i]
		if tokStart >= 0 && !isIdentByte(c) {
			s.token(line[tokStart:i])
			tokStart = -1
		}
		switch s.state {
		case lexString:
			if c == '\'' {
				if i+1 < len(line) && line[i+1] == '\'' {
					i++
				} else {
					s.state = lexNormal
				}
			}
			continue
		case lexEString:
			if c == '\\' {
				i++
			} else if c == '\'' {
				if i+1 < len(line) && line[i+1] == '\'' {
					i++
				} else {
					s.state = lexNormal
				}
			}
			continue
		case lexIdent:
			if c == '"' {
				if i+1 < len(line) && line[i+1] == '"' {
					i++
				} else {
					s.state = lexNormal
					s.token([]byte(`"`))
				}
			}
			continue
		case lexDollar:
			if c == '$' && bytes.HasPrefix(line[i:], s.dollarTag) {
				i += len(s.dollarTag) - 1
				s.state = lexNormal
			}
			continue
		case lexComment:
			if c == '*' && i+1 < len(line) && line[i+1] == '/' {
				i++
				s.depth--
				if s.depth == 0 {
					s.state = lexNormal
					blankHead = false
				}
			} else if c == '/' && i+1 < len(line) && line[i+1] == '*' {
				i++
				s.depth++
			}
			continue
		}

		// lexNormal.
		if tokStart >= 0 {
			continue // inside a word
		}
		if isSpace(c) {
			continue
		}
		if c == '-' && i+1 < len(line) && line[i+1] == '-' {
			break // a comment to the end of the line
		}
		if c == '/' && i+1 < len(line) && line[i+1] == '*' {
			s.state, s.depth = lexComment, 1
			blankHead = false
			i++
			continue
		}
		if !s.inStmt && c == '\\' {
			return s.metaCommand(line, from, i, blankHead)
		}
		if !s.inStmt {
			if c == ';' {
				blankHead = false // an empty statement: nothing to decide
				continue
			}
			// A statement begins. Leading blanks go with it, so that a
			// dropped statement leaves its line empty.
			if !blankHead {
				if err := s.emit(line[from:i]); err != nil {
					return err
				}
				from = i
			}
			s.begin(blankHead)
		}
		blankHead = false
		switch {
		case c == ';':
			if err := s.emit(line[from : i+1]); err != nil {
				return err
			}
			from = i + 1
			dropped := s.verdict == drop
			wholeLines := s.fromLineHead
			if err := s.end(); err != nil {
				return err
			}
			if dropped && wholeLines && isBlank(line[from:]) {
				// The statement had its lines to itself: leave them empty.
				if err := s.blankOut(line[from:]); err != nil {
					return err
				}
				from = len(line)
			}
		case c == '\'':
			s.state = lexString
			if i > 0 && (line[i-1] == 'E' || line[i-1] == 'e') && (i < 2 || !isIdentByte(line[i-2])) {
				s.state = lexEString
			}
			s.token([]byte("'"))
		case c == '"':
			s.state = lexIdent
		case c == '$' && (i == 0 || !isIdentByte(line[i-1])):
			if tag := dollarTag(line[i:]); tag != nil {
				s.dollarTag = append(s.dollarTag[:0], tag...)
				s.state = lexDollar
				i += len(tag) - 1
				s.token([]byte("$"))
			}
		case isIdentStart(c) || isDigit(c):
			tokStart = i
		default:
			s.token(line[i : i+1])
		}
	}
	if tokStart >= 0 {
		s.token(line[tokStart:])
	}
	return s.emit(line[from:])
}

// metaCommand handles a psql backslash command found between statements at
// line[at]: it runs to the end of the line. \connect and \c are dropped,
// everything else kept.
func (s *stripper) metaCommand(line []byte, from, at int, blankHead bool) error {
	name := line[at+1:]
	if n := bytes.IndexFunc(name, func(r rune) bool { return r < 0x80 && (isSpace(byte(r)) || r == '\\') }); n >= 0 {
		name = name[:n]
	}
	if string(name) != "connect" && string(name) != "c" {
		return s.write(line[from:])
	}
	if !blankHead {
		if err := s.write(line[from:at]); err != nil {
			return err
		}
	}
	return s.blankOut(line[at:])
}

func (s *stripper) begin(atLineHead bool) {
	s.inStmt = true
	s.verdict = undecided
	s.words = s.words[:0]
	s.isCopy, s.copyStdin = false, false
	s.fromLineHead = atLineHead
	s.held = s.held[:0]
	s.capture = s.capture[:0]
}

// end closes the statement at its ; and releases what was held back.
func (s *stripper) end() error {
	if s.verdict == undecided {
		s.verdict = keep
		if err := s.write(s.held); err != nil {
			return err
		}
	}
	if s.verdict == drop && s.into != "" {
		s.moveStatement(string(s.capture))
	}
	s.inStmt = false
	s.held = s.held[:0]
	return nil
}

// token notes one token of the current statement: a word or number
// (upper-cased), or a marker for a string ('), quoted identifier ("),
// dollar-quoted body ($) or punctuation byte.
func (s *stripper) token(tok []byte) {
	if !s.inStmt {
		return
	}
	word := string(bytes.ToUpper(tok))
	if len(s.words) == 0 && word == "COPY" {
		s.isCopy = true
	}
	if s.isCopy {
		// Only the last word matters: COPY ... FROM STDIN [WITH ...].
		if word == "STDIN" && len(s.words) > 0 && s.words[len(s.words)-1] == "FROM" {
			s.copyStdin = true
		}
		s.words = append(s.words[:0], word)
		s.verdict = keep
		s.settle()
		return
	}
	if s.verdict != undecided {
		return
	}
	s.words = append(s.words, word)
	s.verdict = judge(s.words)
	s.settle()
}

// settle releases what was held back once the verdict is in: kept bytes
// go out, dropped ones leave their line ends. Write errors stick in the
// bufio.Writer and surface on the next write or the final flush.
func (s *stripper) settle() {
	if len(s.held) == 0 {
		return
	}
	switch s.verdict {
	case keep:
		_ = s.write(s.held)
	case drop:
		s.keepDropped(s.held)
		_ = s.blankOut(s.held)
	default:
		return
	}
	s.held = s.held[:0]
}

// moveStatement notes the dumped database's name from its CREATE
// DATABASE, and rewrites a statement about that database to name s.into.
func (s *stripper) moveStatement(stmt string) {
	text := strings.TrimSuffix(strings.TrimSpace(stmt), ";")
	upper := strings.ToUpper(text)
	fields := strings.Fields(upper)
	if len(fields) < 2 {
		return
	}
	at := databaseWord.FindStringIndex(upper)
	if at == nil {
		return
	}
	name, rest, ok := cutIdent(strings.TrimLeft(text[at[1]:], " \t\r\n"))
	if !ok {
		return
	}
	switch {
	case fields[0] == "CREATE":
		s.dumped = name
		return
	case fields[0] == "DROP", fields[0] == "UPDATE", s.dumped == "" || name != s.dumped,
		fields[0] == "ALTER" && fields[1] == "DATABASE" && strings.Contains(upper, "IS_TEMPLATE"):
		return
	}
	s.moved = append(s.moved, text[:at[1]]+" "+quoteIdent(s.into)+rest)
}

// databaseWord finds the keyword DATABASE (upper-cased text) and the blanks
// after it; the identifier follows.
var databaseWord = regexp.MustCompile(`\bDATABASE\b`)

// quoteIdent quotes an SQL identifier.
func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// judge decides from a statement's first tokens whether it names the
// database itself; undecided means it needs more tokens.
func judge(t []string) verdict {
	at := func(i int) string {
		if i < len(t) {
			return t[i]
		}
		return ""
	}
	// need returns undecided until the statement has n tokens.
	need := func(n int, matches func() bool) verdict {
		if len(t) < n {
			return undecided
		}
		if matches() {
			return drop
		}
		return keep
	}
	switch t[0] {
	case "CREATE", "DROP":
		return need(2, func() bool { return at(1) == "DATABASE" })
	case "COMMENT":
		return need(3, func() bool { return at(1) == "ON" && at(2) == "DATABASE" })
	case "ALTER":
		if len(t) >= 2 && (at(1) == "ROLE" || at(1) == "USER") {
			// ALTER ROLE name IN DATABASE db SET ...
			return need(5, func() bool { return at(3) == "IN" && at(4) == "DATABASE" })
		}
		return need(2, func() bool { return at(1) == "DATABASE" })
	case "SECURITY":
		if len(t) >= 3 && at(2) == "FOR" {
			// SECURITY LABEL FOR provider ON DATABASE
			return need(6, func() bool { return at(1) == "LABEL" && at(4) == "ON" && at(5) == "DATABASE" })
		}
		return need(4, func() bool { return at(1) == "LABEL" && at(2) == "ON" && at(3) == "DATABASE" })
	case "GRANT", "REVOKE":
		// The privilege list runs to the first bare ON outside parentheses;
		// GRANT role TO role has none and is decided at its ;.
		depth := 0
		for i, w := range t {
			switch w {
			case "(":
				depth++
			case ")":
				depth--
			case "ON":
				if depth == 0 {
					return need(i+2, func() bool { return at(i+1) == "DATABASE" })
				}
			}
		}
		return undecided
	case "UPDATE":
		// UPDATE pg_catalog.pg_database SET datistemplate = false WHERE datname = '...'
		if at(1) == "PG_DATABASE" {
			return drop
		}
		return need(4, func() bool { return at(1) == "PG_CATALOG" && at(2) == "." && at(3) == "PG_DATABASE" })
	}
	return keep
}

// dollarTag returns the $tag$ (or $$) that b starts with, or nil.
func dollarTag(b []byte) []byte {
	for i := 1; i < len(b); i++ {
		c := b[i]
		if c == '$' {
			return b[:i+1]
		}
		if !(isIdentStart(c) || (i > 1 && isDigit(c))) {
			return nil
		}
	}
	return nil
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

func isBlank(b []byte) bool {
	for _, c := range b {
		if !isSpace(c) {
			return false
		}
	}
	return true
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isIdentStart(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_' || c >= 0x80
}

func isIdentByte(c byte) bool { return isIdentStart(c) || isDigit(c) || c == '$' }
