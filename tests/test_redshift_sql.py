"""The Redshift statements, one by one: exact SQL, quoting and validation, and credentials never shown."""

import json

import boto3
import pytest
from moto import mock_aws

from pipeline.lib.warehouse import Column, TableSpec
from pipeline.lib.warehouse.redshift_sql import (
    LEGACY_LOAD_ERRORS_SQL,
    LOAD_ERRORS_SQL,
    REDSHIFT_TYPES,
    CopyAuth,
    Statement,
    copy_json_sql,
    count_sql,
    create_scratch_sql,
    create_table_sql,
    delete_sql,
    describe_load_errors,
    drop_scratch_sql,
    insert_from_scratch_sql,
    literal,
    s3_uri,
    window_violations_sql,
)
from tests.sparkify.tables import STAGING_EVENTS, STAGING_SONGS

# Written out by hand, not derived from the table spec: the contract's column order.
EVENT_COLUMNS = (
    '"artist", "auth", "first_name", "gender", "item_in_session", "last_name", "length", "level", "location", '
    '"method", "page", "registration", "session_id", "song", "status", "ts", "user_agent", "user_id"'
)
SONG_COLUMNS = (
    '"artist_id", "artist_latitude", "artist_location", "artist_longitude", "artist_name", "duration", '
    '"num_songs", "song_id", "title", "year"'
)
ROLE = "arn:aws:iam::123456789012:role/sparkify-copy"
KEY_ID = "ASIAEXAMPLEKEY123456"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
TOKEN = "FQoGZXIvYXdzEBYaDEXAMPLETOKEN+abc/def=="
TEMPORARY = CopyAuth(access_key_id=KEY_ID, secret_access_key=SECRET, session_token=TOKEN)
DAY = "s3://udacity-dend/log_data/2018/11/2018-11-01-events.json"
JSONPATHS = "s3://udacity-dend/log_json_path.json"
LOW, HIGH = 1541030400000, 1541116800000  # 2018-11-01 and 2018-11-02, UTC, in epoch ms


def test_types_keep_long_text_and_unrounded_doubles():
    assert REDSHIFT_TYPES == {
        "text": "varchar(65535)",
        "integer": "integer",
        "bigint": "bigint",
        "double": "double precision",
        "timestamp": "timestamp",
        "date": "date",
    }


def test_create_table_ddl_for_staging_events():
    assert create_table_sql(STAGING_EVENTS) == [
        'create schema if not exists "staging"',
        'create table if not exists "staging"."staging_events" ('
        '"artist" varchar(65535), "auth" varchar(65535), "first_name" varchar(65535), "gender" varchar(65535), '
        '"item_in_session" integer, "last_name" varchar(65535), "length" double precision, '
        '"level" varchar(65535), "location" varchar(65535), "method" varchar(65535), "page" varchar(65535), '
        '"registration" double precision, "session_id" integer, "song" varchar(65535), "status" integer, '
        '"ts" bigint, "user_agent" varchar(65535), "user_id" varchar(65535))',
    ]


def test_copy_events_with_an_iam_role_into_the_scratch_table():
    statement = copy_json_sql(STAGING_EVENTS, "load_events", DAY, JSONPATHS, CopyAuth(iam_role=ROLE), "us-west-2")
    expected = (
        f'copy "load_events" ({EVENT_COLUMNS}) '
        "from 's3://udacity-dend/log_data/2018/11/2018-11-01-events.json' "
        "iam_role 'arn:aws:iam::123456789012:role/sparkify-copy' region 'us-west-2' "
        "format as json 's3://udacity-dend/log_json_path.json' maxerror 0 compupdate off statupdate off"
    )
    assert statement.sql == expected
    assert statement.redacted == expected  # a role ARN grants nothing by itself: it stays readable in logs


def test_copy_songs_with_temporary_credentials_into_the_table():
    statement = copy_json_sql(STAGING_SONGS, None, "s3://udacity-dend/song_data/", "auto", TEMPORARY, None)
    assert statement.sql == (
        f'copy "staging"."staging_songs" ({SONG_COLUMNS}) from \'s3://udacity-dend/song_data/\' '
        f"access_key_id '{KEY_ID}' secret_access_key '{SECRET}' session_token '{TOKEN}' "
        "format as json 'auto' maxerror 0 compupdate off statupdate off"
    )
    assert statement.redacted == (
        f'copy "staging"."staging_songs" ({SONG_COLUMNS}) from \'s3://udacity-dend/song_data/\' '
        "access_key_id '***' secret_access_key '***' session_token '***' "
        "format as json 'auto' maxerror 0 compupdate off statupdate off"
    )


