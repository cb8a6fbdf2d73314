# services.pgarchive: ship the dumps that services.postgresqlBackup makes to
# several places at once, encrypted with age.
#
# The module does not add a unit of its own for the work: it extends the
# dump units of nixpkgs (postgresqlBackup-<db>, or postgresqlBackup with
# backupAll) so that `pgarchive push` runs as their ExecStartPost, as the same
# user (postgres), right after pg_dump finished. A failed dump or push fails
# that unit, and OnFailure starts pgarchive-notify@<unit>.
#
# Secrets never enter the store. The options take paths; the rendered TOML
# names files under the unit's credentials directory, which systemd fills
# from those paths (LoadCredential), so root-only secrets (sops-nix, agenix)
# reach the postgres user without being made readable to it.
{
  config,
  lib,
  pkgs,
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

  unitFor = db: if pgb.backupAll then "postgresqlBackup" else "postgresqlBackup-${db}";

  # The same quoting as nixpkgs' utils.escapeSystemdExecArgs: systemd reads
  # C-style double-quoted words and expands % specifiers and $ variables.
  escapeExecArg = arg: lib.replaceStrings [ "%" "$" ] [ "%%" "$$" ] (builtins.toJSON (toString arg));
  escapeExecArgs = args: lib.concatMapStringsSep " " escapeExecArg args;

  # Every secret path, with the credential id it is loaded under. Ids are
  # the dotted TOML key of the value (target names and rclone option names
  # cannot contain ':' or '/', which LoadCredential and file names forbid;
  # see the assertion on target names).
  credentials =
    lib.concatLists (
      lib.mapAttrsToList (
        name: target:
        lib.mapAttrsToList (option: path: {
          id = "target.${name}.${option}";
          inherit path;
        }) target.secretFiles
      ) cfg.targets
    )
    ++ lib.optional (cfg.encryption.recipientsFile != null) {
      id = "encryption.recipients_file";
      path = cfg.encryption.recipientsFile;
    }
    ++ lib.optional (cfg.encryption.passphraseFile != null) {
      id = "encryption.passphrase_file";
      path = cfg.encryption.passphraseFile;
    }
    ++ lib.optional (cfg.rclone.configFile != null) {
      id = "rclone.config_file";
      path = cfg.rclone.configFile;
    };

  # TOML has no null: leave out what is unset.
  dropEmpty = lib.filterAttrs (_: v: v != null && v != "" && v != [ ] && v != { });

  # The settings as the binary sees them. credDir is the directory secret
  # paths are rewritten into, or null to keep the host paths.
  #
  # Why one file per unit: a credential's path is
  # /run/credentials/<unit>/<id>, so it differs between postgresqlBackup-db1
  # and postgresqlBackup-db2, and the config file is in the store, shared by
  # every reader. The binary takes paths literally (config.Validate wants
  # absolute paths, with no $CREDENTIALS_DIRECTORY expansion), so each dump
  # unit gets its own rendering with its own directory; the files differ only
  # in those paths and are a few hundred bytes each. A `%d` in the file would
  # not help either: systemd expands specifiers on command lines, not in
  # files the program reads.
  mkSettings =
    credDir:
    let
      secret = id: path: if credDir == null then toString path else "${credDir}/${id}";
    in
    lib.recursiveUpdate (dropEmpty {
      dump_dir = toString pgb.location;
      compression = pgb.compression;
      host = cfg.host;
      max_dump_age = cfg.maxDumpAge;
      encryption = dropEmpty {
        recipients = cfg.encryption.recipients;
        recipients_file = lib.mapNullable (secret "encryption.recipients_file") cfg.encryption.recipientsFile;
        passphrase_file = lib.mapNullable (secret "encryption.passphrase_file") cfg.encryption.passphraseFile;
      };
      targets = lib.mapAttrs (
        name: target:
        dropEmpty {
          inherit (target)
            type
            remote
            path
            options
            ;
          secret_files = lib.mapAttrs (option: secret "target.${name}.${option}") target.secretFiles;
        }
      ) cfg.targets;
      rclone = dropEmpty {
        config_file = lib.mapNullable (secret "rclone.config_file") cfg.rclone.configFile;
      };
    }) cfg.settings;

  # Keyed by reader: each dump unit, and /etc/pgarchive/config.toml (for
  # `pgarchive list` and `pgarchive restore` run by an administrator as
  # root), which keeps the host paths as given.
  etcKey = "etc/pgarchive/config.toml";
  allSettings =
    lib.listToAttrs (
      map (
        db:
        let
          unit = "${unitFor db}.service";
        in
        lib.nameValuePair unit (mkSettings "/run/credentials/${unit}")
      ) cfg.databases
    )
    // {
      ${etcKey} = mkSettings null;
    };

  # The rendered file, checked by the binary at build time: the unit uses
  # the output of the check, so a config the binary rejects fails the system
  # build instead of the first run. check-config reads no secret file and
  # does no network access, so it works in the build sandbox.
  mkConfigFile =
    key: settings:
    let
      fileName = lib.strings.sanitizeDerivationName (
        if key == etcKey then "pgarchive.toml" else "pgarchive-${lib.removeSuffix ".service" key}.toml"
      );
      rendered = settingsFormat.generate fileName settings;
    in
    if cfg.checkConfig then
      pkgs.runCommand fileName
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

  configFiles = lib.mapAttrs mkConfigFile allSettings;

  isPostQuantum = r: lib.hasPrefix "age1pq1" r || lib.hasPrefix "age1tagpq1" r;
  pqRecipients = lib.filter isPostQuantum cfg.encryption.recipients;
  hasRecipients = cfg.encryption.recipients != [ ] || cfg.encryption.recipientsFile != null;
  hasPassphrase = cfg.encryption.passphraseFile != null;
  dumpedDatabases = if pgb.backupAll then [ "all" ] else pgb.databases;
  targetNameRe = "[A-Za-z0-9][A-Za-z0-9._-]*";
  localTargetPaths = lib.mapAttrsToList (_: t: t.path) (
    lib.filterAttrs (_: t: t.type == "local" && lib.hasPrefix "/" t.path) cfg.targets
  );

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
            (an SFTP `key_file`, S3 keys, passwords). The files are handed to
            the dump unit with `LoadCredential`, so they may stay readable by
            root only.
          '';
        };
      };
    };
