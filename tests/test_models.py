import pytest
from pydantic import TypeAdapter, ValidationError

from service.models import MAX_ID, Email, UserCreate, normalize_email


def test_max_id_is_the_largest_postgresql_bigint() -> None:
    assert MAX_ID == 2**63 - 1


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("ada@example.com", "ada@example.com"),
        ("  Ada@Example.COM ", "ada@example.com"),
        ("\tADA@EXAMPLE.COM\n", "ada@example.com"),
    ],
)
def test_emails_are_kept_trimmed_and_lower_cased(given: str, kept: str) -> None:
    assert normalize_email(given) == kept
    assert TypeAdapter(Email).validate_python(given) == kept


def test_a_sign_up_stores_the_normalised_email() -> None:
    user = UserCreate(name="Ada", email=" ADA@example.com", password="p" * 8)
    assert user.email == "ada@example.com"


@pytest.mark.parametrize(
    "email", ["", "ada", "ada@", "@example.com", "a da@example.com", "a\x00@b.c"]
)
def test_malformed_emails_are_refused(email: str) -> None:
    with pytest.raises(ValidationError):
        TypeAdapter(Email).validate_python(email)
