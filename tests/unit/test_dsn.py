"""DSN handling: parsing, re-targeting and, above all, masking passwords everywhere."""

from __future__ import annotations

import pytest

from pytest_tzurot import dsn
from pytest_tzurot.errors import ConfigError


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("postgresql://app:s3cret@db.example:5432/app", "postgresql://app:***@db.example:5432/app"),
        ("postgres://app:p%40ss@db/app?sslmode=require", "postgres://app:***@db/app?sslmode=require"),
        ("postgresql://app@db/app", "postgresql://app@db/app"),
        ("postgresql://app:@db/app", "postgresql://app:@db/app"),
        ("host=db user=app password=s3cret dbname=app", "host=db user=app password=*** dbname=app"),
        ("host=db password = 's3 cret' dbname=app", "host=db password = *** dbname=app"),
        ("host=db PASSWORD='it\\'s' dbname=app", "host=db PASSWORD=*** dbname=app"),
        ("postgresql://db/app?user=app&password=s3cret&sslmode=off",
         "postgresql://db/app?user=app&password=***&sslmode=off"),
        ("postgresql:///app?password=s3cret", "postgresql:///app?password=***"),
        ("cannot connect to postgresql://u:s3cret@h/d: refused",
         "cannot connect to postgresql://u:***@h/d: refused"),
    ],
)
def test_mask_hides_every_password(text: str, masked: str) -> None:
    assert dsn.mask(text) == masked
    assert "s3cret" not in dsn.mask(text)


def test_mask_leaves_text_without_dsn_alone() -> None:
    assert dsn.mask("nothing to hide: host=/tmp port=5432") == "nothing to hide: host=/tmp port=5432"


def test_parse_uri_and_key_value() -> None:
    assert dsn.parse("postgresql://u:pw@h:5433/d") == {
        "user": "u", "password": "pw", "host": "h", "port": "5433", "dbname": "d"}
    assert dsn.parse("host=/tmp/x port=5432 dbname=postgres") == {
        "host": "/tmp/x", "port": "5432", "dbname": "postgres"}


@pytest.mark.parametrize("bad", ["", "   ", "host=h password=s3cret dbname", "postgresql://u:s3cret@h/d?bogus=1",
                                 "host=h password=s3cret bogus=1", "postgresql://u:s3cret@[::1/d"])
def test_malformed_dsn_is_one_masked_line(bad: str) -> None:
    with pytest.raises(ConfigError) as excinfo:
        dsn.parse(bad)
    message = str(excinfo.value)
    assert "s3cret" not in message
    assert "\n" not in message
    assert "DSN" in message


def test_with_database_and_database_of() -> None:
    retargeted = dsn.with_database("postgresql://u:pw@h/postgres", "tzurot_x_1")
    assert dsn.parse(retargeted)["dbname"] == "tzurot_x_1"
    assert dsn.parse(retargeted)["password"] == "pw"
    assert dsn.database_of("host=/tmp user=bob") == "bob"
    assert dsn.database_of("host=/tmp") == "postgres"
    assert dsn.database_of(retargeted) == "tzurot_x_1"
