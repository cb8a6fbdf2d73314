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

  bash = drv "bash-stub" "" { };
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
  coreutils = drv "coreutils-stub" "" { };
  util-linux = drv "util-linux-stub" "" { };
  inherit bash;

  # pkgs.writeShellApplication as in pkgs/build-support/trivial-builders:
  # `script` is the file it writes to bin/<name> (bash, errexit, nounset,
  # pipefail, the runtimeInputs first in PATH, then the text); the build
  # checks it with shellcheck and bash -n, which nixeval's tests do here.
  writeShellApplication =
    {
      name,
      text,
      runtimeInputs ? [ ],
      ...
    }:
    let
      script = ''
        #!${bash}/bin/bash
        set -o errexit
        set -o nounset
        set -o pipefail

      ''
      + lib.optionalString (runtimeInputs != [ ]) ''
        export PATH="${lib.makeBinPath runtimeInputs}:$PATH"

      ''
      + text;
    in
    drv name script {
      inherit text runtimeInputs script;
      meta.mainProgram = name;
    };
}
