package drill

import (
	"fmt"
	"net/url"
	"sort"
	"strings"
)

// connEnv maps libpq connection keywords to the environment variables
// libpq reads for them (libpq's "Environment Variables" section). A
// keyword without a variable cannot be passed on and is refused.
var connEnv = map[string]string{
	"host":                     "PGHOST",
	"hostaddr":                 "PGHOSTADDR",
	"port":                     "PGPORT",
	"user":                     "PGUSER",
	"password":                 "PGPASSWORD",
	"passfile":                 "PGPASSFILE",
	"require_auth":             "PGREQUIREAUTH",
	"channel_binding":          "PGCHANNELBINDING",
	"service":                  "PGSERVICE",
	"options":                  "PGOPTIONS",
	"application_name":         "PGAPPNAME",
	"sslmode":                  "PGSSLMODE",
	"requiressl":               "PGREQUIRESSL",
	"sslnegotiation":           "PGSSLNEGOTIATION",
	"sslcompression":           "PGSSLCOMPRESSION",
	"sslcert":                  "PGSSLCERT",
	"sslkey":                   "PGSSLKEY",
	"sslcertmode":              "PGSSLCERTMODE",
	"sslrootcert":              "PGSSLROOTCERT",
	"sslcrl":                   "PGSSLCRL",
	"sslcrldir":                "PGSSLCRLDIR",
	"sslsni":                   "PGSSLSNI",
	"requirepeer":              "PGREQUIREPEER",
	"ssl_min_protocol_version": "PGSSLMINPROTOCOLVERSION",
	"ssl_max_protocol_version": "PGSSLMAXPROTOCOLVERSION",
	"gssencmode":               "PGGSSENCMODE",
	"krbsrvname":               "PGKRBSRVNAME",
	"gsslib":                   "PGGSSLIB",
	"gssdelegation":            "PGGSSDELEGATION",
	"connect_timeout":          "PGCONNECT_TIMEOUT",
	"client_encoding":          "PGCLIENTENCODING",
	"target_session_attrs":     "PGTARGETSESSIONATTRS",
	"load_balance_hosts":       "PGLOADBALANCEHOSTS",
}

// ConnEnv turns conn, a libpq connection string ("host=/run/postgresql
// user=postgres") or URI ("postgresql://drill@db2:5433"), into libpq
// environment variables set on top of base: psql and pg_restore then
// connect where conn says, to the database the drill names. A dbname in
// conn is ignored (the drill works in its scratch database and, to create
// and drop it, in "postgres"); a keyword libpq has no environment variable
// for is an error. Variables conn does not set keep their values from base.
// An empty conn returns base unchanged.
func ConnEnv(conn string, base []string) ([]string, error) {
	if strings.TrimSpace(conn) == "" {
		return base, nil
	}
	var params map[string]string
	var err error
	if strings.HasPrefix(conn, "postgresql://") || strings.HasPrefix(conn, "postgres://") {
		params, err = parseURI(conn)
	} else {
		params, err = parseKeywords(conn)
	}
	if err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var set []string
	for _, k := range keys {
		if k == "dbname" {
			continue
		}
		v, ok := connEnv[k]
		if !ok {
			return nil, fmt.Errorf("connection keyword %q cannot be used here (libpq has no environment variable for it)", k)
		}
		set = append(set, v+"="+params[k])
	}
	return setEnv(base, set), nil
}

// setEnv returns env with each "KEY=value" of kv set, replacing earlier
// values of KEY.
func setEnv(env, kv []string) []string {
	replaced := map[string]bool{}
	for _, s := range kv {
		k, _, _ := strings.Cut(s, "=")
		replaced[k] = true
	}
	out := make([]string, 0, len(env)+len(kv))
	for _, s := range env {
		k, _, _ := strings.Cut(s, "=")
		if !replaced[k] {
			out = append(out, s)
		}
	}
	return append(out, kv...)
}

