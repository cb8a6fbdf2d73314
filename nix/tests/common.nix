# What the VM tests share: a `db` node (PostgreSQL, services.postgresqlBackup
# for db1 and db2, services.pgarchive), a `nas` node (sshd for SFTP and,
# when asked, Garage for S3), the targets pointing at it, and the Python
# that runs the steps of ./scenarios on them.
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
        # nixpkgs' default authentication (peer): root's `pgarchive
        # restore` reaches the databases because the pgarchive on the PATH
        # runs the program as postgres (services.pgarchive.createWrapper).
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

  # Python shared by the test scripts. Every shell step of the VM tests is
  # a step of a script under ./scenarios, which the container test runs
  # against a Debian host as well; the tests only call them.
  helpers = ''
    import shlex

    SCENARIOS = "${./scenarios}"


    def step(script, *args):
        """The command running one step of a scenario script (nix/tests/scenarios)."""
        return shlex.join(["bash", f"{SCENARIOS}/{script}", *args])


    def seed():
        db.wait_until_succeeds(step("dump.sh", "pg-ready"))
        db.succeed(step("dump.sh", "seed"))
  '';
}
