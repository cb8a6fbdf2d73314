# Evaluates services.pgarchive (nix/module.nix) with lib.evalModules beside
# stand-ins for the NixOS options it touches (nixos-stubs.nix, fake-pkgs.nix)
# and reports, per case, what a NixOS system would get: the rendered TOML
# settings, the unit lines it adds, /etc files, and the assertions that
# fail. Needs only nixpkgs' lib; no store writes, no builds.
#
#   NIXPKGS_LIB=/path/to/nixpkgs.lib nix-instantiate --eval --strict --json tests/nix/eval.nix
#
# NIXPKGS_LIB is a checkout of nix-community/nixpkgs.lib (or nixpkgs): the
# directory holding lib/, or lib/ itself. tests/nix/nixeval_test.go asserts
# on the output; selfCheck lists what this file itself finds wrong, and is
# what the flake's checks.<system>.module-eval requires to be empty.
{
  lib ?
    let
      dir = builtins.getEnv "NIXPKGS_LIB";
      root = /. + dir;
    in
    if dir == "" then
      throw "set NIXPKGS_LIB to a checkout of nix-community/nixpkgs.lib"
    else if builtins.pathExists (root + "/lib/default.nix") then
      import (root + "/lib")
    else
      import root,
  module ? ../../nix/module.nix,
}:
let
  pkgs = import ./fake-pkgs.nix { inherit lib; };

  # X25519 recipient of the VM tests' throwaway identity
  # (nix/tests/keys/age-identity.txt), and a made-up post-quantum one: the
  # module only looks at the prefix.
  x25519 = "age1gzs6xs3e067u7cy9e5ff4g55ekfde923l65wxa7cr09lv4axvcxqpgh4pt";
  pq = "age1pq1" + lib.concatStrings (lib.genList (_: "q") 60);

  # sops-nix's secret paths, reduced to their default.
  sopsStub =
    { lib, ... }:
    {
      options.sops.secrets = lib.mkOption {
        type = lib.types.attrsOf (
          lib.types.submodule (
            { name, ... }:
            {
              options.path = lib.mkOption {
                type = lib.types.str;
                default = "/run/secrets/${name}";
              };
            }
          )
        );
        default = { };
      };
    };

  # The example of issue 3, as a user writes it.
  example =
    { config, ... }:
    {
      sops.secrets."b2/id" = { };
      sops.secrets."b2/key" = { };
      services.postgresqlBackup = {
        enable = true;
        databases = [
          "db1"
          "db2"
        ];
        startAt = "*-*-* *:15:00";
      };
      services.pgarchive = {
        enable = true;
        encryption.recipients = [ x25519 ];
        targets.backblaze = {
          type = "s3";
          path = "bucket1/databases";
          options = {
            provider = "Other";
            endpoint = "https://s3.eu-central-003.backblazeb2.com";
          };
          secretFiles = {
            access_key_id = config.sops.secrets."b2/id".path;
            secret_access_key = config.sops.secrets."b2/key".path;
          };
        };
        targets.nas = {
          type = "sftp";
          path = "pg";
          options = {
            host = "heim-nas";
            user = "backup";
            port = 22;
          };
          secretFiles.key_file = "/run/secrets/nas_ssh";
        };
      };
    };

  evalCase =
    modules:
    (lib.evalModules {
      modules = [
        ./nixos-stubs.nix
        sopsStub
        module
        { _module.args.pkgs = pkgs; }
      ]
      ++ modules;
    }).config;

  toOption =
    x:
    if x == true then
      "true"
    else if x == false then
      "false"
    else
      toString x;
  sectionLines =
    attrs:
    lib.concatLists (
      lib.mapAttrsToList (key: value: map (x: "${key}=${toOption x}") (lib.toList value)) (
        lib.filterAttrs (_: v: v != "" && v != [ ]) attrs
      )
    );

  # The [Unit] and [Service] lines NixOS would write for a service, for the
  # keys this module sets (nixos/lib/systemd-lib.nix renders the same way).
  unitReport = svc: {
    unit = sectionLines (
      {
        Description = svc.description;
        Wants = lib.concatStringsSep " " svc.wants;
        After = lib.concatStringsSep " " svc.after;
        Requires = lib.concatStringsSep " " svc.requires;
        OnFailure = lib.concatStringsSep " " svc.onFailure;
      }
      // svc.unitConfig
    );
    service = sectionLines svc.serviceConfig;
    inherit (svc) script scriptArgs;
  };

  report =
    config:
    let
      pa = config.services.pgarchive;
    in
    {
      failedAssertions = map (a: a.message) (lib.filter (a: !a.assertion) config.assertions);
      inherit (config) warnings;
      units = lib.mapAttrs (_: unitReport) (
        lib.filterAttrs (
          name: _: lib.hasPrefix "postgresqlBackup" name || lib.hasPrefix "pgarchive" name
        ) config.systemd.services
      );
      etc = lib.mapAttrs (_: e: toString e.source) config.environment.etc;
      systemPackages = map toString config.environment.systemPackages;
      systemdPackage = toString config.systemd.package;
    }
    // lib.optionalAttrs pa.enable {
      inherit (pa) renderedSettings;
      configFiles = lib.mapAttrs (_: f: {
        path = toString f;
        # The build-time check: present when the file is the output of
        # `pgarchive check-config`.
        buildCommand = f.buildCommand or null;
      }) pa.configFiles;
    };

  # Configurations that must evaluate without a failed assertion.
  good = {
    example = [ example ];

    backupAll = [
      {
        services.postgresqlBackup = {
          enable = true;
          compression = "zstd";
          location = "/srv/pgdump";
        };
        services.pgarchive = {
          enable = true;
          host = "db-prod-1";
          timeoutStartSec = "2h";
          encryption.passphraseFile = "/run/agenix/pgarchive-passphrase";
          rclone.configFile = "/run/agenix/rclone.conf";
          targets.offsite.remote = "offsite:pg";
          targets.usb = {
            type = "local";
            path = "/mnt/usb/pg";
          };
          settings.max_dump_age = "90m";
        };
      }
    ];

    # The targets the VM tests (nix/tests) push to, so their rclone options
    # meet check-config here too.
    vmTests =
      let
        common = import ../../nix/tests/common.nix { module = { }; };
      in
      [
        {
          services.postgresqlBackup = {
            enable = true;
            databases = [
              "db1"
              "db2"
            ];
          };
          services.pgarchive = {
            enable = true;
            encryption.recipients = [ x25519 ];
            targets = {
              nas = common.nasTarget;
              garage = common.garageTarget;
              offsite = common.downTarget;
            };
          };
        }
      ];

    subset = [
      example
      {
        services.pgarchive.databases = [ "db2" ];
        services.pgarchive.checkConfig = false;
      }
    ];
  };

  # Typos the module cannot know about: they evaluate, and the build-time
  # `pgarchive check-config` must reject the rendered file. nixeval_test.go
  # checks the first with internal/config.Parse and both with the real
  # binary (rclone option names are checked there).
  rejectedAtBuild = {
    settingsKeyTypo = [
      example
      { services.pgarchive.settings.max_dump_agee = "2h"; }
    ];
    rcloneOptionTypo = [
      example
      { services.pgarchive.targets.backblaze.options.endpointt = "https://example.org"; }
    ];
  };

  # Bad inputs: each must fail an assertion whose message contains `expect`.
  bad = {
    noPostgresqlBackup = {
      modules = [
        example
        { services.postgresqlBackup.enable = lib.mkForce false; }
      ];
      expect = "requires services.postgresqlBackup.enable = true";
    };
    noTargets = {
      modules = [
        example
        { services.pgarchive.targets = lib.mkForce { }; }
      ];
      expect = "services.pgarchive.targets is empty";
    };
    recipientsAndPassphrase = {
      modules = [
        example
        { services.pgarchive.encryption.passphraseFile = "/run/secrets/pass"; }
      ];
      expect = "or services.pgarchive.encryption.passphraseFile, not both";
    };
    noEncryption = {
      modules = [
        example
        { services.pgarchive.encryption.recipients = lib.mkForce [ ]; }
      ];
      expect = "encryption: set services.pgarchive.encryption.recipients";
    };
    postQuantumMix = {
      modules = [
        example
        { services.pgarchive.encryption.recipients = [ pq ]; }
      ];
      expect = "services.pgarchive.encryption.recipients mixes post-quantum recipients";
    };
    unknownDatabase = {
      modules = [
        example
        { services.pgarchive.databases = [ "db3" ]; }
      ];
      expect = ''services.pgarchive.databases contains "db3"'';
    };
    typeAndRemote = {
      modules = [
        example
        { services.pgarchive.targets.nas.remote = "nas:pg"; }
      ];
      expect = "services.pgarchive.targets.nas: set exactly one of";
    };
    remoteWithoutRcloneConfig = {
      modules = [
        example
        { services.pgarchive.targets.offsite.remote = "offsite:pg"; }
      ];
      expect = "services.pgarchive.targets.offsite.remote needs services.pgarchive.rclone.configFile";
    };
    badTargetName = {
      modules = [
        example
        { services.pgarchive.targets."my nas".type = "local"; }
      ];
      expect = ''services.pgarchive.targets."my nas": a target name is'';
    };
  };

  # Bad inputs the option types refuse: evaluation itself must fail.
  typeErrors = {
    secretInStore = {
      services.pgarchive.targets.nas.secretFiles.key_file = lib.mkForce "/nix/store/00000000000000000000000000000000-nas_ssh";
    };
    secretRelative = {
      services.pgarchive.targets.nas.secretFiles.key_file = lib.mkForce "secrets/nas_ssh";
    };
    secretNixPathLiteral = {
      services.pgarchive.encryption.passphraseFile = ./eval.nix;
      services.pgarchive.encryption.recipients = lib.mkForce [ ];
    };
    optionValueList = {
      services.pgarchive.targets.nas.options.host = lib.mkForce [ "a" ];
    };
  };

  goodReports = lib.mapAttrs (_: modules: report (evalCase modules)) good;
  rejectedReports = lib.mapAttrs (_: modules: report (evalCase modules)) rejectedAtBuild;
  badReports = lib.mapAttrs (_: c: report (evalCase c.modules)) bad;
  typeErrorReports = lib.mapAttrs (
    _: m:
    let
      config = evalCase [
        example
        m
      ];
      forced = builtins.tryEval (builtins.deepSeq config.services.pgarchive.renderedSettings true);
    in
    {
      evaluates = forced.success;
    }
  ) typeErrors;

  selfCheck =
    lib.concatLists (
      lib.mapAttrsToList (
        name: r:
        map (m: "good case ${name}: assertion failed: ${m}") r.failedAssertions
        ++ map (w: "good case ${name}: warning: ${w}") r.warnings
      ) (goodReports // rejectedReports)
    )
    ++ lib.concatLists (
      lib.mapAttrsToList (
        name: r:
        lib.optional (!lib.any (lib.hasInfix bad.${name}.expect) r.failedAssertions) "bad case ${name}: no failed assertion contains ${builtins.toJSON bad.${name}.expect} (failed: ${builtins.toJSON r.failedAssertions})"
      ) badReports
    )
    ++ lib.concatLists (
      lib.mapAttrsToList (
        name: r: lib.optional r.evaluates "type error case ${name}: evaluated, but the option type should refuse it"
      ) typeErrorReports
    );
in
{
  libVersion = lib.version or "unknown";
  good = goodReports;
  rejectedAtBuild = rejectedReports;
  bad = lib.mapAttrs (name: r: r // { inherit (bad.${name}) expect; }) badReports;
  typeErrors = typeErrorReports;
  inherit selfCheck;
}
