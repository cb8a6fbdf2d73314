// Package harness starts the real servers that pgarchive's integration tests
// run against, and builds the pgarchive binary they drive.
//
// Every helper takes a testing.TB, registers its own cleanup with t.Cleanup,
// and fails the test with t.Fatalf naming the missing tool or the failing
// step (with the tail of the server's log) rather than returning an error.
// Servers listen on loopback only: PostgreSQL on a Unix socket in a private
// directory, MinIO and sshd on 127.0.0.1.
//
// A typical test:
//
//	pg := harness.StartPostgres(t)
//	pg.CreateDB(t, "shop")
//	pg.Seed(t, "shop")
//	want := pg.Fingerprint(t, "shop")
//
//	dir := t.TempDir()
//	dump := pg.Dump(t, "shop", dir, "gzip") // dir/shop.sql.gz, as NixOS writes it
//
//	s3 := harness.StartMinIO(t)
//	accessFile, secretFile := s3.WriteKeyFiles(t)
//
//	cmd := exec.Command(harness.Binary(t), "push", "--database", "shop")
//	cmd.Env = pg.Env()
//
// PostgreSQL 15 refuses to run as root, and the tests run as root, so the
// server, initdb and the dumps run as the "postgres" system user in
// directories that user owns. Dumps are made by the same shell script
// services.postgresqlBackup runs (umask 0077, in-progress file, mv, .prev),
// so the files have the names, modes and owners the real module produces.
//
// Tools are looked up in fixed places and may be overridden by environment
// variables:
//
//	PGARCHIVE_PG_BINDIR    PostgreSQL binaries (default /usr/lib/postgresql/15/bin)
//	PGARCHIVE_PG17_DIR     the PostgreSQL 17 server of StartPostgres17
//	                       (default /root/.cache/pgarchive-tools/pg17)
//	PGARCHIVE_TOOLS_BIN    directory holding the minio and rclone binaries
//	                       (then /root/.cache/pgarchive-tools/bin, then PATH)
//	PGARCHIVE_BINARY       a prebuilt pgarchive to use instead of building one
//
// tests/setup.sh installs everything on a fresh Debian 12 machine.
//
// Typical start-up times on two idle cores: PostgreSQL (initdb included)
// 1-2 s, MinIO 0.5-1 s, sshd (key generation included) under 0.1 s; a few
// times that on a loaded machine.
package harness
