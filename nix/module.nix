# services.pgarchive: ship the dumps that services.postgresqlBackup makes to
# several places at once, encrypted with age.
#
# The module does not add a unit of its own for the work: it extends the
# dump units of nixpkgs (postgresqlBackup-<db>, or postgresqlBackup with
# backupAll) so that `pgarchive push` runs as their ExecStartPost, as the same
# user (postgres), right after pg_dump finished. A failed dump or push fails
# that unit, and OnFailure starts pgarchive-notify@<unit>.
#
# Beside them it adds timers for the other jobs: pgarchive-prune (retention),
# pgarchive-verify (archives against their manifests) and pgarchive-drill
# (restore into a scratch database, check, drop), each a oneshot unit run as
# postgres with the same OnFailure notifier.
#
# One configuration, /etc/pgarchive/config.toml, rendered from
# services.pgarchive.settings (which the options fill) and checked by the
# binary at build time, serves every unit and the administrator. Secrets
# never enter the store: the file names them by their host paths, and each
# unit loads the secrets its job reads with LoadCredential=<id>:<host path>,
# the id being the secret's dotted key in the file
# (targets.nas.secret_files.key_file). The binary looks every secret up in
# $CREDENTIALS_DIRECTORY by that id before its configured path, so
# root-only secrets (sops-nix, agenix) reach the postgres user without being
# made readable to it, and root at the shell reads the host paths.
#
# The `pgarchive` it puts on the PATH (createWrapper) reads that file too,
# and run by root, runs as postgres with the secrets the units get, so an
# administrator's restore reaches the databases as the units do.
{
  config,
  lib,
  pkgs,
  utils,
  ...
}:
let
  cfg = config.services.pgarchive;
  pgb = config.services.postgresqlBackup;

  settingsFormat = pkgs.formats.toml { };

  # A secret is a path on the host, read at run time, never a store path:
  # a Nix path literal (./key) is refused because it would be copied into
  # the world-readable store.
  secretPath = lib.types.pathWith {
    inStore = false;
    absolute = true;
  };

  # A table of settings derived from the options: unset values left out
  # (TOML has no null), the table too when nothing is left, and each value
  # lib.mkDefault, so that services.pgarchive.settings wins.
  table =
    attrs:
    let
      set = lib.filterAttrs (
        _: v:
        !lib.elem v [
          null
          ""
          [ ]
          { }
        ]
      ) attrs;
    in
    lib.mkIf (set != { }) (lib.mapAttrsRecursive (_: lib.mkDefault) set);

  # The file every unit and the administrator read. The units name the
  # output of the check, so a config the binary rejects fails the system
  # build instead of the first run; check-config reads no secret file and
  # opens no connection, so it works in the build sandbox.
  configFile =
    let
      rendered = settingsFormat.generate "pgarchive.toml" cfg.settings;
    in
    if cfg.checkConfig then
      pkgs.runCommand "pgarchive.toml"
        {
          nativeBuildInputs = [ cfg.package ];
          preferLocalBuild = true;
        }
        ''
          pgarchive --config ${rendered} check-config
          cp ${rendered} "$out"
        ''
    else
      rendered;

  # The secrets of the config by what reads them, each with its credential
  # id, the secret's dotted key, under which the binary finds it in
  # $CREDENTIALS_DIRECTORY, and its host path. Taken from the settings, so
  # a secret path set there is loaded too.
  secrets =
    let
      s = cfg.settings;
      secret =
        id: path:
        lib.optional (path != null) {
          inherit id;
          path = toString path;
        };
    in
    {
      # Every job that lists or writes the targets.
      targets =
        lib.concatLists (
          lib.mapAttrsToList (
            name: target:
            lib.concatLists (
              lib.mapAttrsToList (
                option: secret "targets.${name}.secret_files.${option}"
              ) target.secret_files or { }
            )
          ) s.targets or { }
        )
        ++ secret "rclone.config_file" s.rclone.config_file or null;
      # push encrypts.
      encryption =
        secret "encryption.recipients_file" s.encryption.recipients_file or null
        ++ secret "encryption.passphrase_file" s.encryption.passphrase_file or null;
      # drill and verify decrypt.
      drill =
        secret "drill.identity_file" s.drill.identity_file or null
        ++ secret "drill.passphrase_file" s.drill.passphrase_file or null;
      notify = secret "notify.urls_file" s.notify.urls_file or null;
      # push, prune, verify and drill ping.
      healthcheck = secret "healthcheck.url_file" s.healthcheck.url_file or null;
    };

  # The same, as the LoadCredential= entries <id>:<host path> of the units.
  credentials = lib.mapAttrs (_: map (c: "${c.id}:${c.path}")) secrets;

  exe = lib.getExe cfg.package;
  unitFor = db: if pgb.backupAll then "postgresqlBackup" else "postgresqlBackup-${db}";
  dumpedDatabases = if pgb.backupAll then [ "all" ] else pgb.databases;

  # The metrics textfile's directory: every job writes the file there
  # atomically (a temporary file beside it, then rename), and keeps its
  # state and lock files beside it, so the units need write access to the
  # directory itself, not only to the file.
  metricsDir = lib.mapNullable (f: dirOf (toString f)) cfg.metrics.textfile;

  setRetentionCounts = lib.filterAttrs (_: n: n != null) {
    inherit (cfg.retention)
      keepLast
      hourly
      daily
      weekly
      monthly
      yearly
      ;
  };

  # A job unit (prune, verify, drill): oneshot, as postgres, like the push
  # in the dump units. One user for every job keeps the files they share
  # writable by all of them: the metrics textfile with its state and lock
  # files, and local targets (push writes there, prune deletes). They reach
  # the targets over the network and PostgreSQL over its Unix socket or
  # TCP, and write only where ReadWritePaths says.
  mkJobService =
    {
      description,
      args,
      loadCredential,
      readWritePaths ? [ ],
      path ? [ ],
    }:
    {
      inherit description path;
      wants = [ "network-online.target" ];
      after = [ "network-online.target" ];
      onFailure = [ "pgarchive-notify@%n.service" ];
      serviceConfig = {
        Type = "oneshot";
        User = serviceUser;
        Group = serviceUser;
        ExecStart = utils.escapeSystemdExecArgs (
          [
            exe
            "--config"
            configFile
          ]
          ++ args
        );
        LoadCredential = loadCredential;
        TimeoutStartSec = lib.mkDefault cfg.timeoutStartSec;
        ReadWritePaths = readWritePaths ++ lib.optional (metricsDir != null) metricsDir;
        NoNewPrivileges = lib.mkDefault true;
        PrivateTmp = lib.mkDefault true;
        ProtectSystem = lib.mkDefault "strict";
        ProtectHome = lib.mkDefault true;
        RestrictAddressFamilies = lib.mkDefault [
          "AF_UNIX"
          "AF_INET"
          "AF_INET6"
        ];
      };
    };

  mkTimer = description: startAt: {
    inherit description;
    wantedBy = [ "timers.target" ];
    timerConfig = {
      OnCalendar = startAt;
      # A run missed while the machine was off happens at the next boot.
      Persistent = lib.mkDefault true;
      # Spread the jobs of many hosts sharing a target.
      RandomizedDelaySec = lib.mkDefault "1h";
    };
  };

  # The user the dump units (nixpkgs' postgresqlBackup), the jobs and the
  # administrator's `pgarchive` run as: peer authentication lets it in to
  # every database over the Unix socket. A static user, not DynamicUser=.
  serviceUser = "postgres";

  # The `pgarchive` on the administrator's PATH
  # (services.pgarchive.createWrapper), as nixpkgs' restic module offers
  # restic-<name>: the one config, and for root the rest of what a unit
  # gets, so that `sudo pgarchive restore ... --into db1_restored` works
  # under nixpkgs' default peer authentication (no PGUSER, no pg_ident map).
  #
  # Run by root, it copies the secrets the units load (by credential id, as
  # LoadCredential= names them) and the files that --identity,
  # --passphrase-file and --rclone-config name (the administrator's, often
  # root-only) into a fresh directory under /run, 0700 and owned by the
  # service user, points $CREDENTIALS_DIRECTORY at it, and runs the program
  # as the service user with setpriv (no capabilities, no_new_privs, a
  # clean environment keeping libpq's PG* variables, the locale and TZ),
  # then removes the directory. The program stays a child of the shell: the
  # working directory, standard input and output (--output - | ...), the
  # terminal (progress), Ctrl-C and the exit status behave as the binary's
  # own. A --config naming another file gets none of the system's secrets.
  #
  # Not `systemd-run --pipe --wait --uid=postgres -p LoadCredential=...`,
  # although that loads the secrets exactly as the units do: the transient
  # unit starts in / (or, with --same-dir, fails with 200/CHDIR when the
  # service user cannot enter the administrator's directory, such as /root),
  # so relative paths break; the environment must be passed variable by
  # variable; and Ctrl-C ends systemd-run, not the unit, so an interrupted
  # restore would carry on in the background. setpriv needs nothing of
  # systemd, so it behaves the same on systemd 252 and later. Anyone but
  # root runs the program as themselves with the one config.
  wrapper = pkgs.writeShellApplication {
    name = "pgarchive";
    runtimeInputs = [
      pkgs.coreutils
      pkgs.util-linux
    ];
    text = ''
      real=${lib.escapeShellArg exe}
      config=${lib.escapeShellArg configFile}
      user=${lib.escapeShellArg serviceUser}
      # psql, pg_restore and pg_dumpall of the server (restore, drill, push --globals).
      export PATH=${lib.escapeShellArg (lib.makeBinPath [ config.services.postgresql.package ])}:"$PATH"
      export PGARCHIVE_CONFIG="''${PGARCHIVE_CONFIG:-$config}"

      if [ "$(id -u)" != 0 ]; then
        exec "$real" "$@"
      fi

      # The secrets of the one config, by credential id: what the units load
      # with LoadCredential=<id>:<path>.
      secrets=(
      ${lib.concatMapStrings (s: "  ${lib.escapeShellArg s.id} ${lib.escapeShellArg s.path}\n") (
        lib.concatLists (lib.attrValues secrets)
      )})

      # same_config FILE: whether FILE is the one config (/etc/pgarchive/config.toml links to it).
      same_config() {
        [ "$(readlink -f -- "$1")" = "$(readlink -f -- "$config")" ]
      }

      # file_id FLAG: the id under which the file a flag names is handed over.
      file_id() {
        case ''${1%%=*} in
        -i | -identity | --identity) fid=cli.identity ;;
        -passphrase-file | --passphrase-file) fid=cli.passphrase_file ;;
        -rclone-config | --rclone-config) fid=cli.rclone_config ;;
        *) return 1 ;;
        esac
      }

      # hand ID FILE: a copy of FILE as $dir/ID, readable by the service user
      # only; $handed is the path the program is to open instead.
      hand() {
        handed=$2
        if [ -f "$2" ]; then
          install -m 0400 -o "$user" -g "$group" -- "$2" "$dir/$1"
          handed=$dir/$1
        fi
      }

      umask 077
      group=$(id -gn -- "$user")
      dir=$(mktemp -d /run/pgarchive-cli.XXXXXXXXXX)
      # On exit, also when SIGINT, SIGTERM or SIGHUP ends the script.
      trap 'rm -rf -- "$dir"' EXIT

      system=1
      same_config "$PGARCHIVE_CONFIG" || system=0
      args=()
      while [ "$#" -gt 0 ]; do
        arg=$1
        shift
        if [ "$arg" = -- ]; then
          args+=("$arg" "$@")
          break
        elif file_id "$arg"; then
          if [[ $arg == *=* ]]; then
            hand "$fid" "''${arg#*=}"
            args+=("''${arg%%=*}=$handed")
          elif [ "$#" -gt 0 ]; then
            hand "$fid" "$1"
            shift
            args+=("$arg" "$handed")
          else
            args+=("$arg")
          fi
        else
          case $arg in
          -config | --config) if [ "$#" -gt 0 ] && ! same_config "$1"; then system=0; fi ;;
          -config=* | --config=*) same_config "''${arg#*=}" || system=0 ;;
          esac
          args+=("$arg")
        fi
      done

      if [ "$system" = 1 ]; then
        set -- "''${secrets[@]}"
        while [ "$#" -ge 2 ]; do
          hand "$1" "$2"
          shift 2
        done
      fi

      keep=("PATH=$PATH" "PGARCHIVE_CONFIG=$PGARCHIVE_CONFIG" "CREDENTIALS_DIRECTORY=$dir")
      for name in $(compgen -e); do
        case $name in
        PGARCHIVE_CONFIG | CREDENTIALS_DIRECTORY) ;;
        PG* | LANG | LANGUAGE | LC_* | TZ | NO_COLOR) keep+=("$name=''${!name}") ;;
        esac
      done

      # The directory becomes the service user's once every file is in.
      chown -- "$user:$group" "$dir"
      setpriv --reuid="$user" --regid="$group" --init-groups --inh-caps=-all --no-new-privs --reset-env \
        env "''${keep[@]}" "$real" "''${args[@]}"
    '';
  };

  targetModule =
    { name, ... }:
    {
      options = {
        type = lib.mkOption {
          type = lib.types.nullOr lib.types.str;
          default = null;
          example = "s3";
          description = ''
            The rclone backend to write to (`s3`, `sftp`, `b2`, `local`, ...),
            built from {option}`options` and {option}`secretFiles`.
            Set this or {option}`remote`, not both.
          '';
        };
        remote = lib.mkOption {
          type = lib.types.nullOr lib.types.str;
          default = null;
          example = "offsite:bucket/pg";
          description = ''
            A remote `name:path` from the rclone config file in
            {option}`services.pgarchive.rclone.configFile`, instead of
            {option}`type`.
          '';
        };
        path = lib.mkOption {
          type = lib.types.str;
          default = "";
          example = "bucket1/databases";
          description = ''
            Where archives go on the backend (for S3 the bucket, then a
            prefix). Objects are written below it as
            `<host>/<database>/<database>_<YYYYMMDDTHHMMSSZ>.sql<suffix>.age`.
          '';
        };
        options = lib.mkOption {
          type = lib.types.attrsOf (
            lib.types.oneOf [
              lib.types.str
              lib.types.int
              lib.types.bool
            ]
          );
          default = { };
          example = {
            provider = "Other";
            endpoint = "https://s3.eu-central-003.backblazeb2.com";
          };
          description = ''
            rclone options of the backend, as in rclone's documentation
            without the `--<backend>-` prefix. Values land in the Nix store:
            put secrets in {option}`secretFiles`.
          '';
        };
        secretFiles = lib.mkOption {
          type = lib.types.attrsOf secretPath;
          default = { };
          example = lib.literalExpression ''
            {
              access_key_id = config.sops.secrets."b2/id".path;
              secret_access_key = config.sops.secrets."b2/key".path;
            }
          '';
          description = ''
            rclone options whose values are read from files at run time
            (an SFTP `key_file`, S3 keys, passwords). The units that reach
            the targets load them with
            `LoadCredential=targets.<name>.secret_files.<option>:<path>`, so
            they may stay readable by root only.
          '';
        };
        requireMount = lib.mkOption {
          type = lib.types.bool;
          default = false;
          description = ''
            For a `local` target: fail it unless {option}`path` is a mount
            point, so a backup meant for a disk that is not mounted never
            lands on the disk underneath. (pgarchive never creates
            {option}`path` itself, only directories below it.)
          '';
        };
        objectLock = lib.mkOption {
          type = lib.types.nullOr (
            lib.types.submodule {
              options = {
                mode = lib.mkOption {
                  type = lib.types.enum [
                    "GOVERNANCE"
                    "COMPLIANCE"
                  ];
                  default = "GOVERNANCE";
                  description = "S3 Object Lock retention mode of every object pushed.";
                };
                days = lib.mkOption {
                  type = lib.types.ints.positive;
                  example = 7;
                  description = ''
                    How long every object is locked at push; prune extends
                    the lock of archives it keeps as weeklies, monthlies or
                    yearlies to the date their tier releases them.
                  '';
                };
              };
            }
          );
          default = null;
          example = {
            mode = "GOVERNANCE";
            days = 7;
          };
          description = ''
            For an `s3` target on a bucket with Object Lock: lock every
            object pushed, so credentials stolen from the host cannot
            delete archives (see `docs/immutability.md`).
          '';
        };
      };
    };
