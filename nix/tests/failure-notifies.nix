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
        db.succeed(step("dump.sh", "push-fails", "db1"))

    with subtest("the notifier runs pgarchive notify and delivers the failure to the webhook"):
        # The URL's host and port stand for its token: never in the journal.
        db.wait_until_succeeds(step("notify.sh", "notified", "db1", "nas:8080"))
        nas.wait_until_succeeds(step("notify.sh", "received", "db1", "db", "offsite"))

    with subtest("the dump unit's dead-man ping reports the failure"):
        nas.wait_until_succeeds(step("notify.sh", "pinged", "/ping/push-db1/fail"))
        nas.succeed(step("notify.sh", "pinged", "/ping/push-db1/start"))

    with subtest("the journal says which target failed"):
        db.succeed(step("dump.sh", "journal-names-target", "db1", "offsite"))

    with subtest("the other target's archive is complete"):
        nas.succeed(step("archives.sh", "complete", "db1"))
        db.succeed(step("dump.sh", "restore", "db1", "nas", "db1_from_nas", "t"))
  '';
}
