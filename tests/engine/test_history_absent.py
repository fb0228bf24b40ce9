"""An order id found absent from the log is remembered while the book holds its day (a new
signal's id is looked for twice: the API asks whether it was sent before, the desk whether to
place it). The desk's own walk through it is in ``test_history_carried_orders``."""

from __future__ import annotations

from orderdesk.engine.book import OrderBook
from orderdesk.engine.history import DayHistory
from tests.engine.test_history_carried_orders import ReadCounting, stream_reads


def test_without_a_book_an_absence_is_read_each_time() -> None:
    """A reader of the log alone (``orderdesk days``, a restart's history) cannot know when
    an order is created, so it remembers no absence."""
    log = ReadCounting()
    history = DayHistory(log)
    assert history.order("od1") is None
    assert history.order("od1") is None
    assert stream_reads(log, "od1") == 2


def test_a_started_day_forgets_the_absences_of_the_one_before() -> None:
    log = ReadCounting()
    book = OrderBook()
    history = DayHistory(log, book)
    assert history.order("od1") is None
    assert history.order("od1") is None
    assert stream_reads(log, "od1") == 1
    book.days_started += 1  # what OrderBook.start_day counts
    assert history.order("od1") is None
    assert stream_reads(log, "od1") == 2
