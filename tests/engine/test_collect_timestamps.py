"""The attempt time in an LMS entry name (course/collect/timestamps.py): exact round trips.

nbgrader's own parser failed on 51,840 of the 86,400 seconds of a day in its documented
format and dropped the minutes and seconds of the rest; these tests pin the fix.
"""

from datetime import datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from course.collect import timestamps


@given(st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59)))
def test_round_trip_over_all_datetimes(moment):
    moment = moment.replace(microsecond=0)  # the format has whole seconds
    text = timestamps.format(moment)
    assert len(text) == 19 and text[4] == text[7] == text[10] == text[13] == text[16] == "-"
    assert timestamps.parse(text) == moment


def test_every_second_of_a_day():
    start = datetime(2024, 1, 30)
    for second in range(86_400):
        moment = start + timedelta(seconds=second)
        assert timestamps.parse(moment.strftime("%Y-%m-%d-%H-%M-%S")) == moment


@given(st.text(max_size=30))
def test_any_text_parses_exactly_or_raises_value_error(text):
    try:
        moment = timestamps.parse(text)
    except ValueError:
        return
    assert timestamps.format(moment) == text  # accepted means: this very text, no other


@pytest.mark.parametrize("text", ["2024-13-01-00-00-00", "2024-02-30-00-00-00",
                                  "2024-01-30-24-00-00", "2024-01-30-15-60-00",
                                  "2024-01-30-15-07-60", "0000-01-01-00-00-00",
                                  "2024-1-30-15-07-09", "2024-01-30 15:07:09",
                                  "2024-01-30-15-07-09Z", "２０２４-01-30-15-07-09", ""])
def test_malformed(text):
    with pytest.raises(ValueError):
        timestamps.parse(text)
