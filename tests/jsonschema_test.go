package tests

import (
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/pgarchive/pgarchive/tests/harness"
)

// A checker for the part of JSON Schema (2020-12) docs/json.schema.json
// uses: $ref into $defs, type, const, enum, required, properties,
// additionalProperties false, items, minimum, minLength, format
// date-time, oneOf and allOf. Anything else in the schema fails the check,
// so the schema cannot grow a keyword this checker silently ignores.

type jsonSchemaDoc struct {
	defs map[string]any
}

func loadJSONSchema(t *testing.T) jsonSchemaDoc {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	var doc map[string]any
	if err := json.Unmarshal(harness.ReadFile(t, filepath.Join(filepath.Dir(file), "..", "docs", "json.schema.json")), &doc); err != nil {
		t.Fatalf("docs/json.schema.json: %v", err)
	}
	defs, _ := doc["$defs"].(map[string]any)
	if len(defs) == 0 {
		t.Fatal("docs/json.schema.json has no $defs")
	}
	return jsonSchemaDoc{defs: defs}
}

// check validates v against the definition def, returning every problem.
func (d jsonSchemaDoc) check(def string, v any) []string {
	s, ok := d.defs[def]
	if !ok {
		return []string{"no definition " + def}
	}
	var problems []string
	d.validate("$", s, v, &problems)
	return problems
}

var jsonSchemaKeywords = []string{"$ref", "type", "const", "enum", "required", "properties", "additionalProperties",
	"items", "minimum", "minLength", "format", "oneOf", "allOf"}

func (d jsonSchemaDoc) validate(path string, schema, v any, problems *[]string) {
	fail := func(format string, args ...any) {
		*problems = append(*problems, path+": "+fmt.Sprintf(format, args...))
	}
	s, ok := schema.(map[string]any)
	if !ok {
		fail("schema is not an object")
		return
	}
	for k := range s {
		if !slices.Contains(jsonSchemaKeywords, k) {
			fail("schema keyword %q not checked by this test", k)
		}
	}
	if ref, ok := s["$ref"].(string); ok {
		name, found := strings.CutPrefix(ref, "#/$defs/")
		if !found || d.defs[name] == nil {
			fail("unresolved $ref %q", ref)
			return
		}
		d.validate(path, d.defs[name], v, problems)
	}
	for _, sub := range asSlice(s["allOf"]) {
		d.validate(path, sub, v, problems)
	}
	if subs := asSlice(s["oneOf"]); len(subs) > 0 {
		n := 0
		for _, sub := range subs {
			var p []string
			d.validate(path, sub, v, &p)
			if len(p) == 0 {
				n++
			}
		}
		if n != 1 {
			fail("matches %d of oneOf, want 1: %v", n, v)
		}
	}
	if typ, ok := s["type"]; ok {
		types := asSlice(typ)
		if len(types) == 0 {
			types = []any{typ}
		}
		if !slices.ContainsFunc(types, func(t any) bool { return jsonType(v, t.(string)) }) {
			fail("%v is not of type %v", v, typ)
			return
		}
	}
	if c, ok := s["const"]; ok && fmt.Sprint(c) != fmt.Sprint(v) {
		fail("%v, want %v", v, c)
	}
	if e, ok := s["enum"]; ok && !slices.ContainsFunc(asSlice(e), func(x any) bool { return x == v }) {
		fail("%v not in %v", v, e)
	}
	if m, ok := s["minimum"].(float64); ok {
		if f, ok := v.(float64); ok && f < m {
			fail("%v below %v", v, m)
		}
	}
	if m, ok := s["minLength"].(float64); ok {
		if str, ok := v.(string); ok && float64(len([]rune(str))) < m {
			fail("%q shorter than %v", str, m)
		}
	}
	if f, ok := s["format"].(string); ok {
		str, _ := v.(string)
		switch f {
		case "date-time":
			if _, err := time.Parse(time.RFC3339Nano, str); err != nil {
				fail("%q is not an RFC 3339 date-time", str)
			}
		default:
			fail("format %q not checked by this test", f)
		}
	}
	if obj, ok := v.(map[string]any); ok {
		for _, r := range asSlice(s["required"]) {
			if _, ok := obj[r.(string)]; !ok {
				fail("no %q", r)
			}
		}
		props, _ := s["properties"].(map[string]any)
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if p, ok := props[k]; ok {
				d.validate(path+"."+k, p, obj[k], problems)
			} else if s["additionalProperties"] == false {
				fail("field %q is not in the schema", k)
			}
		}
	}
	if arr, ok := v.([]any); ok {
		if items, ok := s["items"]; ok {
			for i, x := range arr {
				d.validate(fmt.Sprintf("%s[%d]", path, i), items, x, problems)
			}
		}
	}
}

