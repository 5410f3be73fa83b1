"""Over-budget entries (issue 19): the record's top-level `over_budget` reaches the board's rows, and the board hides
such entries by default, with a toggle (and URL parameter) to show them."""
from __future__ import annotations

from leaderboard import data


def test_over_budget_entries_are_hidden_unless_asked_for(records, tmp_path):
    from suite.records.store import RecordStore

    store = RecordStore(tmp_path / "store")
    runs = [r for r in records if r["kind"] == "run" and r["status"] == "ok"]
    for record in runs:
        store.write(record)
    over = {k: v for k, v in runs[0].items() if k != "id"}
    over["over_budget"] = {"reason": "the stages fine-tuned 7 epochs in all, above the track budget of 5"}
    over["created_utc"] = "2999-01-01T00:00:00Z"  # newest, so 'latest only' would otherwise pick it
    store.write(over)
    df = data.frame(data.load([data.Source("local", store.root)]))
    reasons = [r for r in df["over_budget"].fillna("") if r]
    assert reasons == [over["over_budget"]["reason"]]
    shown, _ = data.board_rows(df, data.Filters(min_relative_accuracy=0.0))
    assert (shown["over_budget"].fillna("") == "").all() and len(shown) == len(runs)  # the budget-bound run stays the latest
    everything, _ = data.board_rows(df, data.Filters(min_relative_accuracy=0.0, show_over_budget=True,
                                                     latest_only=False))
    assert len(everything) == len(runs) + 1
    assert (everything["over_budget"].fillna("") != "").sum() == 1


def test_the_toggle_is_a_url_parameter():
    from leaderboard import app

    assert ("over_budget", "1") in app.filter_query({"show_over_budget": True})
    assert all(p[0] != "over_budget" for p in app.filter_query({"show_over_budget": False}))
