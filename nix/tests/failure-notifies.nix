# One target is down: the dump unit fails, the notifier unit runs and logs
# the failed unit, the journal names the failed target, and the archive on
# the target that is up is complete and restores.
common:
{
  name = "pgarchive-failure-notifies";

  nodes = {
    db = common.dbNode {
      targets = {
        nas = common.nasTarget;
        offsite = common.downTarget;
      };
    };
    nas = common.nasNode { };
  };

  testScript = ''
    ${common.helpers}

    start_all()
    nas.wait_for_unit("sshd.service")
    seed()

    with subtest("a target that is down fails the dump unit"):
        db.fail("systemctl start postgresqlBackup-db1.service")
        db.succeed("systemctl is-failed postgresqlBackup-db1.service")

    with subtest("the notifier runs and logs the failed unit and its result"):
        notifier = "pgarchive-notify@postgresqlBackup-db1.service.service"
        db.wait_until_succeeds(
            f"journalctl -u {notifier} -p err -o cat"
            " | grep -F 'pgarchive: postgresqlBackup-db1.service failed: result=exit-code'"
        )

    with subtest("the journal says which target failed"):
        db.succeed("journalctl -u postgresqlBackup-db1.service -o cat | grep -F 'pgarchive: error:' | grep -q offsite")
        db.succeed("journalctl -u postgresqlBackup-db1.service -o cat PGARCHIVE_TARGET=offsite | grep -q .")

    with subtest("the other target's archive is complete"):
        complete_archives("db1")
        restore("db1", "nas", "db1_from_nas")
        assert count("db1_from_nas", "t") == count("db1", "t")
  '';
}
