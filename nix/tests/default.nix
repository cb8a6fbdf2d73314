# The VM tests, as named runNixOSTest scenarios sharing common.nix:
# checks.<system>.restore-drill and checks.<system>.failure-notifies.
{ pkgs, module }:
let
  common = import ./common.nix { inherit module; };
in
{
  restore-drill = pkgs.testers.runNixOSTest (import ./restore-drill.nix common);
  failure-notifies = pkgs.testers.runNixOSTest (import ./failure-notifies.nix common);
}