in
{
  options.services.pgarchive = {
    enable = lib.mkEnableOption "pushing the dumps of `services.postgresqlBackup`, encrypted with age, to every target after each dump";

    package = lib.mkPackageOption pkgs "pgarchive" { };

    databases = lib.mkOption {
      type = lib.types.listOf lib.types.str;
      default = dumpedDatabases;
      defaultText = lib.literalExpression ''
        if config.services.postgresqlBackup.backupAll then [ "all" ]
        else config.services.postgresqlBackup.databases
      '';
      example = [ "db1" ];
      description = ''
        The databases whose dumps are pushed. Each must be dumped by
        {option}`services.postgresqlBackup`; with its `backupAll` the one
        dump is the database `all`.
      '';
    };

    host = lib.mkOption {
      type = lib.types.nullOr lib.types.str;
      default = null;
      example = "db-prod-1";
      description = ''
        The host name archives are filed under. `null` uses the machine's
        host name at run time.
      '';
    };

    stallTimeout = lib.mkOption {
      type = lib.types.nullOr lib.types.str;
      default = null;
      example = "30m";
      description = ''
        A target whose upload takes no data for this long (a Go duration)
        is dropped and the others finish. `null` keeps pgarchive's default
        (10m).
      '';
    };

    maxDumpAge = lib.mkOption {
      type = lib.types.nullOr lib.types.str;
      default = null;
      example = "2h";
      description = ''
        How old a dump may be before push refuses it, as a Go duration.
        `null` keeps pgarchive's default (1h).
      '';
    };

    timeoutStartSec = lib.mkOption {
      type = lib.types.str;
      default = "6h";
      example = "infinity";
      description = ''
        `TimeoutStartSec` of each dump unit: the time pg_dump and the push
        together may take before systemd stops the unit and reports it as
        failed, so a hung upload cannot silently block the next dumps. The
        prune, verify and drill units get the same limit.
      '';
    };

    createWrapper = lib.mkOption {
      type = lib.types.bool;
      default = true;
      example = false;
      description = ''
        Whether the `pgarchive` command on the system's PATH is a wrapper
        that runs the program as the units do: with
        {file}`/etc/pgarchive/config.toml`, and, for root, as the postgres
        user with the secrets the units load (and the files `--identity`,
        `--passphrase-file` and `--rclone-config` name) handed over in
        `$CREDENTIALS_DIRECTORY`, so that
        `sudo pgarchive restore --database db1 --identity key.txt --into db1_restored`
        reaches the databases by peer authentication. Other users run it
        as themselves. `false` puts the plain program there instead.
      '';
    };

    checkConfig = lib.mkOption {
      type = lib.types.bool;
      default = true;
      example = false;
      description = ''
        Whether to run `pgarchive check-config` on the rendered configuration
        at build time. Turn it off only when the package cannot run on the
        build machine (cross compilation).
      '';
    };

    encryption = {
      recipients = lib.mkOption {
        type = lib.types.listOf lib.types.str;
        default = [ ];
        example = [ "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p" ];
        description = ''
          age recipients (public keys) every archive is encrypted to. The
          host holds no key that opens them. Post-quantum (`age1pq1…`) and
          classic X25519 recipients cannot be mixed.
        '';
      };
      recipientsFile = lib.mkOption {
        type = lib.types.nullOr secretPath;
        default = null;
        example = "/run/secrets/pgarchive-recipients";
        description = "A file of further age recipients, one a line, read at run time.";
      };
      passphraseFile = lib.mkOption {
        type = lib.types.nullOr secretPath;
        default = null;
        example = lib.literalExpression ''config.age.secrets.pgarchive-passphrase.path'';
        description = ''
          Encrypt with an age scrypt passphrase read from this file instead of
          recipients. The host can then open its own archives.
        '';
      };
    };

    targets = lib.mkOption {
      type = lib.types.attrsOf (lib.types.submodule targetModule);
      default = { };
      example = lib.literalExpression ''
        {
          nas = {
            type = "sftp";
            path = "pg";
            options = { host = "heim-nas"; user = "backup"; };
            secretFiles.key_file = "/run/secrets/nas_ssh";
          };
        }
      '';
      description = ''
        Where every push writes, all at once. A push succeeds only when every
        target holds the archive and its manifest.
      '';
    };

    rclone.configFile = lib.mkOption {
      type = lib.types.nullOr secretPath;
      default = null;
      example = "/run/secrets/rclone.conf";
      description = "An rclone.conf for targets given as {option}`remote`.";
    };

    pruneOnHost = lib.mkOption {
      type = lib.types.bool;
      default = true;
      example = false;
      description = ''
        Whether this host may delete archives. `false` is for append-only
        targets, whose credentials on this host cannot delete: prune then
        runs elsewhere (`pgarchive prune --host <this host>` with credentials
        that may delete), and {option}`services.pgarchive.prune.enable`
        stays off here.
      '';
    };

    retention =
      let
        count =
          what:
          lib.mkOption {
            type = lib.types.nullOr lib.types.int;
            default = null;
            example = 7;
            description = ''
              Keep ${what}. `null` leaves the count unset (zero).
            '';
          };
      in
      {
        keepLast = count "the newest N archives of each database on each target";
        hourly = count "the newest archive of each of the last N hours that hold one";
        daily = count "the newest archive of each of the last N days (UTC) that hold one";
        weekly = count "the newest archive of each of the last N ISO weeks that hold one";
        monthly = count "the newest archive of each of the last N months that hold one";
        yearly = count "the newest archive of each of the last N years that hold one";
        incompleteGrace = lib.mkOption {
          type = lib.types.nullOr lib.types.str;
          default = null;
          example = "48h";
          description = ''
            How old an archive without its manifest (an upload that died)
            must be before prune deletes it, as a Go duration. `null` keeps
            pgarchive's default (24h).
          '';
        };
      };

    prune = {
      enable = lib.mkOption {
        type = lib.types.bool;
        default = cfg.pruneOnHost && setRetentionCounts != { };
        defaultText = lib.literalMD ''
          `true` when a count of {option}`services.pgarchive.retention` is set
          and {option}`services.pgarchive.pruneOnHost` is `true`
        '';
        example = false;
        description = ''
          Whether to run `pgarchive prune` from a timer
          (`pgarchive-prune.timer`): delete, per database per target, the
          archives {option}`services.pgarchive.retention` does not keep.
          prune never deletes a database's newest complete archive, nor
          anything on a target it could not list.
        '';
      };
      startAt = lib.mkOption {
        type = lib.types.either lib.types.str (lib.types.listOf lib.types.str);
        default = "daily";
        example = "*-*-* 05:30:00";
        description = ''
          When prune runs, as systemd calendar events (`OnCalendar=`; the
          timer adds `RandomizedDelaySec=1h` and `Persistent=true`).
        '';
      };
    };

    globals = {
      enable = lib.mkOption {
        type = lib.types.bool;
        default = true;
        example = false;
        description = ''
          Whether to archive the cluster's roles (`pg_dumpall --globals-only`,
          run by `pgarchive push --globals` as the `globals` archive) with
          every backup run: `services.postgresqlBackup` dumps databases, not
          roles, so a database restored onto a new host would lose its
          owners and grants. The unit `pgarchive-globals.service` runs on
          {option}`services.postgresqlBackup.startAt`; `pgarchive restore
          --globals` recreates the roles.
        '';
      };
    };

    verify = {
      enable = lib.mkEnableOption "a timer (`pgarchive-verify.timer`) that downloads a sample of the archives and checks them against their manifests; with {option}`services.pgarchive.drill.identityFile` set it also decrypts them and reads each dump to its end";
      startAt = lib.mkOption {
        type = lib.types.either lib.types.str (lib.types.listOf lib.types.str);
        default = "weekly";
        example = "Sun *-*-* 03:00:00";
        description = "When verify runs, as systemd calendar events (`OnCalendar=`).";
      };
      sample = lib.mkOption {
        type = lib.types.number;
        default = 5;
        example = 100;
        description = ''
          The percentage of each database's archives each run checks, at
          least one archive (`pgarchive verify --sample`). The choice
          changes from day to day, so a small sample walks through the
          archives over time. Above 0, at most 100.
        '';
      };
    };

    drill = {
      enable = lib.mkEnableOption "a timer (`pgarchive-drill.timer`) that restores the newest archive of each database into a scratch database `pgarchive_drill_<db>` on the local server, counts the rows of every table, runs {option}`services.pgarchive.drill.queries` and drops the scratch database";
      startAt = lib.mkOption {
        type = lib.types.either lib.types.str (lib.types.listOf lib.types.str);
        default = "weekly";
        example = "Sat *-*-* 04:00:00";
        description = "When the drill runs, as systemd calendar events (`OnCalendar=`).";
      };
      age = lib.mkOption {
        type = lib.types.ints.unsigned;
        default = 0;
        example = 30;
        description = ''
          Drill the newest archive at least this many days old
          (`pgarchive drill --age`): 30 proves that month-old archives still
          open and restore.
        '';
      };
      identityFile = lib.mkOption {
        type = lib.types.nullOr secretPath;
        default = null;
        example = lib.literalExpression ''config.sops.secrets."pgarchive-drill-key".path'';
        description = ''
          An age identity file (`age-keygen`, or `pgarchive keygen`) whose
          recipient is among {option}`services.pgarchive.encryption.recipients`.
          A drill decrypts, and the host otherwise holds public keys only, so
          this is a key of its own, kept as a secret (sops-nix, agenix); it
          reaches the drill and verify units with `LoadCredential`. When
          set, verify uses it too. Required by
          {option}`services.pgarchive.drill.enable` unless
          {option}`services.pgarchive.drill.passphraseFile` is set.
        '';
      };
      passphraseFile = lib.mkOption {
        type = lib.types.nullOr secretPath;
        default =
          if cfg.drill.identityFile == null then cfg.encryption.passphraseFile else null;
        defaultText = lib.literalExpression ''
          if config.services.pgarchive.drill.identityFile == null
          then config.services.pgarchive.encryption.passphraseFile
          else null
        '';
        example = "/run/agenix/pgarchive-passphrase";
        description = ''
          In passphrase mode, the file holding the passphrase drill and
          verify decrypt with, instead of an identity. Defaults to the
          passphrase archives are encrypted with.
        '';
      };
      queries = lib.mkOption {
        type = lib.types.listOf lib.types.str;
        default = [ ];
        example = [ "SELECT count(*) > 0 FROM public.users" ];
        description = ''
          SQL run in every restored scratch database: each must return
          true, or the drill fails. They run for every database drilled.
        '';
      };
      connection = lib.mkOption {
        type = lib.types.nullOr lib.types.str;
        default = null;
        example = "host=/run/postgresql user=postgres";
        description = ''
          The server the scratch database is created on, as a libpq
          connection string or `postgresql://` URI. `null` uses libpq's
          defaults: the local server over its Unix socket, as the postgres
          role. The value lands in the Nix store: give a password through a
          `passfile`, not inline.
        '';
      };
    };

    notify.urlsFile = lib.mkOption {
      type = lib.types.nullOr secretPath;
      default = null;
      example = lib.literalExpression ''config.sops.secrets."pgarchive-notify".path'';
      description = ''
        A file of shoutrrr URLs, one a line (`ntfy://`, `matrix://`,
        `slack://`, `smtp://`, `telegram://`, `generic+https://`...), that
        `pgarchive-notify@<unit>` sends to when a dump or job unit fails:
        host, unit, result, failed targets and the run's last journal lines.
        URLs carry tokens, so this is a secret. `null`: the notice is only
        written to the journal (priority err).
      '';
    };

    healthcheck.urlFile = lib.mkOption {
      type = lib.types.nullOr secretPath;
      default = null;
      example = "/run/secrets/pgarchive-healthcheck";
      description = ''
        A file holding a healthchecks.io-style ping URL (a secret: it is
        the check's write token). Every push, prune, verify and drill pings
        `<url>/start`, then `<url>` or `<url>/fail`, so a backup that stops
        running at all is noticed.
      '';
    };

    metrics.textfile = lib.mkOption {
      type = lib.types.nullOr (
        lib.types.pathWith {
          inStore = false;
          absolute = true;
        }
      );
      default = null;
      example = "/var/lib/prometheus-node-exporter-text-files/pgarchive.prom";
      description = ''
        A Prometheus textfile every push, prune, verify and drill updates,
        for node_exporter's textfile collector (last success and attempt,
        bytes, duration per operation, database and target). The jobs run
        as postgres and replace the file atomically, keeping a state and a
        lock file beside it, so its directory is created (systemd-tmpfiles)
        as `0775 root:postgres` and made writable to the units. Give it a
        directory of its own for textfiles, such as node_exporter's
        `--collector.textfile.directory`.
      '';
    };

    status.maxAge = lib.mkOption {
      type = lib.types.nullOr lib.types.str;
      default = null;
      example = "2h";
      description = ''
        How old a database's newest complete archive may be before
        `pgarchive status` warns (and exits 1), as a Go duration. `null`
        keeps pgarchive's default (25h, for daily dumps).
      '';
    };

    settings = lib.mkOption {
      type = lib.types.submodule { freeformType = settingsFormat.type; };
      default = { };
      example = {
        max_dump_age = "3h";
        stall_timeout = "5m";
      };
      description = ''
        pgarchive's configuration (README, "Configuration"), rendered to
        {file}`/etc/pgarchive/config.toml`, the one file every unit and
        `pgarchive` at the shell read. The other options fill it with
        `lib.mkDefault`: a key set here wins. Secret paths set here are
        loaded into the units as credentials, as those of the options are.
      '';
    };
  };

  config = lib.mkIf cfg.enable (
    lib.mkMerge [
      {
        assertions =
          let
            hasRecipients = cfg.encryption.recipients != [ ] || cfg.encryption.recipientsFile != null;
            pqRecipients = lib.filter (
              r: lib.hasPrefix "age1pq1" r || lib.hasPrefix "age1tagpq1" r
            ) cfg.encryption.recipients;
          in
          lib.concatLists (
            lib.mapAttrsToList (name: t: [
              {
                assertion = t.objectLock == null || t.type == "s3";
                message = ''
                  services.pgarchive.targets.${name}.objectLock is set, but the target's type is
                  ${if t.type == null then "not set (an rclone.conf remote)" else "\"${t.type}\""}: S3 Object Lock needs type = "s3"
                  and a bucket created with Object Lock.
                '';
              }
              {
                assertion = !t.requireMount || t.type == "local";
                message = ''
                  services.pgarchive.targets.${name}.requireMount only applies to type = "local" targets.
                '';
              }
            ]) cfg.targets
          )
          ++ [
            {
              assertion = pgb.enable;
              message = ''
                services.pgarchive.enable requires services.postgresqlBackup.enable = true:
                pgarchive pushes the dumps that services.postgresqlBackup makes.
              '';
            }
            {
              assertion = cfg.targets != { };
              message = ''
                services.pgarchive.targets is empty: define at least one, e.g.
                services.pgarchive.targets.nas = { type = "sftp"; path = "pg"; options.host = "nas"; };
              '';
            }
            {
              assertion = !(hasRecipients && cfg.encryption.passphraseFile != null);
              message = ''
                services.pgarchive.encryption: set either services.pgarchive.encryption.recipients
                (or recipientsFile) or services.pgarchive.encryption.passphraseFile, not both.
              '';
            }
            {
              assertion = hasRecipients || cfg.encryption.passphraseFile != null;
              message = ''
                services.pgarchive.encryption: set services.pgarchive.encryption.recipients
                (age public keys; recommended), services.pgarchive.encryption.recipientsFile,
                or services.pgarchive.encryption.passphraseFile.
              '';
            }
            {
              assertion = pqRecipients == [ ] || lib.length pqRecipients == lib.length cfg.encryption.recipients;
              message = ''
                services.pgarchive.encryption.recipients mixes post-quantum recipients
                (${lib.concatStringsSep ", " pqRecipients}) with classic ones: age refuses the mix,
                because any classic recipient would take away the post-quantum protection.
                Use only one kind.
              '';
            }
            {
              assertion = !cfg.drill.enable || cfg.drill.identityFile != null || cfg.drill.passphraseFile != null;
              message = ''
                services.pgarchive.drill.enable needs services.pgarchive.drill.identityFile: a drill
                decrypts, and the host holds public keys only. Make a key for drills
                (age-keygen -o drill-key.txt, or pgarchive keygen), add its public key to
                services.pgarchive.encryption.recipients, keep the file as a secret (sops-nix, agenix)
                and set services.pgarchive.drill.identityFile to its path, e.g.
                config.sops.secrets."pgarchive-drill-key".path. (In passphrase mode,
                services.pgarchive.drill.passphraseFile.)
              '';
            }
            {
              assertion = cfg.drill.identityFile == null || cfg.drill.passphraseFile == null;
              message = ''
                services.pgarchive.drill: set services.pgarchive.drill.identityFile or
                services.pgarchive.drill.passphraseFile, not both.
              '';
            }
            {
              assertion = !cfg.verify.enable || (cfg.verify.sample > 0 && cfg.verify.sample <= 100);
              message = ''
                services.pgarchive.verify.sample is ${toString cfg.verify.sample}: it is a percentage of
                each database's archives, above 0 and at most 100 (5 checks a twentieth each run).
              '';
            }
            {
              assertion = !(cfg.prune.enable && !cfg.pruneOnHost);
              message = ''
                services.pgarchive.prune.enable = true contradicts services.pgarchive.pruneOnHost = false:
                pgarchive prune refuses to delete on a host that may not prune. Prune on the machine
                that holds deleting credentials (pgarchive prune --host <this host>), or set
                services.pgarchive.pruneOnHost = true.
              '';
            }
            {
              assertion = !cfg.prune.enable || lib.any (n: n > 0) (lib.attrValues setRetentionCounts);
              message = ''
                services.pgarchive.prune.enable needs a retention policy: set at least one of
                services.pgarchive.retention.{keepLast,hourly,daily,weekly,monthly,yearly} above 0,
                e.g. services.pgarchive.retention = { daily = 7; weekly = 4; monthly = 6; };
                (with none, prune would keep only the newest archive of each database).
              '';
            }
            {
              # Directories that must not become writable by postgres, or
              # that are private to each unit (PrivateTmp).
              assertion =
                metricsDir == null
                || !(
                  lib.elem metricsDir [
                    "/"
                    "/etc"
                    "/nix"
                    "/run"
                    "/srv"
                    "/usr"
                    "/var"
                    "/var/lib"
                    "/var/log"
                  ]
                  || lib.any (d: metricsDir == d || lib.hasPrefix "${d}/" metricsDir) [
                    "/tmp"
                    "/var/tmp"
                    "/nix/store"
                  ]
                );
              message = ''
                services.pgarchive.metrics.textfile is ${toString cfg.metrics.textfile}: its directory
                ${toString metricsDir} is made writable to the postgres group (the jobs replace the file
                atomically beside it), so it must be a directory for textfiles, such as
                /var/lib/prometheus-node-exporter-text-files, not a system directory, and not under
                /tmp or /var/tmp (private to each unit).
              '';
            }
          ]
          ++ lib.mapAttrsToList (name: n: {
            assertion = n >= 0;
            message = ''
              services.pgarchive.retention.${name} is ${toString n}: a count of archives to keep,
              zero or more.
            '';
          }) setRetentionCounts
          ++ map (db: {
            assertion = lib.elem db dumpedDatabases;
            message = ''
              services.pgarchive.databases contains "${db}", which services.postgresqlBackup
              does not dump (it dumps: ${lib.concatStringsSep ", " dumpedDatabases}).
            '';
          }) cfg.databases
          ++ lib.concatLists (
            lib.mapAttrsToList (name: target: [
              {
                assertion = builtins.match "[A-Za-z0-9][A-Za-z0-9._-]*" name != null;
                message = ''
                  services.pgarchive.targets."${name}": a target name is letters, digits, '.', '_' or '-',
                  starting with a letter or digit (it is a journal field and a credential name).
                '';
              }
              {
                assertion = (target.type == null) != (target.remote == null);
                message = ''
                  services.pgarchive.targets.${name}: set exactly one of
                  services.pgarchive.targets.${name}.type (an rclone backend) or
                  services.pgarchive.targets.${name}.remote (from services.pgarchive.rclone.configFile).
                '';
              }
              {
                assertion = target.remote == null || cfg.rclone.configFile != null;
                message = ''
                  services.pgarchive.targets.${name}.remote needs services.pgarchive.rclone.configFile.
                '';
              }
            ]) cfg.targets
          );

        warnings =
          lib.optional (pgb.enable && cfg.databases == [ ]) ''
            services.pgarchive is enabled but services.pgarchive.databases is empty: nothing is pushed.
          ''
          ++ lib.optional (cfg.drill.enable && cfg.databases == [ "all" ]) ''
            services.pgarchive.drill.enable: the only database is "all" (services.postgresqlBackup.backupAll),
            whose pg_dumpall archives a drill skips: it cannot restore them into one scratch database.
            services.pgarchive.verify with services.pgarchive.drill.identityFile reads them instead.
          ''
          ++ lib.optional (cfg.metrics.textfile != null && !lib.hasSuffix ".prom" (toString cfg.metrics.textfile)) ''
            services.pgarchive.metrics.textfile is ${toString cfg.metrics.textfile}: node_exporter's
            textfile collector reads only files ending in .prom.
          '';


        # The configuration as the options give it; the host paths of
        # secrets stay as given (the units load them as credentials).
        services.pgarchive.settings = lib.mkMerge [
          (table {
            dump_dir = toString pgb.location;
            inherit (pgb) compression;
            inherit (cfg) host;
            max_dump_age = cfg.maxDumpAge;
            stall_timeout = cfg.stallTimeout;
            prune_on_host = cfg.pruneOnHost;
          })
          {
            encryption = table {
              inherit (cfg.encryption) recipients;
              recipients_file = lib.mapNullable toString cfg.encryption.recipientsFile;
              passphrase_file = lib.mapNullable toString cfg.encryption.passphraseFile;
            };
            targets = lib.mapAttrs (
              _: target:
              table {
                inherit (target)
                  type
                  remote
                  path
                  options
                  ;
                secret_files = lib.mapAttrs (_: toString) target.secretFiles;
                require_mount = if target.requireMount then true else null;
                object_lock = lib.mapNullable (l: { inherit (l) mode days; }) target.objectLock;
              }
            ) cfg.targets;
            rclone = table { config_file = lib.mapNullable toString cfg.rclone.configFile; };
            retention = table {
              keep_last = cfg.retention.keepLast;
              inherit (cfg.retention)
                hourly
                daily
                weekly
                monthly
                yearly
                ;
              incomplete_grace = cfg.retention.incompleteGrace;
            };
            drill = table {
              inherit (cfg.drill) connection queries;
              identity_file = lib.mapNullable toString cfg.drill.identityFile;
              passphrase_file = lib.mapNullable toString cfg.drill.passphraseFile;
              # StateDirectory=pgarchive of the drill unit.
              state_dir = "/var/lib/pgarchive";
            };
            notify = table { urls_file = lib.mapNullable toString cfg.notify.urlsFile; };
            healthcheck = table { url_file = lib.mapNullable toString cfg.healthcheck.urlFile; };
            metrics = table { textfile = lib.mapNullable toString cfg.metrics.textfile; };
            status = table { max_age = cfg.status.maxAge; };
          }
        ];

        environment.systemPackages = [ (if cfg.createWrapper then wrapper else cfg.package) ];
        environment.etc."pgarchive/config.toml".source = configFile;

        # OnFailure=pgarchive-notify@%n.service starts this with the failed
        # unit's full name as the instance (%i, raw: %I would turn the '-'
        # of postgresqlBackup-db1 into '/'). `pgarchive notify` asks
        # systemctl how the unit ended, reads that run's journal lines and
        # sends them to every URL of services.pgarchive.notify.urlsFile;
        # without one (--dry-run) it writes the notice to the journal only.
        #
        # Who it runs as: pgarchive-notify, a system user of its own that
        # owns nothing and can reach no database (not postgres, whose peer
        # authentication would open every database to it), with the
        # systemd-journal group for this unit only: the group lets journalctl
        # read the failed unit's lines (journalctl _SYSTEMD_INVOCATION_ID=...),
        # which other unprivileged users cannot, and grants nothing else (no
        # writing, no unit control). `systemctl show` is a D-Bus property
        # read, open to every user. Not DynamicUser=: dbus-daemon refuses
        # dynamic users since systemd 255 (nixpkgs issue 297756, systemd
        # issue 22737: "Failed to get properties: Transport endpoint is not
        # connected"), which would cost the message the unit's result.
        systemd.services."pgarchive-notify@" = {
          description = "pgarchive failure notice for %i";
          wants = [ "network-online.target" ];
          after = [ "network-online.target" ];
          # systemctl and journalctl, found in PATH by pgarchive notify.
          path = [ config.systemd.package ];
          serviceConfig = {
            Type = "oneshot";
            # %i is a unit name: no quoting needed, and none wanted (it
            # must stay a specifier).
            ExecStart = lib.concatStringsSep " " (
              [
                (utils.escapeSystemdExecArgs [
                  exe
                  "--config"
                  configFile
                  "notify"
                  "--unit"
                ])
                "%i"
              ]
              ++ lib.optional (cfg.notify.urlsFile == null) "--dry-run"
            );
            LoadCredential = credentials.notify;
            TimeoutStartSec = "5min";
            # With --dry-run the notice is pgarchive's standard output:
            # log it as an error, as the failure it reports.
            SyslogLevel = "err";
            User = "pgarchive-notify";
            Group = "pgarchive-notify";
            SupplementaryGroups = [ "systemd-journal" ];
            NoNewPrivileges = true;
            PrivateTmp = true;
            ProtectSystem = "strict";
            ProtectHome = true;
          }
          // (
            if cfg.notify.urlsFile == null then
              {
                PrivateNetwork = true;
                RestrictAddressFamilies = [ "AF_UNIX" ];
              }
            else
              {
                RestrictAddressFamilies = [
                  "AF_UNIX"
                  "AF_INET"
                  "AF_INET6"
                ];
              }
          );
        };

        users.users.pgarchive-notify = {
          isSystemUser = true;
          group = "pgarchive-notify";
          description = "pgarchive failure notifier";
        };
        users.groups.pgarchive-notify = { };

        systemd.services.pgarchive-prune = lib.mkIf cfg.prune.enable (mkJobService {
          description = "pgarchive prune: delete archives services.pgarchive.retention does not keep";
          args = [ "prune" ];
          loadCredential = credentials.targets ++ credentials.healthcheck;
          # prune deletes from local targets. "-": a path that is missing
          # (a disk not mounted, nothing pushed yet) must not keep the unit
          # from starting; prune then reports the target.
          readWritePaths = lib.mapAttrsToList (_: t: "-${t.path}") (
            lib.filterAttrs (_: t: t.type == "local" && lib.hasPrefix "/" t.path) cfg.targets
          );
        });
        systemd.timers.pgarchive-prune = lib.mkIf cfg.prune.enable (
          mkTimer "pgarchive prune" cfg.prune.startAt
        );

        # The roles, once per backup run: a unit of its own, since one
        # `push --globals` per dump unit would race for the same lock.
        systemd.services.pgarchive-globals = lib.mkIf (cfg.globals.enable && !pgb.backupAll) (
          lib.mkMerge [
            (mkJobService {
              description = "pgarchive: archive the cluster's roles (pg_dumpall --globals-only)";
              args = [
                "push"
                "--globals"
              ];
              loadCredential = credentials.targets ++ credentials.encryption ++ credentials.healthcheck;
              path = [ config.services.postgresql.package ];
              # push takes its lock in dump_dir and writes to local targets.
              readWritePaths = [ "-${toString pgb.location}" ] ++ lib.mapAttrsToList (_: t: "-${t.path}") (
                lib.filterAttrs (_: t: t.type == "local" && lib.hasPrefix "/" t.path) cfg.targets
              );
            })
            (lib.mkIf config.services.postgresql.enable {
              wants = [ "postgresql.target" ];
              after = [ "postgresql.target" ];
            })
          ]
        );
        systemd.timers.pgarchive-globals = lib.mkIf (cfg.globals.enable && !pgb.backupAll) (
          mkTimer "pgarchive globals" pgb.startAt
        );

        systemd.services.pgarchive-verify = lib.mkIf cfg.verify.enable (mkJobService {
          description = "pgarchive verify: check archives against their manifests";
          args = [
            "verify"
            "--sample"
            (toString cfg.verify.sample)
          ];
          loadCredential = credentials.targets ++ credentials.healthcheck ++ credentials.drill;
          # pg_restore reads custom-format dumps through.
          path = [ config.services.postgresql.package ];
        });
        systemd.timers.pgarchive-verify = lib.mkIf cfg.verify.enable (
          mkTimer "pgarchive verify" cfg.verify.startAt
        );

        # The drill creates and drops pgarchive_drill_<db> on the local
        # server over its Unix socket, as the postgres role (peer
        # authentication), with psql and pg_restore of the server's
        # package, and keeps its records in StateDirectory (drill.state_dir).
        systemd.services.pgarchive-drill = lib.mkIf cfg.drill.enable (
          lib.mkMerge [
            (mkJobService {
              description = "pgarchive drill: restore archives into a scratch database and check them";
              args = [
                "drill"
                "--age"
                (toString cfg.drill.age)
              ];
              loadCredential = credentials.targets ++ credentials.healthcheck ++ credentials.drill;
              path = [ config.services.postgresql.package ];
            })
            {
              # /var/lib/pgarchive, owned by postgres.
              serviceConfig.StateDirectory = "pgarchive";
              serviceConfig.StateDirectoryMode = "0700";
            }
            (lib.mkIf (config.services.postgresql.enable && cfg.drill.connection == null) {
              wants = [ "postgresql.target" ];
              after = [ "postgresql.target" ];
            })
          ]
        );
        systemd.timers.pgarchive-drill = lib.mkIf cfg.drill.enable (
          mkTimer "pgarchive drill" cfg.drill.startAt
        );

        # The metrics directory, writable by the postgres group: the jobs
        # (all running as postgres) replace the textfile by renaming a
        # temporary file over it and keep <textfile>.state.json and .lock
        # beside it, which takes write access to the directory. node_exporter
        # reads the *.prom files (0644) and skips the others.
        systemd.tmpfiles.rules = lib.optional (metricsDir != null) "d ${metricsDir} 0775 root postgres - -";
      }

      (lib.mkIf pgb.enable {
        systemd.services = lib.listToAttrs (
          map (
            db:
            lib.nameValuePair (unitFor db) {
              wants = [ "network-online.target" ];
              after = [ "network-online.target" ];
              onFailure = [ "pgarchive-notify@%n.service" ];
              serviceConfig = {
                ExecStartPost = [
                  (utils.escapeSystemdExecArgs [
                    exe
                    "--config"
                    configFile
                    "push"
                    "--database"
                    db
                  ])
                ];
                LoadCredential = credentials.targets ++ credentials.encryption ++ credentials.healthcheck;
                # The unit is nixpkgs': a host may set its own limit.
                TimeoutStartSec = lib.mkDefault cfg.timeoutStartSec;
                # push reports progress (STATUS=, bytes so far) for
                # `systemctl status`; it is not the unit's main process.
                NotifyAccess = lib.mkDefault "all";

                # Hardening that leaves pg_dump and the push working. No
                # mount-namespace options here (PrivateTmp, ProtectSystem,
                # ProtectHome, ReadWritePaths): with a mount namespace,
                # systemd 252 gives ExecStartPost no access to the unit's
                # credentials, so every push with a secret failed
                # (tests/systemd_credentials_test.go boots a real systemd
                # and checks this shape). The prune, verify and drill units
                # run pgarchive as ExecStart and keep the full set.
                NoNewPrivileges = lib.mkDefault true;
                RestrictAddressFamilies = lib.mkDefault [
                  "AF_UNIX"
                  "AF_INET"
                  "AF_INET6"
                ];
              };
            }
          ) cfg.databases
        );
      })
    ]
  );
}
