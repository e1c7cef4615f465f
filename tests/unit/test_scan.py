from __future__ import annotations

import pytest

from docflow.intake.scan import BUILTIN_SIGNATURES, EICAR, Signature, parse_signatures, scan
from shared.errors import PermanentError


def test_eicar_is_found_in_a_single_chunk() -> None:
    assert scan([EICAR], BUILTIN_SIGNATURES) == "EICAR-Test-File"


def test_a_signature_split_across_chunks_is_found() -> None:
    data = b"A" * 1000 + EICAR + b"B" * 1000
    chunks = [data[i : i + 7] for i in range(0, len(data), 7)]
    assert scan(chunks, BUILTIN_SIGNATURES) == "EICAR-Test-File"


def test_clean_content_passes() -> None:
    assert scan([b"id,amount\n1,2\n"] * 3, BUILTIN_SIGNATURES) is None


def test_stage_signatures_are_parsed_from_hex() -> None:
    parsed = parse_signatures({"signatures": [{"name": "Bad-Macro", "hex": "deadbeefcafe"}]})
    assert parsed == (Signature("Bad-Macro", bytes.fromhex("deadbeefcafe")),)
    assert scan([b"xx\xde\xad\xbe\xef\xca\xfexx"], parsed) == "Bad-Macro"


@pytest.mark.parametrize(
    "document",
    [
        {"signatures": "nope"},
        {"signatures": [{"name": "x"}]},
        {"signatures": [{"name": "x", "hex": "zz"}]},
        {"signatures": [{"name": "short", "hex": "abcd"}]},
        ["not", "an", "object"],
    ],
)
def test_a_malformed_signature_list_is_an_error_not_an_empty_list(document: object) -> None:
    with pytest.raises(PermanentError):
        parse_signatures(document)
