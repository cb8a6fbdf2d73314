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
  # does not rebuild it (nor change vendorHash).
  src = lib.fileset.toSource {
    root = ../.;
    fileset = lib.fileset.unions [
      ../go.mod
      ../go.sum
      ../cmd
      ../internal
    ];
  };

  # Placeholder until the first build on a machine with Nix >= 2.18: the
  # build fails, printing the real hash ("got: sha256-…"). Run
  # nix/update-vendor-hash.sh to put it here; run it again after every
  # go.mod/go.sum change.
  vendorHash = lib.fakeHash;

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
