"""The deployment's environment file, written at boot from what the CloudFormation stacks hold: the plain settings
as SSM parameters under one path (`/data-platform/env/WAREHOUSE` holds WAREHOUSE's value) and the secrets as
Secrets Manager secrets, each a JSON object of variable names to values.

`python -m pipeline env-file` prints it, or writes it with mode 0600 in one rename. The file serves both readers of
deploy/: systemd's EnvironmentFile= and Compose's env_file. A value is written bare when it holds only characters
neither reads specially, single-quoted otherwise (both take a single-quoted value literally, `$` included); a value
that no quoting carries through both (a single quote, a line break) is refused with its variable's name, as is a
variable defined in two places, so that the file never holds a value other than the one stored.
"""

import json
import os
import re
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path

NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
BARE = re.compile(r"[A-Za-z0-9_./:@,+=%-]*")


class EnvironmentFileError(ValueError):
    """What is stored cannot become the environment file; names the parameter or secret and the variable."""


def parameters_under(ssm, path: str) -> dict[str, tuple[str, str]]:
    """{variable: (value, parameter name)} of every parameter directly under `path` (decrypted)."""
    prefix = path if path.endswith("/") else f"{path}/"
    found: dict[str, tuple[str, str]] = {}
    for page in ssm.get_paginator("get_parameters_by_path").paginate(Path=prefix, Recursive=False, WithDecryption=True):
        for parameter in page["Parameters"]:
            found[parameter["Name"].removeprefix(prefix)] = (parameter["Value"], parameter["Name"])
    return found


def secret_values(secrets, secret_id: str) -> dict[str, tuple[str, str]]:
    """{variable: (value, secret id)} of a secret holding a JSON object of strings."""
    text = secrets.get_secret_value(SecretId=secret_id).get("SecretString")
    try:
        values = json.loads(text or "")
    except json.JSONDecodeError as exc:
        raise EnvironmentFileError(
            f"secret {secret_id}: not a JSON object of variable names to values ({exc})"
        ) from exc
    if not isinstance(values, dict):
        raise EnvironmentFileError(f"secret {secret_id}: not a JSON object of variable names to values")
    wrong = sorted(name for name, value in values.items() if not isinstance(value, str))
    if wrong:
        raise EnvironmentFileError(f"secret {secret_id}: {', '.join(wrong)}: a value must be a string")
    return {name: (value, secret_id) for name, value in values.items()}


def merged(sources: Iterable[Mapping[str, tuple[str, str]]]) -> dict[str, str]:
    """One value per variable; a variable defined by two sources is refused, naming both."""
    values: dict[str, str] = {}
    origin: dict[str, str] = {}
    for source in sources:
        for name, (value, where) in source.items():
            if name in values:
                raise EnvironmentFileError(f"{name} is defined twice: in {origin[name]} and in {where}")
            values[name], origin[name] = value, where
    return values


def render(values: Mapping[str, str]) -> str:
    lines = []
    for name in sorted(values):
        value = values[name]
        if not NAME.fullmatch(name):
            raise EnvironmentFileError(f"{name!r}: not a variable name (letters, digits and _, not first a digit)")
        if BARE.fullmatch(value):
            lines.append(f"{name}={value}")
        elif "'" in value or "\n" in value or "\r" in value:
            raise EnvironmentFileError(
                f"{name}: a value with a single quote or a line break cannot be written for both systemd and Compose"
            )
        else:
            lines.append(f"{name}='{value}'")
    return "".join(f"{line}\n" for line in lines)


def write_atomically(text: str, path: Path) -> None:
    """The file appears whole, readable by its owner only, or not at all."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w") as out:
            out.write(text)
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def environment_file(ssm_path: str | None, secret_ids: Iterable[str], session=None) -> str:
    import boto3

    session = session or boto3.session.Session()
    sources = []
    if ssm_path:
        sources.append(parameters_under(session.client("ssm"), ssm_path))
    for secret_id in secret_ids:
        sources.append(secret_values(session.client("secretsmanager"), secret_id))
    return render(merged(sources))
