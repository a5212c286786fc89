"""Sparkify on Snowflake reads the sample lake from S3 (a Snowflake stage reads only S3)."""

import pytest

from tests.conftest import upload_tree


@pytest.fixture
def snowflake_env(snowflake_env, s3_env, sample_lake, monkeypatch):
    upload_tree(s3_env, sample_lake.root, "sparkify-sf", "lake")
    monkeypatch.setenv("SPARKIFY_DATA_URI", "s3://sparkify-sf/lake")
    return snowflake_env
