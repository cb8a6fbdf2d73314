# One target is down: the dump unit fails, the notifier unit runs
# `pgarchive notify` and delivers the failure (unit, result, failed target,
# journal excerpt) to a webhook on nas, the dead-man ping reports the
# failure, the journal names the failed target, and the archive on the
# target that is up is complete and restores.
common:
{
  name = "pgarchive-failure-notifies";

  nodes = {
    db = {
      imports = [
        (common.dbNode {
          targets = {
            nas = common.nasTarget;
            offsite = common.downTarget;
          };
        })
      ];
      environment.etc = common.notifyFiles;
      services.pgarchive = common.notifySettings;
    };
    nas = {
      imports = [
        (common.nasNode { })
        common.webhook
      ];
    };
  };

  testScript = ''
    ${common.helpers}

    start_all()
    nas.wait_for_unit("sshd.service")
    nas.wait_for_unit("webhook.service")
    nas.wait_for_open_port(8080)
    seed()

    with subtest("a target that is down fails the dump unit"):
        db.fail("systemctl start postgresqlBackup-db1.service")
        db.succeed("systemctl is-failed postgresqlBackup-db1.service")

    with subtest("the notifier runs pgarchive notify and delivers the failure to the webhook"):
        notifier = "pgarchive-notify@postgresqlBackup-db1.service.service"
        db.wait_until_succeeds(
            f"journalctl -u {notifier} -o cat"
            " | grep -F 'notified unit=postgresqlBackup-db1.service urls=1'"
        )
        db.fail(f"systemctl is-failed {notifier}")
        nas.wait_until_succeeds("grep -l '^/notify' /var/lib/webhook/*")
        message = nas.succeed("grep -l '^/notify' /var/lib/webhook/* | xargs cat")
        for want in [
            "pgarchive: postgresqlBackup-db1.service failed on db",
            "result: exit-code",
            "failed targets: offsite",
            "last journal lines of this run:",
        ]:
            assert want in message, f"{want!r} not in the notification:\n{message}"
        # Tokens stay out of the journal: the notifier names URLs by place.
        db.fail(f"journalctl -u {notifier} -o cat | grep -F 'nas:8080'")

    with subtest("the dump unit's dead-man ping reports the failure"):
        nas.wait_until_succeeds("grep -l '^/ping/push-db1/fail' /var/lib/webhook/*")
        nas.succeed("grep -l '^/ping/push-db1/start' /var/lib/webhook/*")

    with subtest("the journal says which target failed"):
        errors = db.succeed("journalctl -u postgresqlBackup-db1.service -o cat | grep -F 'pgarchive: error:'")
        assert "offsite" in errors, errors
        assert db.succeed("journalctl -u postgresqlBackup-db1.service -o cat PGARCHIVE_TARGET=offsite").strip()

    with subtest("the other target's archive is complete"):
        complete_archives("db1")
        restore("db1", "nas", "db1_from_nas")
        assert count("db1_from_nas", "t") == count("db1", "t")
  '';
}
