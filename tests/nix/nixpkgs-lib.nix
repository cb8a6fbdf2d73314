# nixpkgs' lib from the checkout NIXPKGS_LIB names (a copy of
# nix-community/nixpkgs.lib, or nixpkgs): the directory holding lib/, or
# lib/ itself. The default `lib` of eval.nix and options.nix.
let
  dir = builtins.getEnv "NIXPKGS_LIB";
  root = /. + dir;
in
if dir == "" then
  throw "set NIXPKGS_LIB to a checkout of nix-community/nixpkgs.lib"
else if builtins.pathExists (root + "/lib/default.nix") then
  import (root + "/lib")
else
  import root