def test_long_term_keys_have_no_session_token():
    auth = CopyAuth(access_key_id="AKIAEXAMPLEKEY123456", secret_access_key=SECRET)
    statement = copy_json_sql(STAGING_SONGS, "s", "s3://b-1/song_data/", "auto", auth)
    assert f"secret_access_key '{SECRET}' format as json" in statement.sql
    assert "access_key_id '***' secret_access_key '***' format as json" in statement.redacted


def test_credentials_are_never_shown():
    statement = copy_json_sql(STAGING_EVENTS, "load_events", DAY, JSONPATHS, TEMPORARY, "eu-west-1")
    assert all(secret in statement.sql for secret in (KEY_ID, SECRET, TOKEN))  # sent, so COPY can use them
    shown = [
        str(statement),
        repr(statement),
        statement.redacted,
        f"{statement}",
        repr([statement]),
        repr(TEMPORARY),
        str(TEMPORARY),
    ]
    for text in shown:
        for secret in (KEY_ID, SECRET, TOKEN):
            assert secret not in text
    assert str(statement) == statement.redacted and isinstance(statement, Statement)
    assert repr(TEMPORARY) == (
        "CopyAuth(access_key_id='***', secret_access_key='***', session_token='***', expiration=None)"
    )
    assert repr(CopyAuth(iam_role=ROLE)) == f"CopyAuth(iam_role='{ROLE}')"


def test_a_secret_repeated_elsewhere_is_masked_too():
    auth = CopyAuth(access_key_id="AKIAEXAMPLEKEY123456", secret_access_key="samesecretvalue1")
    statement = copy_json_sql(STAGING_SONGS, "s", "s3://bucket/samesecretvalue1/", "auto", auth)
    assert "samesecretvalue1" not in statement.redacted and "s3://bucket/***/" in statement.redacted


def test_scratch_insert_count_drop_and_window_violations():
    assert create_scratch_sql(STAGING_EVENTS, "load_events") == (
        'create temp table "load_events" (like "staging"."staging_events")'
    )
    assert insert_from_scratch_sql(STAGING_SONGS, "load_songs") == (
        f'insert into "staging"."staging_songs" ({SONG_COLUMNS}) select {SONG_COLUMNS} from "load_songs"'
    )
    assert count_sql("load_events") == 'select count(*) from "load_events"'
    assert drop_scratch_sql("load_events") == 'drop table if exists "load_events"'
    assert window_violations_sql("load_events", "ts", LOW, HIGH) == (
        'select count(*) from "load_events" where "ts" is null or "ts" < 1541030400000 or "ts" >= 1541116800000'
    )


def test_delete_with_and_without_a_window():
    assert delete_sql(STAGING_EVENTS, "ts", LOW, HIGH) == (
        'delete from "staging"."staging_events" where "ts" >= 1541030400000 and "ts" < 1541116800000'
    )
    assert delete_sql(STAGING_SONGS, None, None, None) == 'delete from "staging"."staging_songs"'
    assert delete_sql(STAGING_SONGS) == 'delete from "staging"."staging_songs"'


def test_window_bounds_are_integers_and_checked():
    assert delete_sql(STAGING_EVENTS, "ts", "1", 2.0).endswith('"ts" >= 1 and "ts" < 2')  # coerced, not pasted
    with pytest.raises(ValueError):
        delete_sql(STAGING_EVENTS, "ts", "1 or 1=1", 2)
    with pytest.raises(ValueError, match="low must be below high"):
        window_violations_sql("s", "ts", 5, 5)
    with pytest.raises(ValueError, match="needs both"):
        delete_sql(STAGING_EVENTS, "ts", LOW, None)
    with pytest.raises(ValueError, match="needs a window column"):
        delete_sql(STAGING_EVENTS, None, LOW, HIGH)
    with pytest.raises(ValueError, match="not a column"):
        delete_sql(STAGING_EVENTS, "start_time", LOW, HIGH)