func asSlice(v any) []any { s, _ := v.([]any); return s }

func jsonType(v any, typ string) bool {
	switch typ {
	case "object":
		_, ok := v.(map[string]any)
		return ok
	case "array":
		_, ok := v.([]any)
		return ok
	case "string":
		_, ok := v.(string)
		return ok
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "null":
		return v == nil
	case "number":
		_, ok := v.(float64)
		return ok
	case "integer":
		f, ok := v.(float64)
		return ok && f == math.Trunc(f)
	}
	return false
}

// The checker itself: it must refuse what the schema does not allow.
func TestJSONSchemaChecker(t *testing.T) {
	d := loadJSONSchema(t)
	for _, c := range []struct {
		doc  string
		want string // a problem it must find; "" for none
	}{
		{`{"schema":1,"host":"db1","archives":[],"unreadable":[]}`, ""},
		{`{"schema":1,"host":"db1","archives":null,"unreadable":[]}`, "$.archives: <nil> is not of type array"},
		{`{"schema":2,"host":"db1","archives":[],"unreadable":[]}`, "$.schema: 2, want 1"},
		{`{"schema":1,"host":"db1","archives":[],"unreadable":[],"extra":1}`, `field "extra" is not in the schema`},
		{`{"schema":1,"host":"db1","archives":[{"database":"forge","target":"local","host":"db1","object":"o","time":"20260301T011500Z","size":1,"status":"complete"}],"unreadable":[]}`,
			`"20260301T011500Z" is not an RFC 3339 date-time`},
		{`{"schema":1,"host":"db1","archives":[{"database":"forge","target":"local","host":"db1","object":"o","time":"2026-03-01T01:15:00Z","size":1.5,"status":"complete"}],"unreadable":[]}`,
			"is not of type integer"},
		{`{"schema":1,"host":"db1","archives":[],"unreadable":[{"target":"nas"}]}`, `$.unreadable[0]: no "error"`},
	} {
		var v any
		if err := json.Unmarshal([]byte(c.doc), &v); err != nil {
			t.Fatal(err)
		}
		problems := strings.Join(d.check("list", v), "\n")
		if (c.want == "") != (problems == "") || !strings.Contains(problems, c.want) {
			t.Errorf("%s:\ngot %q\nwant %q", c.doc, problems, c.want)
		}
	}
}

