"""Code references: every asset links to where it is declared (the asset page's "Source code" in the UI), as a
file on the machine that loaded the code location or, with CODE_REFERENCES_GIT_URL, as that repository's page at
CODE_REFERENCES_GIT_REF.

An asset keeps the references it was built with: a dbt model its `.sql` (the translator), a kit's asset the
pipeline module that called the kit (`called_from`), a task its defs.yaml. Any other gets its own function's file
and line, found through `__wrapped__`: `dg.with_source_code_references` takes the file of the outermost function
(every `@retried_on_fault` body would point into pipeline/lib/retries.py) and adds its reference to those an asset
already has (each dbt model would also point at the kit's `@dbt_assets` function), so it is not used here.
Asset checks get none: Dagster (1.13) neither attaches code references to checks nor shows a check's metadata.
Dagster's notices that its code references are in beta (and map_asset_specs in preview) are silenced here, where
they are used: the code server would log dozens at every load.
"""

import contextlib
import inspect
import os
import warnings
from collections.abc import Iterator

import dagster as dg

from pipeline.lib.settings import REPO_ROOT, Settings

CODE_REFERENCES = "dagster/code_references"  # Dagster's metadata key (dg.CodeReferencesMetadataValue)


@contextlib.contextmanager
def quietly() -> Iterator[None]:
    """Without Dagster's beta and preview notices (code references are beta in Dagster 1.13)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.BetaWarning)
        warnings.simplefilter("ignore", dg.PreviewWarning)
        yield


def code_reference(path: str | os.PathLike, line: int | None = None) -> dict[str, dg.CodeReferencesMetadataValue]:
    """The metadata entry of one reference, a file (and a line in it), for an asset's `metadata=`."""
    with quietly():
        reference = dg.LocalFileCodeReference(file_path=os.path.abspath(path), line_number=line)
        return {CODE_REFERENCES: dg.CodeReferencesMetadataValue(code_references=[reference])}


def called_from(depth: int = 1) -> dict[str, dg.CodeReferencesMetadataValue]:
    """The metadata entry referencing the line that called the function calling this one (`depth` 1), or a caller
    further up: a kit function that builds an asset for a pipeline (`observation_asset`) links the asset to the
    pipeline's module and line that asked for it, not to the kit's own code."""
    frame = inspect.currentframe()
    for _ in range(depth + 1):
        frame = frame.f_back
    return code_reference(frame.f_code.co_filename, frame.f_lineno)


def function_reference(function) -> dict[str, dg.CodeReferencesMetadataValue]:
    """The metadata entry referencing the file and first line (its first decorator's) of a function, under any
    decorators that set `__wrapped__` (functools.wraps does). Read from the code object: no file is opened."""
    code = inspect.unwrap(function).__code__
    return code_reference(code.co_filename, code.co_firstlineno)


def with_own_references(asset: dg.AssetsDefinition) -> dg.AssetsDefinition:
    """The asset with its compute function's reference on each of its keys that was built with none."""
    if all(CODE_REFERENCES in spec.metadata for spec in asset.specs) or not isinstance(asset.node_def, dg.OpDefinition):
        return asset
    compute = asset.node_def.compute_fn
    own = function_reference(getattr(compute, "decorated_fn", compute))
    return asset.map_asset_specs(
        lambda spec: (
            spec if CODE_REFERENCES in spec.metadata else spec.replace_attributes(metadata={**spec.metadata, **own})
        )
    )


def with_code_references(defs: dg.Definitions, settings: Settings) -> dg.Definitions:
    """The definitions with a code reference on every asset (the module's docstring says which), as links into the
    repository when CODE_REFERENCES_GIT_URL is set."""
    with quietly():
        return _with_code_references(defs, settings)


def _with_code_references(defs: dg.Definitions, settings: Settings) -> dg.Definitions:
    assets = [with_own_references(asset) for asset in defs.assets or [] if isinstance(asset, dg.AssetsDefinition)]
    if settings.code_references_git_url:
        assets = dg.link_code_references_to_git(
            assets,
            git_url=settings.code_references_git_url,
            git_branch=settings.code_references_git_ref,
            file_path_mapping=dg.AnchorBasedFilePathMapping(REPO_ROOT / "pyproject.toml", "pyproject.toml"),
        )
    by_key = {
        spec.key: spec.metadata[CODE_REFERENCES]
        for asset in assets
        for spec in asset.specs
        if CODE_REFERENCES in spec.metadata
    }
    return defs.map_asset_specs(
        func=lambda spec: (
            spec.replace_attributes(metadata={**spec.metadata, CODE_REFERENCES: by_key[spec.key]})
            if spec.key in by_key
            else spec
        )
    )