def test_identifiers_are_validated_everywhere():
    with pytest.raises(ValueError, match="table name"):
        TableSpec("staging", "events'; drop table x; --", ())
    with pytest.raises(ValueError, match="invalid SQL"):
        TableSpec("staging", 'ev"ents', (Column("ts", "bigint", "ts"),))
    for build in (
        lambda s: create_scratch_sql(STAGING_EVENTS, s),
        count_sql,
        drop_scratch_sql,
        lambda s: insert_from_scratch_sql(STAGING_EVENTS, s),
        lambda s: window_violations_sql(s, "ts", 0, 1),
        lambda s: copy_json_sql(STAGING_EVENTS, s, DAY, "auto", TEMPORARY),
    ):
        with pytest.raises(ValueError, match="invalid SQL"):
            build('x"; drop table y; --')
    with pytest.raises(ValueError, match="invalid SQL"):
        window_violations_sql("s", "ts or 1=1", 0, 1)


def test_literals_double_quotes_and_refuse_backslashes_and_nul():
    assert literal("it's") == "'it''s'"
    assert literal("") == "''"
    with pytest.raises(ValueError, match="backslash"):
        literal("a\\")
    with pytest.raises(ValueError, match="NUL"):
        literal("a\x00b")
    with pytest.raises(ValueError, match="must be a str"):
        literal(3)


def test_s3_paths_are_validated_and_quoted():
    statement = copy_json_sql(STAGING_SONGS, "s", "s3://my-bucket.v2/it's/song_data/", "auto", CopyAuth(iam_role=ROLE))
    assert "from 's3://my-bucket.v2/it''s/song_data/' iam_role" in statement.sql
    assert s3_uri("s3://abc/k") == "s3://abc/k"
    bad = [
        "s3://My_Bucket/key",
        "s3://bu'cket/key",
        "s3://ab/key",
        "s3://a..b/key",
        "s3://-abc/key",
        "s3://192.168.1.1/key",
        "s3://bucket/",
        "s3://bucket",
        "https://bucket/key",
        "bucket/key",
        "s3://bucket/a\nb",
        "s3://bucket/a\\b",
        "s3://bucket/" + "k" * 1025,
        None,
    ]
    for uri in bad:
        with pytest.raises(ValueError, match="invalid S3 URI"):
            s3_uri(uri)
    with pytest.raises(ValueError, match="bucket 'Bad_Bucket' is not a valid bucket name"):
        copy_json_sql(STAGING_SONGS, "s", "s3://Bad_Bucket/song_data/", "auto", TEMPORARY)
    with pytest.raises(ValueError, match="invalid S3 URI"):
        copy_json_sql(STAGING_EVENTS, "s", DAY, "s3://bucket/paths'\n.json", TEMPORARY)


@pytest.mark.parametrize(
    "json_format", ["AUTO", "auto ignorecase", "", "https://bucket/paths.json", None, "'auto' ; drop table x"]
)
def test_json_format_is_auto_or_an_s3_jsonpaths_file(json_format):
    with pytest.raises(ValueError, match="json_format must be 'auto' or the s3:// URI of a JSONPaths file"):
        copy_json_sql(STAGING_EVENTS, "s", DAY, json_format, TEMPORARY)


@pytest.mark.parametrize("region", ["us-west-2", "eu-central-1", "us-gov-west-1", "ap-southeast-2"])
def test_valid_regions(region):
    assert f"region '{region}' format" in copy_json_sql(STAGING_SONGS, "s", DAY, "auto", TEMPORARY, region).sql


@pytest.mark.parametrize("region", ["", "us-west", "US-WEST-2", "us-west-2'", "us-west-2 ", "mars"])
def test_bad_regions_are_refused(region):
    with pytest.raises(ValueError, match="invalid AWS region .*like 'us-west-2'"):
        copy_json_sql(STAGING_SONGS, "s", DAY, "auto", TEMPORARY, region)


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:iam::12345:role/x",
        "arn:aws:iam::123456789012:user/x",
        "arn:aws:iam::123456789012:role/x' or '1",
        "role/x",
        "",
        "arn:aws:s3:::bucket",
    ],
)
def test_bad_role_arns_are_refused(arn):
    with pytest.raises(ValueError, match="invalid IAM role ARN .*role/<name>"):
        CopyAuth(iam_role=arn)


def test_role_arns_of_other_partitions_and_paths():
    for arn in ("arn:aws-us-gov:iam::123456789012:role/x", "arn:aws-cn:iam::123456789012:role/team/copy-role"):
        assert CopyAuth(iam_role=arn).clause() == f"iam_role '{arn}'"


