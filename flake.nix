{
  description = "pgarchive: ship services.postgresqlBackup dumps, encrypted with age, to several targets at once";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-25.11";

  outputs =
    { self, nixpkgs }:
    let
      inherit (nixpkgs) lib;

      systems = [
        "x86_64-linux"
        "aarch64-linux"
      ];
      forAllSystems = f: lib.genAttrs systems (system: f nixpkgs.legacyPackages.${system});

      # Stamped into the binary with -X main.version (nix/package.nix).
      version = "0.1.0-${self.shortRev or self.dirtyShortRev or "dirty"}";

      mkPackage = pkgs: pkgs.callPackage ./nix/package.nix { inherit version; };
    in
    {
      # Public outputs.

      overlays.default = final: _prev: { pgarchive = mkPackage final; };

      packages = forAllSystems (pkgs: {
        default = mkPackage pkgs;
        pgarchive = mkPackage pkgs;
      });

      # The module builds the package from the system's own nixpkgs (so it
      # follows `inputs.pgarchive.inputs.nixpkgs.follows` and works on any
      # platform) unless services.pgarchive.package is set.
      nixosModules.pgarchive =
        { lib, pkgs, ... }:
        {
          imports = [ ./nix/module.nix ];
          services.pgarchive.package = lib.mkDefault (mkPackage pkgs);
        };
      nixosModules.default = self.nixosModules.pgarchive;

      # Development outputs.

      checks = forAllSystems (
        pkgs:
        let
          evaluation = import ./tests/nix/eval.nix { inherit lib; };
        in
        {
          package = self.packages.${pkgs.stdenv.hostPlatform.system}.default;

          # The module evaluation harness of tests/nix (run in CI with only
          # nixpkgs' lib), here against the full nixpkgs lib of the input.
          module-eval =
            if evaluation.selfCheck == [ ] then
              pkgs.runCommand "pgarchive-module-eval" { } "touch $out"
            else
              throw "tests/nix/eval.nix:\n${lib.concatStringsSep "\n" evaluation.selfCheck}";
        }
        // import ./nix/tests {
          inherit pkgs;
          module = self.nixosModules.default;
        }
      );

      devShells = forAllSystems (pkgs: {
        default = pkgs.mkShell {
          packages = [
            (pkgs.go_1_26 or pkgs.go)
            pkgs.gopls
            pkgs.age
            pkgs.rclone
            pkgs.postgresql
          ];
        };
      });
    };
}
