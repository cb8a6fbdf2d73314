# The few pkgs functions services.pgarchive calls, as plain attribute sets:
# nothing is built. A "derivation" here has a made-up store path that
# depends on its name and content, and keeps its inputs (value, text,
# buildCommand) so the evaluation harness can look at them.
{ lib }:
let
  storePath =
    name: content:
    "/nix/store/${builtins.substring 0 32 (builtins.hashString "sha256" (name + content))}-${name}";

  drv =
    name: content: attrs:
    {
      type = "derivation";
      inherit name;
      outPath = storePath name content;
      drvPath = storePath "${name}.drv" content;
    }
    // attrs;
in
{
  inherit lib;

  # pkgs.formats.toml as in pkgs/pkgs-lib/formats.nix: the same value
  # type (no null in TOML); generate keeps the value instead of running
  # json2toml.
  formats.toml =
    { }:
    {
      type =
        let
          valueType =
            lib.types.oneOf [
              lib.types.bool
              lib.types.int
              lib.types.float
              lib.types.str
              lib.types.path
              (lib.types.attrsOf valueType)
              (lib.types.listOf valueType)
            ]
            // {
              description = "TOML value";
            };
        in
        valueType;
      generate = name: value: drv name (builtins.toJSON value) { inherit value; };
    };

  runCommand =
    name: env: buildCommand:
    drv name buildCommand (env // { inherit buildCommand; });

  pgarchive = drv "pgarchive-stub" "" { meta.mainProgram = "pgarchive"; };
}