def test_copy_auth_takes_exactly_one_form_and_never_echoes_secrets():
    with pytest.raises(ValueError, match="not both"):
        CopyAuth(iam_role=ROLE, access_key_id=KEY_ID, secret_access_key=SECRET)
    with pytest.raises(ValueError, match="needs an IAM role ARN"):
        CopyAuth()
    with pytest.raises(ValueError, match="needs an IAM role ARN"):
        CopyAuth(access_key_id=KEY_ID, session_token=TOKEN)
    with pytest.raises(ValueError, match="invalid access key id") as bad_id:
        CopyAuth(access_key_id="AKIA'x", secret_access_key=SECRET)
    with pytest.raises(ValueError, match="invalid secret access key") as bad_secret:
        CopyAuth(access_key_id=KEY_ID, secret_access_key=SECRET + "\n")
    with pytest.raises(ValueError, match="invalid session token") as bad_token:
        CopyAuth(access_key_id=KEY_ID, secret_access_key=SECRET, session_token=TOKEN + " ")
    for error in (bad_id, bad_secret, bad_token):
        assert SECRET not in str(error.value) and TOKEN not in str(error.value) and "AKIA'x" not in str(error.value)
    with pytest.raises(ValueError, match="auth must be a CopyAuth"):
        copy_json_sql(STAGING_SONGS, "s", DAY, "auto", ROLE)


@mock_aws
def test_from_assumed_role_uses_the_credentials_sts_returned():
    fake = {"region_name": "us-east-1", "aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "redshift.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
    arn = boto3.client("iam", **fake).create_role(RoleName="sparkify-copy", AssumeRolePolicyDocument=json.dumps(trust))[
        "Role"
    ]["Arn"]
    sts = boto3.client("sts", **fake)
    returned = []
    sts.meta.events.register("after-call.sts.AssumeRole", lambda parsed, **_: returned.append(parsed["Credentials"]))

    auth = CopyAuth.from_assumed_role(sts, arn, session_name="sparkify-test", duration_seconds=900)

    (credentials,) = returned
    assert credentials["SessionToken"]
    assert (auth.access_key_id, auth.secret_access_key, auth.session_token) == (
        credentials["AccessKeyId"],
        credentials["SecretAccessKey"],
        credentials["SessionToken"],
    )
    assert auth.iam_role is None and auth.expiration == credentials["Expiration"]
    assert credentials["SecretAccessKey"] not in repr(auth) and credentials["SessionToken"] not in repr(auth)
    assert f"session_token '{credentials['SessionToken']}'" in copy_json_sql(STAGING_SONGS, "s", DAY, "auto", auth).sql


def test_from_assumed_role_checks_its_arguments_before_calling_sts():
    class NoCalls:
        def assume_role(self, **_):
            raise AssertionError("STS was called")

    with pytest.raises(ValueError, match="invalid IAM role ARN"):
        CopyAuth.from_assumed_role(NoCalls(), "arn:aws:iam::1:role/x")
    with pytest.raises(ValueError, match="session name"):
        CopyAuth.from_assumed_role(NoCalls(), ROLE, session_name="a b")
    with pytest.raises(ValueError, match="900 to 43200"):
        CopyAuth.from_assumed_role(NoCalls(), ROLE, duration_seconds=60)


def test_load_error_queries():
    assert LOAD_ERRORS_SQL == (
        "select trim(file_name), line_number, trim(column_name), trim(error_message) "
        "from sys_load_error_detail where query_id = pg_last_copy_id() order by line_number limit 10"
    )
    assert LEGACY_LOAD_ERRORS_SQL == (
        "select trim(filename), line_number, trim(colname), trim(err_reason), left(trim(raw_line), 200) "
        "from stl_load_errors where query = pg_last_copy_id() order by line_number limit 10"
    )


def test_describe_load_errors_trims_padded_char_values():
    rows = [
        (
            "s3://b/log_data/2018/11/2018-11-01-events.json" + " " * 40,
            12,
            "ts" + " " * 125,
            "Invalid digit, Value 's', Pos 0, Type: Long" + " " * 60,
            '{"ts": "s", "page": "Home"}   ',
        ),
        ("s3://b/k.json   ", 14, "   ", "Invalid JSONPath format   ", None),
    ]
    assert describe_load_errors(rows) == (
        "s3://b/log_data/2018/11/2018-11-01-events.json, line 12, column ts: Invalid digit, Value 's', Pos 0, "
        'Type: Long (raw line: {"ts": "s", "page": "Home"}); '
        "s3://b/k.json, line 14: Invalid JSONPath format"
    )
    # sys_load_error_detail rows have no raw line
    assert describe_load_errors([("s3://b/k.json ", 3, "year ", "Overflow ")]) == (
        "s3://b/k.json, line 3, column year: Overflow"
    )
    assert describe_load_errors([]) == ""
