# Push two databases (one plain dump, one custom format) to SFTP and to S3
# (Garage) on nas, then restore each from each target into a scratch
# database on db and compare row counts; then run the job units the module
# adds (pgarchive-verify, -drill, -prune) and check the metrics textfile
# they all write.
common:
{
  name = "pgarchive-restore-drill";

  nodes = {
    db = {
      imports = [
        (common.dbNode {
          targets = {
            nas = common.nasTarget;
            garage = common.garageTarget;
          };
        })
      ];
      services.pgarchive = common.jobSettings;
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
        # Whole streams into files: under the driver's pipefail a reader
        # that stops early (grep -q, head) fails the pipe with 141.
        db.succeed("gzip -dc /var/backup/postgresql/db2.sql.gz > /tmp/db2.dump && head -c 5 /tmp/db2.dump > /tmp/db2.magic && grep -qx PGDMP /tmp/db2.magic")
        db.succeed("gzip -dc /var/backup/postgresql/db1.sql.gz > /tmp/db1.sql && grep -q 'PostgreSQL database dump' /tmp/db1.sql")
        for database in ["db1", "db2"]:
            complete_archives(database)

    with subtest("one config with the host paths; the dump unit loads the secrets by id"):
        config = db.succeed("readlink -f /etc/pgarchive/config.toml").strip()
        post = db.succeed("systemctl show -p ExecStartPost --value postgresqlBackup-db1.service")
        assert f" --config {config} " in post, f"ExecStartPost does not name {config}: {post}"
        db.succeed(f"grep -F /etc/pgarchive-test/nas_ssh {config}")
        db.succeed(
            "systemctl cat postgresqlBackup-db1.service > /tmp/db1.unit"
            " && grep -Fx LoadCredential=targets.nas.secret_files.key_file:/etc/pgarchive-test/nas_ssh /tmp/db1.unit"
        )
        # postgres cannot read the key at its host path: the push that
        # succeeded read it as a credential.
        db.fail("runuser -u postgres -- cat /etc/pgarchive-test/nas_ssh")

    with subtest("the journal carries the PGARCHIVE_ fields"):
        for target in ["nas", "garage"]:
            entries = db.succeed(
                "journalctl -u postgresqlBackup-db1.service -o json"
                f" PGARCHIVE_DATABASE=db1 PGARCHIVE_TARGET={target}"
            )
            assert "PGARCHIVE_OBJECT" in entries, f"no PGARCHIVE_OBJECT for target {target}: {entries}"

    with subtest("anyone can open an archive with age and gunzip"):
        archive = complete_archives("db1")[0]
        nas.succeed(f"age -d -i {IDENTITY} -o /tmp/db1.sql.gz {archive} && gzip -dc /tmp/db1.sql.gz > /tmp/db1.sql")
        nas.succeed("grep -q 'CREATE TABLE public.t' /tmp/db1.sql")

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

    with subtest("verify decrypts every archive with the drill identity"):
        db.succeed("systemctl start pgarchive-verify.service")
        db.succeed(
            "journalctl -u pgarchive-verify.service -o cat"
            " | grep -F ', 0 bad (decrypted and read to the end)'"
        )

    with subtest("the drill unit restores each database and leaves no scratch database"):
        db.succeed("systemctl start pgarchive-drill.service")
        result = db.succeed("systemctl show -p Result --value pgarchive-drill.service").strip()
        assert result == "success", f"pgarchive-drill.service: Result={result}"
        journal = db.succeed("journalctl -u pgarchive-drill.service -o cat")
        for database in ["db1", "db2"]:
            assert f"drill: passed database={database}" in journal, journal
        left = db.succeed(
            psql("postgres", "SELECT count(*) FROM pg_database WHERE starts_with(datname, 'pgarchive_drill_')")
        ).strip()
        assert left == "0", f"{left} pgarchive_drill_* database(s) left behind"
        # The records of this drill, for the next one to compare with, in
        # StateDirectory=pgarchive, owned by postgres.
        db.succeed("test \"$(stat -c %U /var/lib/pgarchive)\" = postgres")
        db.succeed("test -s /var/lib/pgarchive/drill/db/db1.json -a -s /var/lib/pgarchive/drill/db/db2.json")

    with subtest("prune keeps what the retention keeps"):
        db.succeed("systemctl start pgarchive-prune.service")
        for database in ["db1", "db2"]:
            # One archive a day per target: daily = 7 keeps it.
            assert len(complete_archives(database)) == 1

    with subtest("every job updated the metrics textfile"):
        db.succeed(
            "test \"$(stat -c %U:%G:%a /var/lib/prometheus-node-exporter-text-files)\" = root:postgres:775"
        )
        prom = db.succeed("cat /var/lib/prometheus-node-exporter-text-files/pgarchive.prom")
        for operation in ["push", "verify", "drill", "prune"]:
            assert f'operation="{operation}"' in prom, prom
        drilled = [
            line
            for line in prom.splitlines()
            if line.startswith("pgarchive_last_run_success{") and 'operation="drill"' in line and 'database="db1"' in line
        ]
        assert drilled and all(line.endswith(" 1") for line in drilled), prom
  '';
}
