# What the VM tests share: a `db` node (PostgreSQL, services.postgresqlBackup
# for db1 and db2, services.pgarchive), a `nas` node (sshd for SFTP and,
# when asked, Garage for S3), the targets pointing at it, and Python
# helpers for the test scripts.
#
# keys/ holds throwaway keys made for these tests only (an age X25519
# identity and an ed25519 SSH key); they protect nothing.
{ module }:
rec {
  # S3 on nas, served by Garage. The keys are made in the test script
  # (garage key create) and written to these files on db.
  garageTarget = {
    type = "s3";
    path = "pgarchive/databases";
    options = {
      provider = "Other";
      endpoint = "http://nas:3900";
      region = "garage";
      no_check_bucket = true;
    };
    secretFiles = {
      access_key_id = "/var/lib/pgarchive-test/s3_id";
      secret_access_key = "/var/lib/pgarchive-test/s3_secret";
    };
  };

  # SFTP to nas as the user backup; archives land in /home/backup/pg.
  nasTarget = {
    type = "sftp";
    path = "pg";
    options = {
      host = "nas";
      user = "backup";
    };
    secretFiles.key_file = "/etc/pgarchive-test/nas_ssh";
  };

  # A target that is down: nas has the port open in its firewall but
  # nothing listening, so connections are refused at once.
  downTarget = nasTarget // {
    options = nasTarget.options // {
      port = 2222;
    };
  };

  # services.pgarchive for the job units (restore-drill): prune, verify
  # and drill, and the metrics textfile they all write.
  jobSettings = {
    retention.daily = 7;
    verify = {
      enable = true;
      sample = 100;
    };
    drill = {
      enable = true;
      # Root-only (0400), like a sops-nix secret: it reaches the drill and
      # verify units with LoadCredential.
      identityFile = "/etc/pgarchive-test/age-identity.txt";
      queries = [ "SELECT count(*) > 0 FROM pg_catalog.pg_tables WHERE schemaname = 'public'" ];
    };
    metrics.textfile = "/var/lib/prometheus-node-exporter-text-files/pgarchive.prom";
  };

  # services.pgarchive for failure-notifies: the notifier's URLs and the
  # dead-man pings, both served by `webhook` on nas. The files are made
  # by notifyFiles.
  notifySettings = {
    notify.urlsFile = "/etc/pgarchive-test/notify-urls";
    healthcheck.urlFile = "/etc/pgarchive-test/ping-url";
  };
  # Root-only, as secrets are: the notifier (user pgarchive-notify) and the dump
  # unit (postgres) get them with LoadCredential.
  notifyFiles = {
    "pgarchive-test/notify-urls" = {
      text = "generic+http://nas:8080/notify\n";
      mode = "0400";
    };
    "pgarchive-test/ping-url" = {
      text = "http://nas:8080/ping/{job}-{database}\n";
      mode = "0400";
    };
  };

  dbNode =
    { targets }:
    {
      config,
      lib,
      pkgs,
      ...
    }:
    {
      imports = [ module ];

      virtualisation.memorySize = 1536;

      services.postgresql = {
        enable = true;
        ensureDatabases = [
          "db1"
          "db2"
        ];
        # Lets root connect as the postgres role (PGUSER=postgres) over the
        # Unix socket, so an administrator's `pgarchive restore` reads the
        # root-only secrets and restores as postgres.
        identMap = ''
          pgarchive root postgres
          pgarchive postgres postgres
        '';
        authentication = ''
          local all postgres peer map=pgarchive
        '';
      };

      services.postgresqlBackup = {
        enable = true;
        databases = [
          "db1"
          "db2"
        ];
      };

      # services.postgresqlBackup gives every database the same pg_dump
      # options (-C here, its default). Dump db2 in custom format (-Fc) as
      # well, with the script nixpkgs writes and -Fc in place of -C, so the
      # drill restores one plain and one custom-format dump.
      systemd.services."postgresqlBackup-db2".script =
        let
          dir = config.services.postgresqlBackup.location;
        in
        lib.mkForce ''
          set -e -o pipefail
          umask 0077
          if [ -e ${dir}/db2.sql.gz ]; then
            rm -f ${dir}/db2.prev.sql*
            mv ${dir}/db2.sql.gz ${dir}/db2.prev.sql.gz
          fi
          pg_dump -Fc db2 \
            | ${pkgs.gzip}/bin/gzip -c -6 --rsyncable \
            > ${dir}/db2.in-progress.sql.gz
          mv ${dir}/db2.in-progress.sql.gz ${dir}/db2.sql.gz
        '';

      # Secrets as a deployment has them: files readable by root only.
      systemd.tmpfiles.rules = [ "d /var/lib/pgarchive-test 0700 root root -" ];
      environment.etc = {
        "pgarchive-test/nas_ssh" = {
          source = ./keys/nas_ssh_ed25519;
          mode = "0400";
        };
        "pgarchive-test/age-identity.txt" = {
          source = ./keys/age-identity.txt;
          mode = "0400";
        };
      };

      services.pgarchive = {
        enable = true;
        encryption.recipients = [ (lib.fileContents ./keys/age-recipient.txt) ];
        inherit targets;
      };
    };

  nasNode =
    {
      garage ? false,
    }:
    { lib, pkgs, ... }:
    {
      config = lib.mkMerge [
        {
          services.openssh.enable = true;
          users.users.backup = {
            isNormalUser = true;
            openssh.authorizedKeys.keyFiles = [ ./keys/nas_ssh_ed25519.pub ];
          };

          # To check the archives with stock tools, as the README says anyone
          # can: age -d -i key.txt | gunzip.
          environment.etc."pgarchive-test/age-identity.txt" = {
            source = ./keys/age-identity.txt;
            mode = "0400";
          };
          environment.systemPackages = [
            pkgs.age
            pkgs.gzip
            pkgs.jq
          ];

          # 2222: open, nothing listening (downTarget).
          networking.firewall.allowedTCPPorts = [ 2222 ];
        }

        (lib.mkIf garage {
          services.garage = {
            enable = true;
            package = pkgs.garage_2 or pkgs.garage;
            settings = {
              replication_factor = 1;
              consistency_mode = "consistent";
              rpc_bind_addr = "[::]:3901";
              rpc_public_addr = "127.0.0.1:3901";
              rpc_secret = "5c1915fa04d0b6739675c61bf5907eb0fe3d9c69850c83820f51b4d25d13868c";
              s3_api = {
                s3_region = "garage";
                api_bind_addr = "[::]:3900";
                root_domain = ".s3.garage";
              };
            };
          };
          networking.firewall.allowedTCPPorts = [ 3900 ];
          # Garage wants at least 1 GiB free.
          virtualisation.diskSize = 2 * 1024;
        })
      ];
    };

  # A webhook receiver on nas for the notifier and the dead-man pings:
  # every POST is kept under /var/lib/webhook as a file named by arrival
  # order, holding the request path (with its query) on the first line and
  # the body after it; http.server logs each request to the journal.
  webhook =
    { pkgs, ... }:
    {
      networking.firewall.allowedTCPPorts = [ 8080 ];
      systemd.services.webhook = {
        wantedBy = [ "multi-user.target" ];
        serviceConfig = {
          StateDirectory = "webhook";
          ExecStart = "${pkgs.python3}/bin/python3 ${pkgs.writeText "webhook.py" ''
            import http.server
            import itertools

            counter = itertools.count(1)


            class Handler(http.server.BaseHTTPRequestHandler):
                def do_POST(self):
                    body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                    with open(f"/var/lib/webhook/{next(counter):04d}", "wb") as f:
                        f.write(self.path.encode() + b"\n" + body)
                    self.send_response(200)
                    self.end_headers()


            http.server.HTTPServer(("", 8080), Handler).serve_forever()
          ''}";
        };
      };
    };

  # Python shared by the test scripts.
  helpers = ''
    import json
    import re

    IDENTITY = "/etc/pgarchive-test/age-identity.txt"
    ARCHIVE_RE = r"^(?P<db>[a-z0-9]+)_[0-9]{8}T[0-9]{6}Z\.sql\.gz\.age$"


    def psql(database, sql):
        return f"runuser -u postgres -- psql -v ON_ERROR_STOP=1 -tA -d {database} -c \"{sql}\""


    def count(database, table):
        return int(db.succeed(psql(database, f"SELECT count(*) FROM {table}")).strip())


    def seed():
        db.wait_until_succeeds(psql("db2", "SELECT 1"))
        db.succeed(psql("db1", "CREATE TABLE t AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 5000) g"))
        db.succeed(psql("db2", "CREATE TABLE u AS SELECT g AS id, now() AS at FROM generate_series(1, 7000) g"))
        db.succeed(psql("db2", "CREATE TABLE w AS SELECT g FROM generate_series(1, 300) g"))


    def start_dump(unit):
        status, _ = db.execute(f"systemctl start {unit}")
        if status != 0:
            db.log(db.execute(f"journalctl -u {unit} --no-pager -o cat")[1])
            raise Exception(f"{unit} failed")


    def restore(database, target, scratch):
        # --into creates scratch.
        db.succeed(
            f"PGUSER=postgres pgarchive restore --database {database} --identity {IDENTITY}"
            f" --target {target} --into {scratch}"
        )


    def complete_archives(database):
        """Archives of database on nas's SFTP target; each must have its manifest."""
        directory = f"/home/backup/pg/db/{database}"
        names = nas.succeed(f"ls -1 {directory}").split()
        archives = [n for n in names if re.match(ARCHIVE_RE, n)]
        assert archives, f"no archive of {database} in {directory}: {names}"
        for a in archives:
            assert f"{a}.json" in names, f"{a} has no manifest in {directory}: {names}"
            manifest = json.loads(nas.succeed(f"cat {directory}/{a}.json"))
            assert isinstance(manifest, dict), manifest
        return [f"{directory}/{a}" for a in archives]
  '';
}