in
{
  options.services.pgarchive = {
    enable = lib.mkEnableOption "pushing services.postgresqlBackup's dumps, encrypted with age, to every target after each dump";

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
        failed, so a hung upload cannot silently block the next dumps.
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

    settings = lib.mkOption {
      type = settingsFormat.type;
      default = { };
      example = {
        max_dump_age = "3h";
      };
      description = ''
        Further keys of pgarchive's TOML configuration, merged over what the
        options above render. Values are written to the store as they are:
        paths here are not turned into credentials.
      '';
    };

    renderedSettings = lib.mkOption {
      type = lib.types.attrsOf settingsFormat.type;
      internal = true;
      readOnly = true;
      description = ''
        The configuration as rendered to TOML, by reader:
        `etc/pgarchive/config.toml`, and one entry per dump unit
        (`postgresqlBackup-db1.service`) with the secret paths rewritten
        into that unit's credentials directory. For tests and debugging.
      '';
    };

    configFiles = lib.mkOption {
      type = lib.types.attrsOf lib.types.path;
      internal = true;
      readOnly = true;
      description = ''
        The checked configuration files, keyed as
        {option}`services.pgarchive.renderedSettings`.
      '';
    };
  };

  config = lib.mkIf cfg.enable (
    lib.mkMerge [
      {
        assertions = [
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
            assertion = !(hasRecipients && hasPassphrase);
            message = ''
              services.pgarchive.encryption: set either services.pgarchive.encryption.recipients
              (or recipientsFile) or services.pgarchive.encryption.passphraseFile, not both.
            '';
          }
          {
            assertion = hasRecipients || hasPassphrase;
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
        ]
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
              assertion = builtins.match targetNameRe name != null;
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

        warnings = lib.optional (pgb.enable && cfg.databases == [ ]) ''
          services.pgarchive is enabled but services.pgarchive.databases is empty: nothing is pushed.
        '';

        services.pgarchive.renderedSettings = allSettings;
        services.pgarchive.configFiles = configFiles;

        environment.systemPackages = [ cfg.package ];
        environment.etc."pgarchive/config.toml".source = configFiles.${etcKey};

        # OnFailure=pgarchive-notify@%n.service starts this with the failed
        # unit's full name as the instance. For now it logs which unit failed
        # and how; the observability issue replaces the script with
        # `pgarchive notify --unit`.
        systemd.services."pgarchive-notify@" = {
          description = "pgarchive failure notice for %i";
          scriptArgs = "%i";
          script = ''
            unit="$1"
            systemctl=${config.systemd.package}/bin/systemctl
            result=$("$systemctl" show --property=Result --value -- "$unit")
            status=$("$systemctl" show --property=ExecMainStatus --value -- "$unit")
            # <3>: journal priority "err" (SyslogLevelPrefix=yes).
            echo "<3>pgarchive: $unit failed: result=$result, main exit status=$status; see journalctl -u $unit"
          '';
          serviceConfig = {
            Type = "oneshot";
            SyslogIdentifier = "pgarchive-notify";
            DynamicUser = true;
            NoNewPrivileges = true;
            PrivateTmp = true;
            ProtectSystem = "strict";
            ProtectHome = true;
            PrivateNetwork = true;
            RestrictAddressFamilies = [ "AF_UNIX" ];
          };
        };
      }

      (lib.mkIf pgb.enable {
        systemd.services = lib.listToAttrs (
          map (
            db:
            let
              unit = unitFor db;
              configFile = configFiles."${unit}.service";
            in
            lib.nameValuePair unit {
              wants = [ "network-online.target" ];
              after = [ "network-online.target" ];
              onFailure = [ "pgarchive-notify@%n.service" ];
              serviceConfig = {
                ExecStartPost = [
                  (escapeExecArgs [
                    (lib.getExe cfg.package)
                    "--config"
                    configFile
                    "push"
                    "--database"
                    db
                  ])
                ];
                LoadCredential = map (c: "${c.id}:${toString c.path}") credentials;
                TimeoutStartSec = cfg.timeoutStartSec;

                # Hardening that leaves pg_dump working: it talks to the
                # server over the Unix socket or TCP and writes only to the
                # dump directory.
                NoNewPrivileges = lib.mkDefault true;
                PrivateTmp = lib.mkDefault true;
                ProtectSystem = lib.mkDefault "strict";
                # The dump directory, and the directories of local targets
                # (a second disk, a NAS mount): pgarchive writes there.
                ReadWritePaths = [ (toString pgb.location) ] ++ localTargetPaths;
                ProtectHome = lib.mkDefault true;
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
