"""Mapping obstore failures into castsmith's storage errors."""

from __future__ import annotations

import pytest
from obstore import exceptions as obs_errors

from castsmith.domain.errors import NotFound, StorageError, StorageUnavailable
from castsmith.storage.errors import clean_reason, map_error, translated


def mapped(exc: BaseException) -> Exception:
    return map_error(exc, action="read", key="a/b.png", backend="s3", secrets=["SECRETKEY"])


def test_missing_object_is_not_found() -> None:
    error = mapped(FileNotFoundError("Object at location a/b.png not found"))
    assert isinstance(error, NotFound)
    assert "a/b.png" in str(error)


@pytest.mark.parametrize(
    "text",
    [
        "Generic S3 error: Error performing GET http://h/b/x - HTTP error: error sending request",
        "Generic S3 error: Server returned non-2xx status code: 503 Service Unavailable",
        "Generic S3 error: Server returned non-2xx status code: 500 Internal Server Error",
        "Generic S3 error: operation timed out",
    ],
)
def test_unreachable_and_5xx_are_retryable(text: str) -> None:
    error = mapped(obs_errors.GenericError(text))
    assert isinstance(error, StorageUnavailable)
    assert error.retryable
    assert "'a/b.png'" in str(error)


def test_other_failures_are_storage_errors() -> None:
    error = mapped(obs_errors.GenericError("Server returned non-2xx status code: 400 Bad"))
    assert type(error) is StorageError
    assert not error.retryable
    denied = mapped(obs_errors.PermissionDeniedError("Forbidden"))
    assert type(denied) is StorageError
    assert "access denied" in str(denied)
    assert "bucket does not exist" in str(mapped(FileNotFoundError("<Code>NoSuchBucket</Code>")))


def test_messages_never_carry_secrets_or_signed_queries() -> None:
    text = (
        "Error performing GET https://b.s3.amazonaws.com/k?X-Amz-Credential=AKIA&"
        "X-Amz-Signature=abc SECRETKEY: error sending request\nDebug source: SECRETKEY"
    )
    message = str(mapped(obs_errors.GenericError(text)))
    assert "SECRETKEY" not in message
    assert "X-Amz-Signature" not in message
    assert "AKIA" not in message
    assert "Debug source" not in message
    assert clean_reason("one\ntwo") == "one"


def test_translated_drops_the_vendor_chain() -> None:
    with pytest.raises(NotFound) as caught, translated(action="read", key="k", backend="local"):
        raise FileNotFoundError("gone")
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__
