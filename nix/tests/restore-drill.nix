# Push two databases (one plain dump, one custom format) to SFTP and to S3
# (Garage) on nas, then restore each from each target into a scratch
# database on db and compare row counts.
common:
{
  name = "pgarchive-restore-drill";

  nodes = {
    db = common.dbNode {
      targets = {
        nas = common.nasTarget;
        garage = common.garageTarget;
      };
    };
    nas = common.nasNode { garage = true; };
  };

  testScript = ''
    ${common.helpers}

    start_all()

    with subtest("Garage on nas serves a bucket"):
        nas.wait_for_unit("garage.service")
        nas.wait_for_open_port(3900)
        node_id = nas.succeed("garage node id 2>/dev/null").strip().split("@")[0]
        nas.succeed(f"garage layout assign -z dc1 -c 1G {node_id}")
        layout = re.search(r"Current cluster layout version: (\d+)", nas.succeed("garage layout show"))
        assert layout is not None, "no layout version in garage layout show"
        nas.succeed(f"garage layout apply --version {int(layout.group(1)) + 1}")
        nas.wait_until_succeeds("garage bucket create pgarchive")
        key = nas.succeed("garage key create pgarchive-db")
        key_id = re.search(r"Key ID:\s*(\S+)", key, re.IGNORECASE)
        secret = re.search(r"Secret key:\s*(\S+)", key, re.IGNORECASE)
        assert key_id is not None and secret is not None, key
        nas.succeed("garage bucket allow --read --write pgarchive --key pgarchive-db")
        db.succeed(
            "mkdir -p /var/lib/pgarchive-test && umask 077"
            f" && printf %s {key_id.group(1)} > /var/lib/pgarchive-test/s3_id"
            f" && printf %s {secret.group(1)} > /var/lib/pgarchive-test/s3_secret"
        )

    with subtest("the dump units push to both targets"):
        nas.wait_for_unit("sshd.service")
        seed()
        start_dump("postgresqlBackup-db1.service")
        start_dump("postgresqlBackup-db2.service")
        # db2's dump is custom format (PGDMP), db1's plain SQL.
        db.succeed("gzip -dc /var/backup/postgresql/db2.sql.gz | head -c 5 | grep -q PGDMP")
        db.succeed("gzip -dc /var/backup/postgresql/db1.sql.gz | grep -q 'PostgreSQL database dump'")
        for database in ["db1", "db2"]:
            complete_archives(database)

    with subtest("the units' config names credentials, not the secret files"):
        config = db.succeed(
            "systemctl show -p ExecStartPost --value postgresqlBackup-db1.service"
            " | grep -o '/nix/store/[^ ]*-pgarchive-postgresqlBackup-db1.toml' | head -n 1"
        ).strip()
        db.succeed(f"grep -F /run/credentials/postgresqlBackup-db1.service/target.nas.key_file {config}")
        db.fail(f"grep -F /etc/pgarchive-test {config}")

    with subtest("the journal carries the PGARCHIVE_ fields"):
        for target in ["nas", "garage"]:
            entries = db.succeed(
                "journalctl -u postgresqlBackup-db1.service -o json"
                f" PGARCHIVE_DATABASE=db1 PGARCHIVE_TARGET={target}"
            )
            assert "PGARCHIVE_OBJECT" in entries, f"no PGARCHIVE_OBJECT for target {target}: {entries}"

    with subtest("anyone can open an archive with age and gunzip"):
        archive = complete_archives("db1")[0]
        nas.succeed(f"age -d -i {IDENTITY} {archive} | gunzip | grep -q 'CREATE TABLE public.t'")

    with subtest("restore each database from each target"):
        for database, tables in [("db1", ["t"]), ("db2", ["u", "w"])]:
            for target in ["nas", "garage"]:
                scratch = f"{database}_from_{target}"
                restore(database, target, scratch)
                for table in tables:
                    got, want = count(scratch, table), count(database, table)
                    assert got == want, f"{scratch}.{table}: {got} rows, want {want}"
        # db1's plain dump was made with -C (CREATE DATABASE db1, \connect
        # db1): restoring it elsewhere must leave db1 alone.
        assert count("db1", "t") == 5000
  '';
}
