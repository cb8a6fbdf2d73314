package harness

import (
	"strings"
	"testing"
)

func TestPostgres17(t *testing.T) {
	p := StartPostgres17(t)
	if v := p.Psql(t, "postgres", "SHOW server_version_num"); !strings.HasPrefix(v, "17") {
		t.Errorf("server_version_num %q, want 17xxxx", v)
	}
	p.CreateDB(t, "shop")
	p.Seed(t, "shop")
	if got := p.Psql(t, "shop", "SELECT count(*) FROM shop.orders"); got != "5000" {
		t.Errorf("orders: %s", got)
	}
}