// Issue 12: the --json of list, verify, prune, drill and status (one host
// and --all-hosts), as the real binary prints it against a local target
// and MinIO, and with a target that cannot be read, is what
// docs/json.schema.json says; an unreadable target is reported the same
// way by each.
func TestJSONOutputMatchesSchema(t *testing.T) {
	d := loadJSONSchema(t)
	pg := harness.StartPostgres(t)
	s3 := harness.StartMinIO(t)
	pg.CreateDB(t, "forge")
	pg.Seed(t, "forge")
	dumpDir := t.TempDir()
	pg.Dump(t, "forge", dumpDir, "gzip")
	identity, recipient := keypair(t, false)
	base := configFile(t, dumpDir, "gzip", ageRecipients(recipient), localTarget("local", t.TempDir()), s3Target(t, "s3", s3))
	prunePushAt(t, append(pg.Env(), "PGARCHIVE_CONFIG="+base), "forge", "20260301T011500Z", "20260302T011500Z")
	cfg := drillConfig(t, pruneConfigWith(t, base, "", "[retention]\nkeep_last = 1\n"), pg, filepath.Join(t.TempDir(), "state"), "identity_file = "+toml(identity))
	env := drillEnv(pg, cfg, "PGARCHIVE_TEST_NOW=20260302T021500Z")

	validate := func(def string, r result) map[string]any {
		t.Helper()
		var v any
		if err := json.Unmarshal([]byte(r.stdout), &v); err != nil {
			t.Fatalf("%s --json is not JSON: %v\n%s", def, err, r)
		}
		for _, p := range d.check(def, v) {
			t.Errorf("%s --json: %s", def, p)
		}
		return v.(map[string]any)
	}
	count := func(doc map[string]any, field string) int { return len(doc[field].([]any)) }

	if doc := validate("list", mustRun(t, env, "list", "--json")); count(doc, "archives") != 4 {
		t.Errorf("list: %v", doc)
	}
	if doc := validate("verify", mustRun(t, env, "verify", "--json")); count(doc, "archives") != 4 || doc["bad"] != 0.0 {
		t.Errorf("verify: %v", doc)
	}
	if doc := validate("prune", mustRun(t, env, "prune", "--dry-run", "--json")); count(doc, "archives") != 4 {
		t.Errorf("prune: %v", doc)
	}
	if doc := validate("drill", mustRun(t, env, "drill", "--json")); count(doc, "drills") != 1 {
		t.Errorf("drill: %v", doc)
	}
	if doc := validate("status", mustRun(t, env, "status", "--json")); count(doc, "databases") != 1 {
		t.Errorf("status: %v", doc)
	}
	if doc := validate("fleet", mustRun(t, env, "status", "--all-hosts", "--json")); count(doc, "hosts") != 1 {
		t.Errorf("status --all-hosts: %v", doc)
	}
	// Nothing there: empty arrays, never null.
	for def, args := range map[string][]string{
		"list":   {"list", "--host", "nosuchhost", "--json"},
		"verify": {"verify", "--host", "nosuchhost", "--json"},
		"prune":  {"prune", "--dry-run", "--host", "nosuchhost", "--json"},
		"status": {"status", "--host", "nosuchhost", "--json"},
	} {
		validate(def, pgarchive(t, env, args...))
	}

	// A target that cannot be read: each command names it under
	// "unreadable", the same way (target and error), and exits 1.
	var errs []string
	broken := harness.WriteFile(t, t.TempDir(), "config.toml", mustReadString(t, cfg)+"\n"+brokenTarget(t, "nas"))
	benv := drillEnv(pg, broken, "PGARCHIVE_TEST_NOW=20260302T021500Z")
	for def, args := range map[string][]string{
		"list":   {"list", "--json"},
		"verify": {"verify", "--json"},
		"prune":  {"prune", "--dry-run", "--json"},
		"drill":  {"drill", "--json"},
		"status": {"status", "--json"},
		"fleet":  {"status", "--all-hosts", "--json"},
	} {
		r := pgarchive(t, benv, args...)
		doc := validate(def, r)
		bad, _ := doc["unreadable"].([]any)
		if r.code != 1 || len(bad) != 1 || bad[0].(map[string]any)["target"] != "nas" {
			t.Errorf("%s with target nas unreadable: exit %d, unreadable %v", strings.Join(args, " "), r.code, doc["unreadable"])
			continue
		}
		errs = append(errs, bad[0].(map[string]any)["error"].(string))
	}
	if slices.Sort(errs); len(errs) != 6 || errs[0] != errs[5] || strings.HasPrefix(errs[0], "target nas: ") {
		t.Errorf("the commands report the unreadable target differently:\n%s", strings.Join(errs, "\n"))
	}
}
