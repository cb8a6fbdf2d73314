# Evaluates services.pgarchive (nix/module.nix) with lib.evalModules beside
# stand-ins for the NixOS options it touches (nixos-stubs.nix, fake-pkgs.nix)
# and reports, per case, what a NixOS system would get: the settings
# rendered to /etc/pgarchive/config.toml (and how that file is checked), the
# unit lines it adds, /etc files, and the assertions that fail. Needs only
# nixpkgs' lib; no store writes, no builds.
#
#   NIXPKGS_LIB=/path/to/nixpkgs.lib nix-instantiate --eval --strict --json tests/nix/eval.nix
#
# NIXPKGS_LIB is a checkout of nix-community/nixpkgs.lib (or nixpkgs): the
# directory holding lib/, or lib/ itself. tests/nix/nixeval_test.go asserts
# on the output; selfCheck lists what this file itself finds wrong, and is
# what the flake's checks.<system>.module-eval requires to be empty.
#
# `readme` is a directory holding the flake.nix, host.nix and agenix.nix
# of README.md's "Use on NixOS", which readme_test.go extracts there; the
# flake's outputs are then evaluated with stand-ins for its inputs, and
# the host it defines is the good case `readme`.
{
  lib ? import ./nixpkgs-lib.nix,
  module ? ../../nix/module.nix,
  readme ? null,
}:
let
  pkgs = import ./fake-pkgs.nix { inherit lib; };

  # X25519 recipient of the VM tests' throwaway identity
  # (nix/tests/keys/age-identity.txt), and a made-up post-quantum one: the
  # module only looks at the prefix.
  x25519 = "age1gzs6xs3e067u7cy9e5ff4g55ekfde923l65wxa7cr09lv4axvcxqpgh4pt";
  pq = "age1pq1" + lib.concatStrings (lib.genList (_: "q") 60);

  # sops-nix's options a host sets, reduced to the secret paths' default.
  sopsStub =
    { lib, ... }:
    {
      options.sops.defaultSopsFile = lib.mkOption {
        type = lib.types.nullOr lib.types.path;
        default = null;
      };
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

  # agenix's secrets, reduced to their file and default path.
  agenixStub =
    { lib, ... }:
    {
      options.age.secrets = lib.mkOption {
        type = lib.types.attrsOf (
          lib.types.submodule (
            { name, ... }:
            {
              options.file = lib.mkOption { type = lib.types.path; };
              options.path = lib.mkOption {
                type = lib.types.str;
                default = "/run/agenix/${name}";
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

  # The jobs beside push, every option of issue 3's observability and
  # retention work set, on top of the example.
  observability = {
    sops.secrets."pgarchive-drill-key" = { };
    sops.secrets."pgarchive-notify" = { };
    sops.secrets."pgarchive-ping" = { };
    services.postgresql.enable = true;
    services.pgarchive = {
      retention = {
        keepLast = 3;
        daily = 7;
        weekly = 4;
        monthly = 6;
        incompleteGrace = "48h";
      };
      prune.startAt = "*-*-* 05:30:00";
      verify = {
        enable = true;
        sample = 10;
      };
      drill = {
        enable = true;
        age = 30;
        identityFile = "/run/secrets/pgarchive-drill-key";
        queries = [
          "SELECT count(*) > 0 FROM pg_catalog.pg_tables WHERE schemaname = 'public'"
        ];
      };
      notify.urlsFile = "/run/secrets/pgarchive-notify";
      healthcheck.urlFile = "/run/secrets/pgarchive-ping";
      metrics.textfile = "/var/lib/prometheus-node-exporter-text-files/pgarchive.prom";
      status.maxAge = "26h";
    };
  };

  # A system of the NixOS stand-ins and these modules.
  evalSystem =
    modules:
    (lib.evalModules {
      modules = [
        ./nixos-stubs.nix
        {
          _module.args = {
            inherit pkgs;
            utils = import ./fake-utils.nix { inherit lib; };
          };
        }
      ]
      ++ modules;
    }).config;

  evalCase =
    modules:
    evalSystem (
      [
        sopsStub
        module
      ]
      ++ modules
    );

  # README.md's flake: its inputs as written, and the modules its one
  # nixosConfigurations entry passes to nixosSystem, the inputs' modules
  # being nix/module.nix (the flake's nixosModules.default adds only the
  # package default) and the sops-nix stand-in, each named by its key.
  readmeFlake =
    let
      flake = import (readme + "/flake.nix");
      outputs = flake.outputs {
        self = outputs;
        nixpkgs.lib = lib // {
          nixosSystem = args: args;
        };
        pgarchive.nixosModules.default = {
          key = "pgarchive.nixosModules.default";
          imports = [ module ];
        };
        sops-nix.nixosModules.sops = {
          key = "sops-nix.nixosModules.sops";
          imports = [ sopsStub ];
        };
      };
      systems = lib.attrValues outputs.nixosConfigurations;
    in
    assert lib.assertMsg (lib.length systems == 1) "README flake: want one nixosConfigurations entry";
    {
      inherit (flake) inputs;
      inherit (lib.head systems) modules;
      hostNames = lib.attrNames outputs.nixosConfigurations;
    };

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
    path = map toString svc.path;
  };

  # The [Unit], [Timer] and [Install] lines of a timer.
  timerReport = t: {
    unit = sectionLines { Description = t.description; };
    timer = sectionLines t.timerConfig;
    install = sectionLines { WantedBy = lib.concatStringsSep " " t.wantedBy; };
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
      timers = lib.mapAttrs (_: timerReport) (
        lib.filterAttrs (name: _: lib.hasPrefix "pgarchive" name) config.systemd.timers
      );
      tmpfiles = config.systemd.tmpfiles.rules;
      users = lib.mapAttrs (_: u: { inherit (u) isSystemUser group; }) config.users.users;
      groups = lib.attrNames config.users.groups;
      etc = lib.mapAttrs (_: e: toString e.source) config.environment.etc;
      systemPackages = map toString config.environment.systemPackages;
      # The `pgarchive` command on the PATH when it is a script
      # (services.pgarchive.createWrapper): its bin/ name and file.
      wrapper =
        let
          scripts = lib.filter (p: p ? script) config.environment.systemPackages;
        in
        if scripts == [ ] then
          null
        else
          {
            path = toString (lib.head scripts);
            inherit (lib.head scripts) script;
            mainProgram = (lib.head scripts).meta.mainProgram;
          };
      systemdPackage = toString config.systemd.package;
    }
    // lib.optionalAttrs pa.enable {
      # services.pgarchive.settings, as rendered to TOML.
      inherit (pa) settings;
      package = toString pa.package;
      # /etc/pgarchive/config.toml, which the units name too.
      configFile =
        let
          f = config.environment.etc."pgarchive/config.toml".source;
        in
        {
          path = toString f;
          # The build-time check: present when the file is the output of
          # `pgarchive check-config`.
          buildCommand = f.buildCommand or null;
          # The file pkgs.formats.toml makes of the settings: the one the
          # check runs on and copies.
          rendered = toString ((pkgs.formats.toml { }).generate "pgarchive.toml" pa.settings);
        };
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
          # settings wins over what the options derive.
          maxDumpAge = "2h";
          settings.max_dump_age = "90m";
        };
      }
    ];

    # The targets and job settings of the VM tests (nix/tests), so their
    # rendered configs meet check-config here too.
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
          services.postgresql.enable = true;
          services.pgarchive = lib.mkMerge [
            {
              enable = true;
              encryption.recipients = [ x25519 ];
              targets = {
                nas = common.nasTarget;
                garage = common.garageTarget;
                offsite = common.downTarget;
              };
            }
            common.jobSettings
            common.notifySettings
          ];
        }
      ];

    subset = [
      example
      {
        services.pgarchive.databases = [ "db2" ];
        services.pgarchive.checkConfig = false;
      }
    ];

    # The plain program on the PATH instead of the wrapper.
    noWrapper = [
      example
      { services.pgarchive.createWrapper = false; }
    ];

    observability = [
      example
      observability
    ];

    # A secret path given in settings instead of an option: the units
    # that read it load it as a credential all the same.
    settingsSecret = [
      example
      { services.pgarchive.settings.healthcheck.url_file = "/run/secrets/ping-from-settings"; }
    ];

    # A host that sets the dump unit's own limit, as it may without
    # pgarchive: the module's value gives way instead of conflicting.
    hostTimeout = [
      example
      { systemd.services.postgresqlBackup-db1.serviceConfig.TimeoutStartSec = "12h"; }
    ];

    # A locked S3 target, a local disk that must be mounted, a stall limit.
    lockedAndMounted = [
      example
      {
        services.pgarchive = {
          stallTimeout = "30m";
          targets.backblaze.objectLock = {
            mode = "COMPLIANCE";
            days = 7;
          };
          targets.usb = {
            type = "local";
            path = "/mnt/usb/pg";
            requireMount = true;
          };
        };
      }
    ];

    # prune on a local target (a USB disk): it deletes there.
    localPrune = [
      {
        services.postgresqlBackup.enable = true;
        services.pgarchive = {
          enable = true;
          encryption.recipients = [ x25519 ];
          targets.usb = {
            type = "local";
            path = "/mnt/usb/pg";
          };
          retention.keepLast = 10;
        };
      }
    ];

    # Passphrase mode: drill decrypts with the encryption passphrase by
    # default; an append-only host (pruneOnHost = false) renders its
    # retention for `prune --dry-run` but gets no prune timer; a remote
    # target keeps rclone.config_file in every unit.
    passphraseAppendOnly = [
      {
        services.postgresqlBackup = {
          enable = true;
          databases = [ "db1" ];
        };
        services.pgarchive = {
          enable = true;
          encryption.passphraseFile = "/run/agenix/pgarchive-passphrase";
          rclone.configFile = "/run/agenix/rclone.conf";
          targets.offsite.remote = "offsite:pg";
          pruneOnHost = false;
          retention.daily = 30;
          drill = {
            enable = true;
            connection = "host=/run/postgresql user=postgres";
          };
          verify.enable = true;
          healthcheck.urlFile = "/run/agenix/pgarchive-ping";
        };
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
    # A Go duration the module passes through as a string.
    incompleteGraceNotADuration = [
      example
      {
        services.pgarchive.retention = {
          daily = 7;
          incompleteGrace = "1 day";
        };
      }
    ];
  };

  # Bad inputs: each must fail an assertion whose message contains `expect`.
  bad = {
    lockOnSftp = {
      modules = [
        example
        { services.pgarchive.targets.nas.objectLock.days = 7; }
      ];
      expect = "services.pgarchive.targets.nas.objectLock is set";
    };
    mountOnS3 = {
      modules = [
        example
        { services.pgarchive.targets.backblaze.requireMount = true; }
      ];
      expect = "services.pgarchive.targets.backblaze.requireMount only applies";
    };
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
    drillWithoutIdentity = {
      modules = [
        example
        { services.pgarchive.drill.enable = true; }
      ];
      expect = "services.pgarchive.drill.enable needs services.pgarchive.drill.identityFile";
    };
    drillIdentityAndPassphrase = {
      modules = [
        example
        {
          services.pgarchive.drill.identityFile = "/run/secrets/drill-key";
          services.pgarchive.drill.passphraseFile = "/run/secrets/drill-pass";
        }
      ];
      expect = "services.pgarchive.drill.passphraseFile, not both";
    };
    verifySampleZero = {
      modules = [
        example
        {
          services.pgarchive.verify.enable = true;
          services.pgarchive.verify.sample = 0;
        }
      ];
      expect = "services.pgarchive.verify.sample is 0";
    };
    verifySampleAbove100 = {
      modules = [
        example
        {
          services.pgarchive.verify.enable = true;
          services.pgarchive.verify.sample = 150;
        }
      ];
      expect = "services.pgarchive.verify.sample is 150";
    };
    pruneNotOnHost = {
      modules = [
        example
        {
          services.pgarchive.retention.daily = 7;
          services.pgarchive.pruneOnHost = false;
          services.pgarchive.prune.enable = true;
        }
      ];
      expect = "services.pgarchive.prune.enable = true contradicts services.pgarchive.pruneOnHost = false";
    };
    pruneWithoutRetention = {
      modules = [
        example
        { services.pgarchive.prune.enable = true; }
      ];
      expect = "services.pgarchive.prune.enable needs a retention policy";
    };
    pruneRetentionAllZero = {
      modules = [
        example
        {
          services.pgarchive.retention.daily = 0;
          services.pgarchive.retention.keepLast = 0;
        }
      ];
      expect = "services.pgarchive.prune.enable needs a retention policy";
    };
    retentionNegative = {
      modules = [
        example
        {
          services.pgarchive.retention.daily = 7;
          services.pgarchive.retention.weekly = -1;
        }
      ];
      expect = "services.pgarchive.retention.weekly is -1";
    };
    metricsInSystemDir = {
      modules = [
        example
        { services.pgarchive.metrics.textfile = "/var/lib/pgarchive.prom"; }
      ];
      expect = "its directory\n/var/lib is made writable";
    };
    metricsInTmp = {
      modules = [
        example
        { services.pgarchive.metrics.textfile = "/tmp/metrics/pgarchive.prom"; }
      ];
      expect = "not under\n/tmp or /var/tmp";
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
    drillIdentityInStore = {
      services.pgarchive.drill.identityFile = "/nix/store/00000000000000000000000000000000-drill-key";
    };
    notifyUrlsRelative = {
      services.pgarchive.notify.urlsFile = "secrets/notify";
    };
    metricsTextfileRelative = {
      services.pgarchive.metrics.textfile = "pgarchive.prom";
    };
    drillAgeNegative = {
      services.pgarchive.drill = {
        enable = true;
        identityFile = "/run/secrets/drill-key";
        age = -1;
      };
    };
    retentionNotAnInt = {
      services.pgarchive.retention.daily = "7";
    };
  };

  goodReports =
    lib.mapAttrs (_: modules: report (evalCase modules)) good
    // lib.optionalAttrs (readme != null) {
      readme = report (evalSystem readmeFlake.modules);
    };

  # README.md's agenix lines, as a module of their own: the secrets they
  # declare and the paths agenix gives them.
  readmeAgenix =
    let
      config = evalSystem [
        agenixStub
        (readme + "/agenix.nix")
      ];
    in
    lib.mapAttrs (_: s: s.path) config.age.secrets;
  rejectedReports = lib.mapAttrs (_: modules: report (evalCase modules)) rejectedAtBuild;
  badReports = lib.mapAttrs (_: c: report (evalCase c.modules)) bad;
  typeErrorReports = lib.mapAttrs (
    _: m:
    let
      config = evalCase [
        example
        m
      ];
      # Everything a system would use: the rendered settings and the units.
      forced = builtins.tryEval (builtins.deepSeq (report config) true);
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
// lib.optionalAttrs (readme != null) {
  readme = {
    inherit (readmeFlake) inputs hostNames;
    # The modules as passed: paths by their file name, the stand-ins by name.
    modules = map (
      m:
      if lib.isPath m then
        baseNameOf m
      else if lib.isAttrs m && m ? key then
        m.key
      else
        "other"
    ) readmeFlake.modules;
    agenix = readmeAgenix;
  };
}
