"""keep_partial_parse_state: an invocation's dbt parse state becomes the seed of the next invocation."""

from pipeline.lib.dbt.manifest import keep_partial_parse_state


def test_the_invocation_state_replaces_the_seed_in_the_parent_folder(tmp_path):
    seed = tmp_path / "partial_parse.msgpack"
    seed.write_bytes(b"parsed with another connection")
    invocation = tmp_path / "sparkify_daily_models-abc1234-def5678"
    invocation.mkdir()
    (invocation / "partial_parse.msgpack").write_bytes(b"parsed here")

    keep_partial_parse_state(invocation)

    assert seed.read_bytes() == b"parsed here"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([invocation.name, seed.name])  # no staging file left


def test_an_invocation_without_state_leaves_the_seed(tmp_path):
    seed = tmp_path / "partial_parse.msgpack"
    seed.write_bytes(b"seed")
    invocation = tmp_path / "failed-before-parsing"
    invocation.mkdir()

    keep_partial_parse_state(invocation)

    assert seed.read_bytes() == b"seed"
