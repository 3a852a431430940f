"""The shared check of values written into line-oriented files (issue 22)."""
from __future__ import annotations

import pytest

from tfbinding.errors import InputError
from tfbinding.text import check_email, check_identifier, check_line_value


@pytest.mark.parametrize("value", ["a\nb", "a\rb", "a\tb", "a\x00b", "a\x1bb", "a\x7fb", "a\u2028b", "a\x85b"])
def test_control_characters_and_line_breaks_are_refused(value):
    with pytest.raises(InputError, match=r"^some key: .* control character") as error:
        check_line_value(value, "some key")
    assert "\n" not in str(error.value)


def test_tabs_can_be_allowed_and_plain_values_pass():
    assert check_line_value("hg19 with spaces, é", "k") == "hg19 with spaces, é"
    assert check_line_value("a\tb", "k", allow_tab=True) == "a\tb"
    with pytest.raises(InputError, match='may not hold \'"\''):
        check_line_value('a"b', "k", forbid='"')


@pytest.mark.parametrize("value", ["hg19", "mm10", "GCF_000001405.40", "hs1", "T2T-CHM13"])
def test_identifiers(value):
    assert check_identifier(value, "genome") == value


@pytest.mark.parametrize("value", ["", "hg 19", "hg19\n", "hg19\ntrackDb x", "hg/19", "-hg19"])
def test_bad_identifiers(value):
    with pytest.raises(InputError, match="may hold only"):
        check_identifier(value, "genome")


@pytest.mark.parametrize("value", ["me@example.org", "first.last+tag@lab.uni-x.de"])
def test_emails(value):
    assert check_email(value, "predict.hub.email") == value


@pytest.mark.parametrize("value", ["nobody", "a@b@c.org", "me @x.org", "me@", "@x.org", "<me@x.org>"])
def test_bad_emails(value):
    with pytest.raises(InputError, match="no email address"):
        check_email(value, "predict.hub.email")
