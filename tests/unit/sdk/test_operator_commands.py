"""The operator commands the quickstart uses: issue_api_key (a key printed once, an optional deposit) and
store_matrix (a trained file as its pair's next certified version); bad input is a CommandError that stores nothing."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management.base import CommandError
from sdk_helpers import management_command

pytestmark = pytest.mark.django_db


def test_issue_api_key_prints_a_working_key_and_funds_the_account() -> None:
    from django.contrib.auth import get_user_model

    from marketplace.catalog.ledger import get_account
    from marketplace.catalog.models import ApiKey

    key = management_command("issue_api_key", "alice", "--create", "--deposit", "25.5", "--name", "laptop")
    assert key.startswith("amk_") and "\n" not in key
    row = ApiKey.objects.get(key_hash=ApiKey.hash_key(key))
    assert row.user.username == "alice" and row.name == "laptop"
    assert get_account(get_user_model().objects.get(username="alice")).balance == Decimal("25.5")
    assert management_command("issue_api_key", "alice") != key  # a second key for the same user


@pytest.mark.parametrize(("args", "message"), [
    (("nobody",), "pass --create"),
    (("bob", "--create", "--deposit", "lots"), "must be a number"),
    (("bob", "--create", "--deposit", "-3"), "must be positive"),
])
def test_issue_api_key_refuses_bad_input_and_creates_nothing(args: tuple[str, ...], message: str) -> None:
    from django.contrib.auth import get_user_model

    from marketplace.catalog.models import ApiKey

    with pytest.raises(CommandError, match=message):
        management_command("issue_api_key", *args)
    assert not get_user_model().objects.exists() and not ApiKey.objects.exists()


def test_store_matrix_refuses_a_file_that_is_not_a_matrix(tmp_path: Path) -> None:
    from marketplace.alignment.models import WMatrix

    bad = tmp_path / "bad.wmatrix"
    bad.write_bytes(b"not safetensors")
    with pytest.raises(CommandError, match="cannot store"):
        management_command("store_matrix", str(bad))
    assert not WMatrix.objects.exists()
