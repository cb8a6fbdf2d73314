# The pgarchive binary. callPackage it with `version` (the flake passes one
# derived from the revision).
{
  lib,
  buildGoModule,
  go,
  # go.mod says `go 1.26.0`, and its dependencies (golang.org/x/*) do too.
  # Prefer the 1.26 builder where nixpkgs has one beside an older default.
  buildGo126Module ? null,
  go_1_26 ? null,
  version ? "0-unstable",
}:
let
  useGo126 = buildGo126Module != null && go_1_26 != null;
  builder = if useGo126 then buildGo126Module else buildGoModule;
  goVersion = (if useGo126 then go_1_26 else go).version;
in
assert lib.assertMsg (lib.versionAtLeast goVersion "1.26") ''
  pgarchive needs Go >= 1.26 (go.mod and its dependencies say so), but this
  nixpkgs has Go ${goVersion} and no buildGo126Module. Update the nixpkgs
  input to a revision that has go_1_26 (nixos-25.11 got it in February 2026).
'';
builder {
  pname = "pgarchive";
  inherit version;

  # Only what the binary is built from, so editing docs, tests or Nix files
  # does not rebuild it (nor change vendorHash). tests/harness is in because
  # internal packages' tests import it, and `go mod vendor` (goModules)
  # resolves test imports too.
  src = lib.fileset.toSource {
    root = ../.;
    fileset = lib.fileset.unions [
      ../go.mod
      ../go.sum
      ../cmd
      ../internal
      ../tests/harness
    ];
  };

  # Computed with `nix/update-vendor-hash.sh --local` (go mod vendor with Go
  # 1.26, hashed as a NAR), since no Nix here can build. If nixpkgs' Go
  # vendors differently the build fails printing the right hash ("got:
  # sha256-…"): run nix/update-vendor-hash.sh to put it here. Run it again
  # after every go.mod/go.sum change.
  vendorHash = "sha256-IoBo2/3o7tCTBvgxzSLwaWbgBQbsBBDEUiZYqwLHPgQ=";

  subPackages = [ "cmd/pgarchive" ];

  env.CGO_ENABLED = 0;

  ldflags = [
    "-s"
    "-w"
    "-X main.version=${version}"
  ];

  meta = {
    description = "Ship services.postgresqlBackup dumps, encrypted with age, to several rclone targets at once";
    homepage = "https://github.com/pgarchive/pgarchive";
    mainProgram = "pgarchive";
    platforms = lib.platforms.linux;
  };
}
