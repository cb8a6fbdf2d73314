# Stand-ins for the parts of NixOS that services.pgarchive reads and sets,
# so the module can be evaluated with lib.evalModules and nothing but
# nixpkgs' lib. Types and merge rules follow NixOS where the result depends
# on them (systemd unit options concatenate lists and require equal
# scalars; services.postgresqlBackup has nixpkgs' types and defaults and
# makes its units the same way). Nothing here builds: derivations are
# attribute sets with a made-up store path.
{ lib, config, ... }:
let
  inherit (lib) mkOption types;

  # nixos/lib/systemd-unit-options.nix: lists concatenate, anything else
  # must be defined once or equally.
  unitOption = lib.mkOptionType {
    name = "systemd option";
    merge =
      loc: defs:
      let
        defs' = lib.filterOverrides defs;
      in
      if lib.any (def: lib.isList def.value) defs' then
        lib.concatMap (def: lib.toList def.value) defs'
      else
        lib.mergeEqualOption loc defs';
  };

  listOfStr = mkOption {
    type = types.listOf types.str;
    default = [ ];
  };

  serviceModule =
    { name, ... }:
    {
      options = {
        enable = mkOption {
          type = types.bool;
          default = true;
        };
        description = mkOption {
          type = types.str;
          default = "";
        };
        wants = listOfStr;
        after = listOfStr;
        requires = listOfStr;
        wantedBy = listOfStr;
        # NixOS: listOf unitNameType, rendered as OnFailure= in [Unit].
        onFailure = mkOption {
          type = types.listOf (
            types.strMatching "[a-zA-Z0-9@%:_.\\-]+[.](service|socket|device|mount|automount|swap|target|path|timer|scope|slice)"
          );
          default = [ ];
        };
        path = mkOption {
          type = types.listOf (types.either types.package types.str);
          default = [ ];
        };
        environment = mkOption {
          type = types.attrsOf types.str;
          default = { };
        };
        script = mkOption {
          type = types.lines;
          default = "";
        };
        scriptArgs = mkOption {
          type = types.str;
          default = "";
        };
        startAt = mkOption {
          type = types.either types.str (types.listOf types.str);
          default = [ ];
        };
        unitConfig = mkOption {
          type = types.attrsOf unitOption;
          default = { };
        };
        serviceConfig = mkOption {
          type = types.attrsOf unitOption;
          default = { };
        };
      };
    };

  # nixos/lib/systemd-unit-options.nix, a timer's options this module sets.
  timerModule = {
    options = {
      description = mkOption {
        type = types.str;
        default = "";
      };
      wantedBy = listOfStr;
      timerConfig = mkOption {
        type = types.attrsOf unitOption;
        default = { };
      };
    };
  };

  fakeStorePath = name: "/nix/store/${builtins.substring 0 32 (builtins.hashString "sha256" name)}-${name}";

  pgb = config.services.postgresqlBackup;

  # nixos/modules/services/backup/postgresql-backup.nix, reduced to what
  # the unit looks like from outside.
  postgresqlBackupService = db: dumpCmd: {
    description = "Backup of ${db} database(s)";
    requires = [ "postgresql.target" ];
    script = ''
      ${dumpCmd} > ${toString pgb.location}/${db}.sql
    '';
    serviceConfig = {
      Type = "oneshot";
      User = "postgres";
    };
    startAt = pgb.startAt;
  };
in
{
  options = {
    assertions = mkOption {
      type = types.listOf types.unspecified;
      default = [ ];
    };
    warnings = mkOption {
      type = types.listOf types.str;
      default = [ ];
    };

    environment.systemPackages = mkOption {
      type = types.listOf types.package;
      default = [ ];
    };
    environment.etc = mkOption {
      type = types.attrsOf (
        types.submodule {
          options = {
            source = mkOption { type = types.path; };
            mode = mkOption {
              type = types.str;
              default = "symlink";
            };
          };
        }
      );
      default = { };
    };

    # nixos/modules/config/users-groups.nix, the options set here.
    users.users = mkOption {
      type = types.attrsOf (
        types.submodule {
          options = {
            isSystemUser = mkOption {
              type = types.bool;
              default = false;
            };
            group = mkOption {
              type = types.str;
              default = "";
            };
            description = mkOption {
              type = types.str;
              default = "";
            };
          };
        }
      );
      default = { };
    };
    users.groups = mkOption {
      type = types.attrsOf (types.submodule { });
      default = { };
    };

    systemd.package = mkOption {
      type = types.package;
      default = {
        type = "derivation";
        name = "systemd-stub";
        outPath = fakeStorePath "systemd-stub";
      };
    };
    systemd.services = mkOption {
      type = types.attrsOf (types.submodule serviceModule);
      default = { };
    };
    systemd.timers = mkOption {
      type = types.attrsOf (types.submodule timerModule);
      default = { };
    };
    systemd.tmpfiles.rules = mkOption {
      type = types.listOf types.str;
      default = [ ];
    };

    # nixos/modules/services/databases/postgresql.nix: the options read
    # here, and one README's host sets.
    services.postgresql = {
      enable = lib.mkEnableOption "PostgreSQL";
      # Set by README.md's host.nix.
      ensureDatabases = mkOption {
        type = types.listOf types.str;
        default = [ ];
      };
      package = mkOption {
        type = types.package;
        default = {
          type = "derivation";
          name = "postgresql-stub";
          outPath = fakeStorePath "postgresql-stub";
        };
      };
    };

    services.postgresqlBackup = {
      enable = lib.mkEnableOption "PostgreSQL dumps";
      startAt = mkOption {
        default = "*-*-* 01:15:00";
        type = types.either (types.listOf types.str) types.str;
      };
      backupAll = mkOption {
        default = pgb.databases == [ ];
        type = types.bool;
      };
      databases = mkOption {
        default = [ ];
        type = types.listOf types.str;
      };
      location = mkOption {
        default = "/var/backup/postgresql";
        type = types.path;
      };
      pgdumpOptions = mkOption {
        type = types.separatedString " ";
        default = "-C";
      };
      compression = mkOption {
        type = types.enum [
          "none"
          "gzip"
          "zstd"
        ];
        default = "gzip";
      };
      compressionLevel = mkOption {
        type = types.ints.between 1 19;
        default = 6;
      };
    };
  };

  config = lib.mkIf pgb.enable {
    systemd.services = lib.mkMerge [
      (lib.mkIf pgb.backupAll {
        postgresqlBackup = postgresqlBackupService "all" "pg_dumpall";
      })
      (lib.mkIf (!pgb.backupAll) (
        lib.listToAttrs (
          map (db: {
            name = "postgresqlBackup-${db}";
            value = postgresqlBackupService db "pg_dump ${pgb.pgdumpOptions} ${db}";
          }) pgb.databases
        )
      ))
    ];
  };
}
