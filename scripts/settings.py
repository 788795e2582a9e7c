"""settings: every setting with its value for NODE_ENV, where that value came from
(env/defaults.env < env/$NODE_ENV.env < the environment) and its one line of help; then the names
of the environment's resources, once the settings pass the check every step makes (a bad one: a
line that says what to fix, exit 1). Reads no AWS."""

import os
import sys

from core.settings import DECLARED, SettingsError, load, missing_env_file, node_env_of, values
from core.step import say


def show_settings() -> None:
    node_env = node_env_of(os.environ)
    found = values()
    missing = missing_env_file()
    own = f"env/{node_env}.env (missing)" if missing else f"env/{node_env}.env"
    say(f"settings of NODE_ENV={node_env} (env/defaults.env < {own} < the environment):")
    if missing:
        say(f"note: {missing}")
    for declared in DECLARED:
        name = declared.name.upper()
        text, origin = found[name]
        say(f"  {name:<20} {text or '(empty)':<28} {origin:<20} {declared.metadata['help']}")
    settings = load()
    say(f"names: load balancer {settings.elb_name}, record {settings.record_name}, groups "
          f"{settings.group_prefix}<stamp>, key pair {settings.key_name}, tags {settings.ownership_tags}")


if __name__ == "__main__":
    try:
        show_settings()
    except SettingsError as error:
        print(f"settings: error: {error}", file=sys.stderr)
        sys.exit(1)
