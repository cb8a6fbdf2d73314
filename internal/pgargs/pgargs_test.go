package pgargs

import (
	"slices"
	"testing"
)

func TestConnDBQuotes(t *testing.T) {
	for name, want := range map[string]string{
		"forge":           "dbname='forge'",
		"we'ird":          `dbname='we\'ird'`,
		`back\slash`:      `dbname='back\\slash'`,
		"host=evil db=x ": "dbname='host=evil db=x '",
	} {
		if got := ConnDB(name); got != want {
			t.Errorf("ConnDB(%q) = %q, want %q", name, got, want)
		}
	}
}

func TestQueryOrdersVariables(t *testing.T) {
	got := Query("d", map[string]string{"z": "1", "a": "2"})
	want := []string{"-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", "dbname='d'", "-v", "a=2", "-v", "z=1"}
	if !slices.Equal(got, want) {
		t.Errorf("Query = %q, want %q", got, want)
	}
}
