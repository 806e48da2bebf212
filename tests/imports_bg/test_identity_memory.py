"""The identity functions remember their answers (a large import asks each several times) and answer alike."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from compliance.identity import canonical_domain, canonical_email


def test_a_remembered_answer_is_the_computed_one_and_a_refusal_is_never_remembered():
    canonical_email.cache_clear()
    assert canonical_email("  Anna@BÜCHER.example. ") == canonical_email.__wrapped__("  Anna@BÜCHER.example. ") == "anna@xn--bcher-kva.example"
    assert canonical_email("  Anna@BÜCHER.example. ") == "anna@xn--bcher-kva.example"
    for _ in range(2):
        with pytest.raises(ValidationError, match="is not an email address"):
            canonical_email("not-an-email")


def test_a_domain_that_is_not_its_own_canonical_form_is_computed_again():
    canonical_domain.cache_clear()
    assert canonical_domain("www.www.x.example") == "www.x.example"
    # Had "www.x.example" been remembered as its own answer, this would say www.x.example.
    assert canonical_domain("www.x.example") == "x.example"
