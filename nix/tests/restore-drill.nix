# Push two databases (one plain dump, one custom format) to SFTP and to S3
# (Garage) on nas, then restore each from each target into a scratch
# database on db and compare row counts, as an administrator does: root
# runs `pgarchive restore ... --into` (the wrapper the module puts on the
# PATH, which runs the program as postgres with the units' secrets) under
# nixpkgs' default peer authentication, with no pg_ident map; then run the
# job units the module adds (pgarchive-verify, -drill, -prune) and check
# the metrics textfile they all write.
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
        key_id, secret = nas.succeed(step("garage.sh", "setup")).split()
        db.succeed(step("garage.sh", "install-keys", key_id, secret))

    with subtest("the dump units push to both targets"):
        nas.wait_for_unit("sshd.service")
        seed()
        db.succeed(step("dump.sh", "push", "db1"))
        db.succeed(step("dump.sh", "push", "db2"))
        # db2's dump is custom format (-Fc, see common.nix), db1's plain SQL.
        db.succeed(step("dump.sh", "dump-format", "db1", "plain"))
        db.succeed(step("dump.sh", "dump-format", "db2", "custom"))
        for database in ["db1", "db2"]:
            nas.succeed(step("archives.sh", "complete", database))

    with subtest("one config with the host paths; the dump unit loads the secrets by id"):
        db.succeed(
            step("dump.sh", "credentials", "db1", "targets.nas.secret_files.key_file", "/etc/pgarchive-test/nas_ssh")
        )
        db.succeed(
            step(
                "dump.sh",
                "credentials",
                "db1",
                "targets.garage.secret_files.secret_access_key",
                "/var/lib/pgarchive-test/s3_secret",
            )
        )

    with subtest("the journal carries the PGARCHIVE_ fields"):
        for target in ["nas", "garage"]:
            db.succeed(step("dump.sh", "journal-fields", "db1", target))

    with subtest("anyone can open an archive with age and gunzip"):
        nas.succeed(step("archives.sh", "decrypts", "db1", "CREATE TABLE public.t"))

    with subtest("root's pgarchive restores each database from each target, as postgres"):
        for database, tables in [("db1", ["t"]), ("db2", ["u", "w"])]:
            for target in ["nas", "garage"]:
                db.succeed(step("dump.sh", "restore", database, target, f"{database}_from_{target}", *tables))
        # db1's plain dump was made with -C (CREATE DATABASE db1, \connect
        # db1): restoring it elsewhere must leave db1 alone.
        db.succeed(step("dump.sh", "rows", "db1", "t", "5000"))

    with subtest("root's pgarchive restores to standard output and leaves no secret behind"):
        db.succeed(step("dump.sh", "restore-output", "db2", "garage"))

    with subtest("verify decrypts every archive with the drill identity"):
        db.succeed(step("jobs.sh", "verify"))

    with subtest("the drill unit restores each database and leaves no scratch database"):
        db.succeed(step("jobs.sh", "drill", "db1", "db2"))

    with subtest("prune keeps what the retention keeps"):
        db.succeed(step("jobs.sh", "prune"))
        for database in ["db1", "db2"]:
            # One archive a day per target: daily = 7 keeps it.
            nas.succeed(step("archives.sh", "complete", database, "1"))

    with subtest("every job updated the metrics textfile"):
        db.succeed(step("jobs.sh", "metrics", "db1"))
  '';
}