// parseKeywords parses libpq's keyword=value form: pairs separated by
// whitespace, spaces allowed around "=", a value in single quotes when it
// is empty or holds spaces, and a backslash escaping the next character
// inside or outside quotes.
func parseKeywords(s string) (map[string]string, error) {
	out := map[string]string{}
	i := 0
	skipSpace := func() {
		for i < len(s) && isSpace(s[i]) {
			i++
		}
	}
	for {
		skipSpace()
		if i >= len(s) {
			return out, nil
		}
		start := i
		for i < len(s) && s[i] != '=' && !isSpace(s[i]) {
			i++
		}
		key := s[start:i]
		skipSpace()
		if i >= len(s) || s[i] != '=' {
			// Not naming the word: it may be a piece of a badly quoted
			// password.
			return nil, fmt.Errorf("connection string: missing \"=\" after the word at byte %d", start+1)
		}
		i++
		skipSpace()
		var v strings.Builder
		if i < len(s) && s[i] == '\'' {
			i++
			closed := false
			for i < len(s) {
				c := s[i]
				if c == '\\' && i+1 < len(s) {
					v.WriteByte(s[i+1])
					i += 2
					continue
				}
				i++
				if c == '\'' {
					closed = true
					break
				}
				v.WriteByte(c)
			}
			if !closed {
				return nil, fmt.Errorf("connection string: unterminated quoted value for %q", key)
			}
		} else {
			for i < len(s) && !isSpace(s[i]) {
				if s[i] == '\\' && i+1 < len(s) {
					i++
				}
				v.WriteByte(s[i])
				i++
			}
		}
		if key == "" {
			return nil, fmt.Errorf("connection string: empty keyword")
		}
		out[key] = v.String()
	}
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

// parseURI parses libpq's URI form:
//
//	postgresql://[user[:password]@][host][:port][,host[:port]...][/dbname][?keyword=value&...]
//
// Hosts may be bracketed IPv6 addresses or percent-encoded socket
// directories ("%2Frun%2Fpostgresql"); several hosts become libpq's
// comma-separated PGHOST and PGPORT lists.
func parseURI(s string) (map[string]string, error) {
	fail := func(format string, args ...any) (map[string]string, error) {
		return nil, fmt.Errorf("connection URI: "+format, args...)
	}
	_, rest, _ := strings.Cut(s, "://")
	rest, query, _ := strings.Cut(rest, "?")
	netloc, path, _ := strings.Cut(rest, "/")
	out := map[string]string{}
	if i := strings.LastIndexByte(netloc, '@'); i >= 0 {
		user, pass, hasPass := strings.Cut(netloc[:i], ":")
		netloc = netloc[i+1:]
		var err error
		if out["user"], err = url.PathUnescape(user); err != nil {
			return fail("user: %v", err)
		}
		if out["user"] == "" {
			delete(out, "user")
		}
		if hasPass {
			if out["password"], err = url.PathUnescape(pass); err != nil {
				return fail("password is not properly percent-encoded")
			}
		}
	}
	if netloc != "" {
		var hosts, ports []string
		anyPort := false
		for _, hp := range strings.Split(netloc, ",") {
			host, port := hp, ""
			if strings.HasPrefix(hp, "[") {
				end := strings.IndexByte(hp, ']')
				if end < 0 {
					return fail("unterminated [ in host %q", hp)
				}
				host = hp[1:end]
				after := hp[end+1:]
				if after != "" {
					p, ok := strings.CutPrefix(after, ":")
					if !ok {
						return fail("unexpected %q after host %q", after, host)
					}
					port = p
				}
			} else if h, p, ok := strings.Cut(hp, ":"); ok {
				host, port = h, p
			}
			host, err := url.PathUnescape(host)
			if err != nil {
				return fail("host: %v", err)
			}
			hosts = append(hosts, host)
			ports = append(ports, port)
			anyPort = anyPort || port != ""
		}
		if strings.Join(hosts, "") != "" {
			out["host"] = strings.Join(hosts, ",")
		}
		if anyPort {
			out["port"] = strings.Join(ports, ",")
		}
	}
	if path != "" {
		db, err := url.PathUnescape(path)
		if err != nil {
			return fail("dbname: %v", err)
		}
		out["dbname"] = db
	}
	if query != "" {
		for _, kv := range strings.Split(query, "&") {
			if kv == "" {
				continue
			}
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				return fail("parameter %q has no value", kv)
			}
			// libpq decodes %XX only: a "+" stays a "+".
			k, err1 := url.PathUnescape(k)
			v, err2 := url.PathUnescape(v)
			if err1 != nil || err2 != nil {
				return fail("parameter %q is not properly percent-encoded", kv)
			}
			if k == "ssl" && v == "true" {
				k, v = "sslmode", "require" // libpq's JDBC-compatible alias
			}
			out[k] = v
		}
	}
	return out, nil
}
