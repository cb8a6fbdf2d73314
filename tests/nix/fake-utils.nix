# nixos/lib/utils.nix, the functions services.pgarchive calls, as NixOS
# passes them to every module (the `utils` argument).
{ lib }:
rec {
  # Quotes an argument for an Exec* line: systemd reads C-style
  # double-quoted words, which toJSON writes, and expands % specifiers and
  # $ variables, which are doubled.
  escapeSystemdExecArg =
    arg:
    let
      s =
        if lib.isPath arg then
          "${arg}"
        else if lib.isString arg then
          arg
        else if lib.isInt arg || lib.isFloat arg || lib.isDerivation arg then
          toString arg
        else
          throw "escapeSystemdExecArg only allows strings, paths, numbers and derivations";
    in
    lib.replaceStrings [ "%" "$" ] [ "%%" "$$" ] (builtins.toJSON s);

  escapeSystemdExecArgs = lib.concatMapStringsSep " " escapeSystemdExecArg;
}
